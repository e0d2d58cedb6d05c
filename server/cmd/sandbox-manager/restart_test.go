package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
)

// TestRestartRecoversSandboxes kills the manager with SIGKILL and starts it again over the same
// state dir: sandboxes that still run are recovered (listed with the same metadata and times,
// reachable with their original tokens, their timeouts still enforced); one whose processes were
// killed while the manager was down is cleaned up and leaves nothing behind.
func TestRestartRecoversSandboxes(t *testing.T) {
	m := managerharness.Start(t, managerharness.Options{})
	c := m.Client()
	create := func(name string, timeout int) *managerharness.Sandbox {
		t.Helper()
		sb, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: timeout,
			Metadata: map[string]string{"name": name, "with space": "a b/c"}})
		if err != nil {
			t.Fatal(err)
		}
		return sb
	}
	long1, long2 := create("long1", 600), create("long2", 600)
	short := create("short", 5)
	victim := create("victim", 600)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// State inside a sandbox survives: a file written before the crash is read after it.
	if r, err := c.Run(ctx, long1.SandboxID, long1.EnvdAccessToken, "echo before-crash > /tmp/marker"); err != nil || r.ExitCode != 0 {
		t.Fatalf("write marker: %+v %v", r, err)
	}
	before := listedByID(t, c)
	if len(before) != 4 {
		t.Fatalf("listed before the crash: %v", before)
	}

	m.Kill9()
	// While the manager is down: the victim's processes (bwrap and the sandbox's pid 1, both named by
	// its root on their command lines) are killed from outside, as an OOM kill or an admin would.
	procs := managerharness.ProcsOfSandbox(m.StateDir, victim.SandboxID)
	if len(procs) == 0 {
		t.Fatalf("no process of sandbox %s found", victim.SandboxID)
	}
	for _, p := range procs {
		if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill %v: %v", p, err)
		}
	}
	waitFor(t, "the victim's processes to die", func() bool {
		return len(managerharness.ProcsOfSandbox(m.StateDir, victim.SandboxID)) == 0
	})
	for _, sb := range []*managerharness.Sandbox{long1, long2, short} {
		if len(managerharness.ProcsOfSandbox(m.StateDir, sb.SandboxID)) == 0 {
			t.Errorf("sandbox %s stopped running with the manager", sb.SandboxID)
		}
	}

	m.Restart()
	c = m.Client()

	after := listedByID(t, c)
	for _, sb := range []*managerharness.Sandbox{long1, long2} {
		got, ok := after[sb.SandboxID]
		want := before[sb.SandboxID]
		switch {
		case !ok:
			t.Errorf("sandbox %s not listed after the restart", sb.SandboxID)
		case got.Metadata["name"] != want.Metadata["name"] || got.Metadata["with space"] != "a b/c" || len(got.Metadata) != 2 ||
			got.StartedAt != want.StartedAt || got.EndAt != want.EndAt || got.TemplateID != want.TemplateID || got.Alias != want.Alias:
			t.Errorf("sandbox %s after the restart:\n got %+v\nwant %+v", sb.SandboxID, got, want)
		}
	}
	if _, ok := after[victim.SandboxID]; ok {
		t.Errorf("sandbox %s, whose processes were killed, is listed after the restart", victim.SandboxID)
	}
	if left := managerharness.LeftoversOf(m.StateDir, victim.SandboxID); len(left) > 0 {
		t.Errorf("sandbox %s, whose processes were killed, left %v", victim.SandboxID, left)
	}
	if err := c.EnvdHealth(ctx, victim.SandboxID, victim.EnvdAccessToken); err == nil {
		t.Errorf("the victim's envd answers through the gateway after the restart")
	}

	// The recovered sandboxes are reachable with their original tokens.
	if r, err := c.Run(ctx, long1.SandboxID, long1.EnvdAccessToken, "cat /tmp/marker"); err != nil || strings.TrimSpace(r.Stdout) != "before-crash" {
		t.Errorf("read marker after the restart: %+v %v", r, err)
	}
	if r, err := c.Run(ctx, long2.SandboxID, long2.EnvdAccessToken, "echo $E2B_SANDBOX_ID"); err != nil || strings.TrimSpace(r.Stdout) != long2.SandboxID {
		t.Errorf("run in %s after the restart: %+v %v", long2.SandboxID, r, err)
	}
	for _, sb := range []*managerharness.Sandbox{long1, long2} {
		if _, err := c.ProcessList(ctx, sb.SandboxID, sb.EnvdAccessToken); err != nil {
			t.Errorf("after the restart: %v", err)
		}
		if err := c.EnvdHealth(ctx, sb.SandboxID, sb.EnvdAccessToken); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	}

	if _, ok := after[short.SandboxID]; ok {
		t.Logf("the 5 s sandbox was recovered; waiting for the reaper to expire it")
	} else {
		t.Logf("the 5 s sandbox expired before the restart finished; recovery stopped it")
	}
	// The short sandbox's timeout is still enforced: it expires on its own, and its end leaves nothing.
	waitFor(t, "the 5 s sandbox to expire after the restart", func() bool {
		_, listed := listedByID(t, c)[short.SandboxID]
		return !listed
	})
	waitFor(t, "the expired sandbox to be torn down", func() bool {
		return len(managerharness.LeftoversOf(m.StateDir, short.SandboxID)) == 0
	})
	if err := c.EnvdHealth(ctx, short.SandboxID, short.EnvdAccessToken); err == nil {
		t.Errorf("the expired sandbox's envd answers through the gateway")
	}

	for _, sb := range []*managerharness.Sandbox{long1, long2} {
		if err := c.Kill(sb.SandboxID); err != nil {
			t.Errorf("kill after the restart: %v", err)
		}
	}
	if err := m.Stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	if left := managerharness.Leftovers(m.StateDir); !left.Empty() {
		t.Errorf("left behind:\n%s", left)
	}
}

func listedByID(t *testing.T, c *managerharness.Client) map[string]managerharness.Listed {
	t.Helper()
	l, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]managerharness.Listed, len(l))
	for _, s := range l {
		out[s.SandboxID] = s
	}
	return out
}

// waitFor polls cond; the bound only turns a hang into a failure, it measures nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
