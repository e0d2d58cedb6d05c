package local

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process/processconnect"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// testEnv holds what the package's tests share: the envd binary, built once.
type testEnv struct {
	once    sync.Once
	tmp     string
	envdBin string
	err     error
}

var shared testEnv // set up by TestMain; read-only for the tests

func TestMain(m *testing.M) {
	if step := os.Getenv(crashHelperEnv); step != "" {
		os.Exit(crashHelper(step))
	}
	code := m.Run()
	if shared.tmp != "" {
		os.RemoveAll(shared.tmp)
	}
	os.Exit(code)
}

// requireHost fails the test when the machine lacks what the local runtime needs.
func requireHost(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the local runtime mounts overlays and creates cgroups: run the tests as root")
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Fatal("bubblewrap is missing: install it with `apt-get install -y bubblewrap`")
	}
}

// envdBinary returns ENVD_BIN, or envd built from this module once per test run.
func envdBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ENVD_BIN"); p != "" {
		return p
	}
	shared.once.Do(func() {
		shared.tmp, shared.err = os.MkdirTemp("", "local-runtime-envd-")
		if shared.err != nil {
			return
		}
		bin := filepath.Join(shared.tmp, "envd")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/sandboxstack/terraform-provider-sandbox/server/cmd/envd")
		if out, err := cmd.CombinedOutput(); err != nil {
			shared.err = fmt.Errorf("go build envd: %v\n%s", err, out)
			return
		}
		shared.envdBin = bin
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.envdBin
}

// logBuffer collects a runtime's log lines for assertions (and shows them on failure).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newRuntime starts a Runtime over a fresh StateDir (or cfg.StateDir) and stops its sandboxes at the
// end of the test.
func newRuntime(t *testing.T, cfg Config) (*Runtime, *logBuffer) {
	t.Helper()
	requireHost(t)
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.EnvdBin == "" {
		cfg.EnvdBin = envdBinary(t)
	}
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		stopAll(t, rt)
		rt.Close()
		if t.Failed() {
			t.Logf("runtime log:\n%s", logs)
		}
	})
	return rt, logs
}

func stopAll(t *testing.T, rt *Runtime) {
	t.Helper()
	rt.mu.Lock()
	var ids []string
	for id := range rt.boxes {
		ids = append(ids, id)
	}
	rt.mu.Unlock()
	for _, id := range ids {
		if err := rt.Stop(context.Background(), id); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

func newID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

func newSpec(t testing.TB) sandbox.Spec {
	return sandbox.Spec{
		ID:          newID(t),
		Template:    "base",
		AccessToken: "tok-" + newID(t),
		EnvVars:     map[string]string{"E2B_SANDBOX": "true", "FOO": "bar"},
	}
}

func start(t *testing.T, rt *Runtime, spec sandbox.Spec) *state {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	if _, err := rt.Start(ctx, spec); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("sandbox %s: start→healthy %v", spec.ID, time.Since(began).Round(time.Millisecond))
	return stateOf(t, rt, spec.ID)
}

// stateOf returns a copy of the runtime's state of a sandbox.
func stateOf(t testing.TB, rt *Runtime, id string) *state {
	t.Helper()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b, ok := rt.boxes[id]
	if !ok || b.st == nil {
		t.Fatalf("sandbox %s unknown to the runtime", id)
	}
	st := *b.st
	return &st
}

// envdHTTP is an HTTP client whose every connection goes to the sandbox's envd through DialEnvd.
func envdHTTP(rt *Runtime, id string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return rt.DialEnvd(ctx, id) },
	}}
}

// get does an authenticated GET on envd and returns status and body.
func get(t *testing.T, rt *Runtime, spec sandbox.Spec, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://envd"+path, nil)
	req.Header.Set("X-Access-Token", spec.AccessToken)
	c := envdHTTP(rt, spec.ID)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// result is a finished command.
type result struct {
	stdout, stderr string
	exit           int
}

// run runs script with `/bin/bash -l -c` in the sandbox through envd's process service, as the SDK
// does, as user ("" = the default user).
func run(t *testing.T, rt *Runtime, spec sandbox.Spec, user, script string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := envdHTTP(rt, spec.ID)
	defer hc.CloseIdleConnections()
	client := processconnect.NewProcessClient(hc, "http://envd")
	req := connect.NewRequest(&process.StartRequest{Process: &process.ProcessConfig{
		Cmd: "/bin/bash", Args: []string{"-l", "-c", script},
	}})
	req.Header().Set("X-Access-Token", spec.AccessToken)
	if user != "" {
		req.Header().Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":")))
	}
	stream, err := client.Start(ctx, req)
	if err != nil {
		t.Fatalf("run %q: %v", script, err)
	}
	defer stream.Close()
	var out result
	var stdout, stderr strings.Builder
	ended := false
	for stream.Receive() {
		ev := stream.Msg().GetEvent()
		if d := ev.GetData(); d != nil {
			stdout.Write(d.GetStdout())
			stderr.Write(d.GetStderr())
		}
		if e := ev.GetEnd(); e != nil {
			out.exit = int(e.GetExitCode())
			ended = true
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("run %q: %v", script, err)
	}
	if !ended {
		t.Fatalf("run %q: stream ended without an end event", script)
	}
	out.stdout, out.stderr = stdout.String(), stderr.String()
	return out
}

