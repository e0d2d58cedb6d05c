package sandbox_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

var (
	idShape    = regexp.MustCompile(`^i[a-z0-9]{20}$`)
	tokenShape = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func TestCreateGetKill(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	sb := e.create(sandbox.CreateRequest{
		Template: "base",
		Metadata: map[string]string{"user": "x", "sandboxstack.pool": "forged"},
		EnvVars:  map[string]string{"FOO": "bar"},
		OwnerKey: "key1",
	})
	if !idShape.MatchString(sb.ID) {
		t.Errorf("id %q does not look like i + 20 [a-z0-9]", sb.ID)
	}
	if !tokenShape.MatchString(sb.AccessToken) {
		t.Errorf("access token %q is not 64 hex characters", sb.AccessToken)
	}
	if sb.Template != "base" || sb.Alias != "base" || sb.State != sandbox.StateRunning || sb.EnvdVersion != "0.5.7" || sb.OwnerKey != "key1" {
		t.Errorf("sandbox %+v", sb)
	}
	if len(sb.Metadata) != 1 || sb.Metadata["user"] != "x" {
		t.Errorf("metadata %v, want only user=x (reserved keys stripped)", sb.Metadata)
	}
	if d := sb.EndAt.Sub(sb.StartedAt); d < 290*time.Second || d > 310*time.Second {
		t.Errorf("endAt - startedAt = %s, want about the default 300s", d)
	}

	var envs map[string]string
	if code := e.envdGet(sb.ID, sb.AccessToken, "/envs", &envs); code != 200 {
		t.Fatalf("GET /envs: %d", code)
	}
	for k, v := range map[string]string{"FOO": "bar", "E2B_SANDBOX": "true", "E2B_SANDBOX_ID": sb.ID, "E2B_TEMPLATE_ID": "base"} {
		if envs[k] != v {
			t.Errorf("envd /envs[%s] = %q, want %q (all: %v)", k, envs[k], v, envs)
		}
	}
	if code := e.envdGet(sb.ID, "wrong", "/envs", nil); code != 401 {
		t.Errorf("GET /envs with a wrong token: %d, want 401", code)
	}

	got, err := e.mgr.Get(ctx, sb.ID)
	if err != nil || got.ID != sb.ID || got.AccessToken != sb.AccessToken {
		t.Fatalf("Get: %+v %v", got, err)
	}
	ms, err := e.mgr.Metrics(ctx, sb.ID)
	if err != nil || len(ms) != 1 || ms[0].MemTotal == 0 || ms[0].CPUCount == 0 {
		t.Errorf("Metrics: %+v %v", ms, err)
	}
	if c := e.mgr.Counts(); c.Running["base"] != 1 {
		t.Errorf("Counts: %+v", c)
	}

	if err := e.mgr.Kill(ctx, sb.ID); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if _, err := e.mgr.Get(ctx, sb.ID); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("Get after Kill: %v, want ErrNotFound", err)
	}
	if err := e.mgr.Kill(ctx, sb.ID); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("second Kill: %v, want ErrNotFound", err)
	}
	if e.runtimeIDs()[sb.ID] {
		t.Errorf("the runtime still runs %s after Kill", sb.ID)
	}
	for name, err := range map[string]error{
		"Get":        func() error { _, err := e.mgr.Get(ctx, "nosuch"); return err }(),
		"SetTimeout": e.mgr.SetTimeout(ctx, "nosuch", time.Minute),
		"Connect":    func() error { _, err := e.mgr.Connect(ctx, "nosuch", time.Minute); return err }(),
		"Metrics":    func() error { _, err := e.mgr.Metrics(ctx, "nosuch"); return err }(),
	} {
		if !errors.Is(err, sandbox.ErrNotFound) {
			t.Errorf("%s of an unknown sandbox: %v, want ErrNotFound", name, err)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.mgr.Create(ctx, sandbox.CreateRequest{Template: "nosuch"})
	if !errors.Is(err, sandbox.ErrUnknownTemplate) {
		t.Fatalf("Create of an unknown template: %v, want ErrUnknownTemplate", err)
	}
	for _, name := range []string{"base", "other", "broken"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name the available template %q", err, name)
		}
	}
	_, err = e.mgr.Create(ctx, sandbox.CreateRequest{Template: "broken"})
	if !errors.Is(err, sandbox.ErrTemplateUnavailable) || !strings.Contains(err.Error(), "no-such-program-sandboxstack") {
		t.Errorf("Create of an unavailable template: %v, want ErrTemplateUnavailable naming the missing program", err)
	}
	if _, err := e.mgr.Create(ctx, sandbox.CreateRequest{Template: "base", Timeout: -time.Second}); !errors.Is(err, sandbox.ErrInvalid) {
		t.Errorf("Create with a negative timeout: %v, want ErrInvalid", err)
	}
	// By alias: the canonical name is reported, and the alias as asked.
	sb := e.create(sandbox.CreateRequest{Template: "other-alias"})
	if sb.Template != "other" || sb.Alias != "other-alias" {
		t.Errorf("created by alias: template %q alias %q", sb.Template, sb.Alias)
	}
}

