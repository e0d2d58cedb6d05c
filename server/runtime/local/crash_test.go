package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// crashSteps are the points of Start at which a manager may die; after each, a new Runtime must find
// and remove everything the dead one left.
var crashSteps = []string{"state", "cgroups", "mounted", "spawned", "recorded", "released", "healthy"}

// crashHelper is the test binary acting as a manager that dies (SIGKILL) at a step of Start.
func crashHelper(step string) int {
	rt, err := New(Config{StateDir: os.Getenv("LOCAL_RUNTIME_STATE_DIR"), EnvdBin: os.Getenv("ENVD_BIN")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rt.afterStep = func(s string) {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	_, err = rt.Start(context.Background(), sandbox.Spec{ID: os.Getenv("LOCAL_RUNTIME_ID"), AccessToken: "t"})
	if err == nil && step == "started" {
		// A manager that dies with a sandbox running: no Stop, no Close.
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	fmt.Fprintln(os.Stderr, "start returned without crashing:", err)
	return 3
}

// runCrashHelper runs the test binary as a manager that starts sandbox id over stateDir and dies by
// SIGKILL at step.
func runCrashHelper(t *testing.T, step, stateDir, id string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+step, "LOCAL_RUNTIME_STATE_DIR="+stateDir,
		"LOCAL_RUNTIME_ID="+id, "ENVD_BIN="+envdBinary(t))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die by SIGKILL at %q: %v\n%s", step, err, out)
	}
	return out
}

func TestAdoptAfterManagerDied(t *testing.T) {
	requireHost(t)
	stateDir, id := t.TempDir(), newID(t)
	runCrashHelper(t, "started", stateDir, id)
	rt, _ := newRuntime(t, Config{StateDir: stateDir})
	list, _ := rt.List(context.Background())
	if len(list) != 1 || list[0].Spec.ID != id {
		t.Fatalf("List after the manager died: %v, want [%s]", list, id)
	}
	spec := list[0].Spec
	if got := mustRun(t, rt, spec, "", "id -un"); got != "user\n" {
		t.Fatalf("adopted sandbox runs commands as %q", got)
	}
	st := stateOf(t, rt, id)
	if err := rt.Stop(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	assertGone(t, st, rt.layoutOf(st.Spec.ID).dir)
}

func TestRecoveryAfterCrashMidStart(t *testing.T) {
	requireHost(t)
	envdBin := envdBinary(t)
	for _, step := range crashSteps {
		t.Run(step, func(t *testing.T) {
			stateDir, id := t.TempDir(), newID(t)
			out := runCrashHelper(t, step, stateDir, id)
			dir := filepath.Join(stateDir, "sandboxes", id)
			l := layoutFor(stateDir, id)
			merged := l.merged()
			// What the dead manager left behind, by step: this is what recovery must find. Checked, so
			// that the test cannot pass by crashing before anything happened.
			after := func(s string) bool { return slices.Index(crashSteps, step) >= slices.Index(crashSteps, s) }
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("crash at %q left no sandbox dir: %v", step, err)
			}
			planned := detectCgroups("/proc/self/mountinfo", "/proc/self/cgroup", GroupName(stateDir)).plan(id)
			if after("cgroups") && len(planned) > 0 {
				if _, err := os.Stat(planned[0].Path); err != nil {
					t.Fatalf("crash at %q left no cgroup; the test proves nothing: %v", step, err)
				}
			}
			if after("mounted") && len(mountsUnder(t, l.portal)) == 0 {
				t.Fatalf("crash at %q left no mount; the test proves nothing", step)
			}
			if after("spawned") {
				if found, _ := procsWithArg(merged); len(found) == 0 {
					t.Fatalf("no sandbox process survived the crash at %q; the test proves nothing", step)
				}
			}
			st, _ := readState(l.state())

			rt, logs := newRuntime(t, Config{StateDir: stateDir, EnvdBin: envdBin})
			if list, _ := rt.List(context.Background()); len(list) != 0 {
				t.Fatalf("List after recovery: %v, want nothing", list)
			}
			if st == nil {
				st = &state{Spec: sandbox.Spec{ID: id}, Mount: merged}
			}
			// Whatever the state file says, the cgroups the dead manager planned must be gone.
			st.Cgroups = planned
			if !strings.Contains(logs.String(), "cleaning up sandbox") {
				t.Errorf("recovery did not log the cleanup of %s", id)
			}
			assertGone(t, st, dir)
			if t.Failed() {
				t.Logf("helper output:\n%s\nruntime log:\n%s", out, logs)
			}
		})
	}
}