// mustRun runs script and fails the test unless it exits 0.
func mustRun(t *testing.T, rt *Runtime, spec sandbox.Spec, user, script string) string {
	t.Helper()
	r := run(t, rt, spec, user, script)
	if r.exit != 0 {
		t.Fatalf("run %q as %q: exit %d\nstdout: %s\nstderr: %s", script, user, r.exit, r.stdout, r.stderr)
	}
	return r.stdout
}

// assertGone checks that a sandbox left nothing: no process in its pid namespace or on its root, no
// mount, no cgroup, no files.
func assertGone(t *testing.T, st *state, dir string) {
	t.Helper()
	assertGoneSince(t, st, dir, bootTicks(t))
}

// assertGoneSince is assertGone for a sandbox stopped at boot tick stoppedAt: a pid namespace's
// inode number is reused once the namespace is gone, so processes that started after the stop
// belong to someone else's sandbox, not this one.
func assertGoneSince(t *testing.T, st *state, dir string, stoppedAt uint64) {
	t.Helper()
	for _, p := range []proc{st.Init, st.Bwrap, st.Slirp} {
		if p.alive() {
			t.Errorf("process %d of sandbox %s still alive", p.Pid, st.Spec.ID)
		}
	}
	if pids := procsInPidNS(t, st.PidNS, stoppedAt); len(pids) > 0 {
		t.Errorf("processes %v still in the pid namespace of sandbox %s", pids, st.Spec.ID)
	}
	if found, _ := procsWithArg(st.Mount); len(found) > 0 {
		t.Errorf("processes %v still run on the root of sandbox %s", found, st.Spec.ID)
	}
	portal := filepath.Dir(st.Mount)
	for _, d := range []string{dir, portal} {
		if m := mountsUnder(t, d); len(m) > 0 {
			t.Errorf("mounts left for sandbox %s: %v", st.Spec.ID, m)
		}
	}
	if _, err := os.Stat(portal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("portal %s of sandbox %s still exists (%v)", portal, st.Spec.ID, err)
	}
	for _, c := range st.Cgroups {
		if _, err := os.Stat(c.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s of sandbox %s still exists (%v)", c.Path, st.Spec.ID, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory %s of sandbox %s still exists (%v)", dir, st.Spec.ID, err)
	}
}

// bootTicks is now in clock ticks since boot, the unit of a process's start time in /proc/<pid>/stat
// (USER_HZ, 100 on Linux).
func bootTicks(t testing.TB) uint64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(secs*100) + 1
}

// procsInPidNS lists host pids whose pid namespace is ns and that started by boot tick notAfter
// (zombies awaiting a reaper excluded).
func procsInPidNS(t testing.TB, ns, notAfter uint64) []int {
	t.Helper()
	if ns == 0 {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if got, err := pidNamespace(pid); err == nil && got == ns {
			if state, start, err := procStat(pid); err == nil && state != 'Z' && start <= notAfter {
				out = append(out, pid)
			}
		}
	}
	return out
}

// mountsUnder lists mount points at or under dir in this mount namespace.
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			mp := mountinfo.Unescape(fields[4])
			if mp == dir || strings.HasPrefix(mp, dir+"/") {
				out = append(out, mp)
			}
		}
	}
	return out
}

// waitDead waits until p has exited.
func waitDead(t testing.TB, p proc) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.alive() {
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not die", p.Pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killSandboxFromOutside kills a sandbox the way an OOM kill or an admin would: its pid 1, by signal.
func killSandboxFromOutside(t testing.TB, st *state) {
	t.Helper()
	if err := syscall.Kill(st.Init.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDead(t, st.Init)
}

// crashHelperEnv makes the test binary a manager that SIGKILLs itself at a step of Start (see
// crashHelper).
const crashHelperEnv = "LOCAL_RUNTIME_CRASH_AT"
