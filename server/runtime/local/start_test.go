package local

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
)

func TestStartRejects(t *testing.T) {
	rt, _ := newRuntime(t, Config{Templates: []Template{
		{Name: "needs-missing", Requires: []string{"no-such-program-xyz"}},
		{Name: "needs-path", RequiresPaths: []string{"/usr/lib/no-such-package-xyz"}},
		{Name: "needs-binary", Binaries: map[string]string{"tool": "/no/such/tool-xyz"}},
	}})
	ctx := context.Background()
	spec := newSpec(t)

	bad := spec
	bad.ID = "Bad-ID"
	if _, err := rt.Start(ctx, bad); err == nil {
		t.Error("Start accepted an ID with upper case and a dash")
	}
	unknown := newSpec(t)
	unknown.Template = "no-such-template"
	if _, err := rt.Start(ctx, unknown); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: %v", err)
	}
	missing := newSpec(t)
	missing.Template = "needs-missing"
	if _, err := rt.Start(ctx, missing); !errors.Is(err, ErrTemplateUnavailable) || !strings.Contains(err.Error(), "no-such-program-xyz") {
		t.Errorf("unavailable template: %v", err)
	}
	statuses := map[string]TemplateStatus{}
	for _, s := range rt.Templates() {
		statuses[s.Name] = s
	}
	if !statuses["base"].Available || statuses["needs-missing"].Available || !strings.Contains(statuses["needs-missing"].Reason, "no-such-program-xyz") {
		t.Errorf("Templates: %+v", statuses)
	}
	for name, want := range map[string]string{"needs-path": "/usr/lib/no-such-package-xyz", "needs-binary": "/no/such/tool-xyz"} {
		if s := statuses[name]; s.Available || !strings.Contains(s.Reason, want) {
			t.Errorf("template %s: %+v, want unavailable naming %s", name, s, want)
		}
	}

	start(t, rt, spec)
	if _, err := rt.Start(ctx, spec); !errors.Is(err, ErrExists) {
		t.Errorf("second Start of one ID: %v", err)
	}
	mustRun(t, rt, spec, "", "true") // the failed duplicate did not harm the running sandbox
	if entries, _ := os.ReadDir(rt.dir); len(entries) != 1 {
		t.Errorf("%d sandbox dirs, want 1", len(entries))
	}
}

func TestStartFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	crashing := filepath.Join(dir, "crashing-envd")
	hanging := filepath.Join(dir, "hanging-envd")
	writeFile(t, crashing, "#!/bin/sh\necho envd exploded >&2\nexit 3\n")
	writeFile(t, hanging, "#!/bin/sh\nexec sleep 600\n")
	for _, p := range []string{crashing, hanging} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("envd exits", func(t *testing.T) {
		rt, _ := newRuntime(t, Config{EnvdBin: crashing})
		spec := newSpec(t)
		_, err := rt.Start(context.Background(), spec)
		if err == nil || !strings.Contains(err.Error(), "envd exploded") {
			t.Fatalf("Start: %v, want the sandbox log in the error", err)
		}
		assertNothingLeft(t, rt)
	})
	t.Run("envd never answers", func(t *testing.T) {
		rt, _ := newRuntime(t, Config{EnvdBin: hanging})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := rt.Start(ctx, newSpec(t)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Start: %v, want the deadline", err)
		}
		assertNothingLeft(t, rt)
	})
}

// assertNothingLeft checks that a runtime has no sandbox, directory, mount, process or cgroup.
func assertNothingLeft(t *testing.T, rt *Runtime) {
	t.Helper()
	if entries, _ := os.ReadDir(rt.dir); len(entries) != 0 {
		t.Errorf("%d sandbox dirs left", len(entries))
	}
	if m := mountsUnder(t, rt.cfg.StateDir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if p := procsMentioning(t, rt.cfg.StateDir); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	for _, p := range rt.cgroups.parents {
		if entries, _ := os.ReadDir(p.path); hasDirs(entries) {
			t.Errorf("cgroups left under %s", p.path)
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.boxes) != 0 {
		t.Errorf("%d sandboxes still known", len(rt.boxes))
	}
}

func TestTemplateService(t *testing.T) {
	// A template whose service is an HTTP server on the sandbox's loopback; Start returns once it
	// accepts connections, and the host reaches it only through envd.
	const port = 8123
	tmpl := Template{
		Name:     "webserver",
		Requires: []string{"python3"},
		Services: []Service{{
			Name:      "http",
			Command:   "cd /etc && exec python3 -m http.server 8123 --bind 127.0.0.1",
			ReadyPort: port,
		}},
	}
	rt, _ := newRuntime(t, Config{Templates: []Template{tmpl}})
	spec := newSpec(t)
	spec.Template = tmpl.Name
	start(t, rt, spec)

	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (conn net.Conn, err error) {
			c, err := rt.DialEnvd(ctx, spec.ID)
			if err != nil {
				return nil, err
			}
			return envd.Forward(ctx, c, port, spec.AccessToken)
		},
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://sandbox/hostname")
	if err != nil {
		t.Fatalf("GET through envd: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != spec.ID {
		t.Fatalf("GET /hostname from the sandbox's server: %d %q", resp.StatusCode, body)
	}
}
