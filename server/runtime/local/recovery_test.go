package local

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func TestRecoveryAdoptsAndCleansUp(t *testing.T) {
	stateDir := t.TempDir()
	rt1, _ := newRuntime(t, Config{StateDir: stateDir})
	a, b, c := newSpec(t), newSpec(t), newSpec(t)
	start(t, rt1, a)
	stB := start(t, rt1, b)
	stC := start(t, rt1, c)
	mustRun(t, rt1, a, "", "echo kept > ~/note")

	// A second runtime cannot take the state dir while the first holds it.
	if _, err := New(Config{StateDir: stateDir, EnvdBin: envdBinary(t)}); err == nil {
		t.Fatal("two runtimes over one state dir")
	}

	// The manager goes away without stopping anything.
	forget(t, rt1)
	rt2, _ := newRuntime(t, Config{StateDir: stateDir})
	list, err := rt2.List(context.Background())
	if err != nil || len(list) != 3 {
		t.Fatalf("List after restart: %v %v, want 3 sandboxes", list, err)
	}
	if got := mustRun(t, rt2, a, "", "cat ~/note"); got != "kept\n" {
		t.Fatalf("adopted sandbox lost its files: %q", got)
	}
	if code, body := get(t, rt2, b, "/envs"); code != http.StatusOK || body == "" {
		t.Fatalf("adopted sandbox b: GET /envs %d %q", code, body)
	}
	if inst := findInstance(list, a.ID); inst == nil || inst.Spec.AccessToken != a.AccessToken || inst.Spec.EnvVars["FOO"] != "bar" {
		t.Fatalf("adopted sandbox's spec not kept: %+v", inst)
	}

	// b dies behind the runtime's back (an OOM kill, an admin): List cleans it up.
	// Ticks before the kill: once b's pid namespace is gone its inode may be reused at once by a
	// sandbox of a test running in parallel, whose processes start after this.
	killedB := bootTicks(t)
	killSandboxFromOutside(t, stB)
	list, _ = rt2.List(context.Background())
	if len(list) != 2 || findInstance(list, b.ID) != nil {
		t.Fatalf("List after b died: %v", list)
	}
	assertGoneSince(t, stB, filepath.Join(stateDir, "sandboxes", b.ID), killedB)
	if _, err := rt2.DialEnvd(context.Background(), b.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DialEnvd of a dead sandbox: %v", err)
	}

	// c dies while no manager runs: the next runtime cleans it up when it starts.
	forget(t, rt2)
	killedC := bootTicks(t)
	killSandboxFromOutside(t, stC)
	rt3, _ := newRuntime(t, Config{StateDir: stateDir})
	assertGoneSince(t, stC, filepath.Join(stateDir, "sandboxes", c.ID), killedC)
	list, _ = rt3.List(context.Background())
	if len(list) != 1 || list[0].Spec.ID != a.ID {
		t.Fatalf("List of the third runtime: %v, want [%s]", list, a.ID)
	}
	mustRun(t, rt3, a, "", "true")
}

// forget drops a runtime the way a manager that exits does: its sandboxes keep running.
func forget(t *testing.T, rt *Runtime) {
	t.Helper()
	rt.mu.Lock()
	rt.boxes = map[string]*box{} // so that the test's cleanup does not stop them through this runtime
	rt.mu.Unlock()
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
}

func findInstance(list []sandbox.Instance, id string) *sandbox.Instance {
	for i := range list {
		if list[i].Spec.ID == id {
			return &list[i]
		}
	}
	return nil
}