func TestTimeouts(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	short := e.create(sandbox.CreateRequest{Template: "base", Timeout: 2 * time.Second})
	long := e.create(sandbox.CreateRequest{Template: "base", Timeout: time.Minute})

	// Connect only extends.
	before, _ := e.mgr.Get(ctx, long.ID)
	got, err := e.mgr.Connect(ctx, long.ID, time.Second)
	if err != nil || !got.EndAt.Equal(before.EndAt) {
		t.Errorf("Connect with a shorter timeout: %v %v, want endAt kept at %v", got.EndAt, err, before.EndAt)
	}
	now := time.Now()
	got, err = e.mgr.Connect(ctx, long.ID, 10*time.Minute)
	if err != nil || got.EndAt.Before(now.Add(9*time.Minute)) || got.AccessToken != long.AccessToken {
		t.Errorf("Connect(10m): endAt %v %v, want about now+10m", got.EndAt, err)
	}
	// SetTimeout may shorten.
	if err := e.mgr.SetTimeout(ctx, long.ID, time.Second); err != nil {
		t.Fatalf("SetTimeout: %v", err)
	}
	if got, _ := e.mgr.Get(ctx, long.ID); got.EndAt.After(time.Now().Add(5 * time.Second)) {
		t.Errorf("SetTimeout(1s) left endAt at %v", got.EndAt)
	}

	for _, id := range []string{short.ID, long.ID} {
		eventually(t, "the reaper to kill "+id, func() bool {
			_, err := e.mgr.Get(ctx, id)
			return errors.Is(err, sandbox.ErrNotFound) && !e.runtimeIDs()[id]
		})
	}
	if list, _, _ := e.mgr.List(ctx, sandbox.ListFilter{}); len(list) != 0 {
		t.Errorf("List after expiry: %v", list)
	}
}

// TestCreateNetwork: the policy reaches the runtime and is reported as in force; what the runtime
// cannot enforce is refused.
func TestCreateNetwork(t *testing.T) {
	e := newEnv(t, nil)
	sb := e.create(sandbox.CreateRequest{Template: "base", Network: sandbox.Network{Disabled: true}})
	if !sb.Network.Disabled {
		t.Errorf("network %+v, want internet access off", sb.Network)
	}
	got, err := e.mgr.Get(context.Background(), sb.ID)
	if err != nil || !got.Network.Disabled {
		t.Errorf("Get: %+v %v", got, err)
	}
	open := e.create(sandbox.CreateRequest{Template: "base"})
	if open.Network.Disabled != !e.rt.Networking() {
		t.Errorf("default network %+v, with outbound networking on this machine: %v", open.Network, e.rt.Networking())
	}
	_, err = e.mgr.Create(context.Background(), sandbox.CreateRequest{Template: "base", Network: sandbox.Network{DenyOut: []string{"example.com"}}})
	if !errors.Is(err, sandbox.ErrInvalid) {
		t.Errorf("a host name in denyOut: %v, want ErrInvalid", err)
	}
}
