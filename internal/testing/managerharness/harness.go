// Package managerharness runs the real sandbox-manager binary (with the local runtime and the real
// envd) as a child process for end-to-end tests: start it on a free loopback port over a state dir,
// SIGKILL it, stop it gracefully, restart it on the same state dir, talk to it through a small typed
// client, and find whatever it left on the host (processes, mounts, cgroups, state entries).
//
// The binaries are built once per test binary into a temporary directory; MANAGER_BIN and ENVD_BIN
// point at prebuilt ones instead. Call RemoveBinaries from TestMain to delete the built copies.
package managerharness

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const modulePath = "github.com/sandboxstack/terraform-provider-sandbox"

var build struct {
	once             sync.Once
	dir              string
	manager, envdBin string
	err              error
}

// Binaries returns the sandbox-manager and envd binaries: MANAGER_BIN and ENVD_BIN when set,
// otherwise both built from this module once per test binary.
func Binaries(t testing.TB) (manager, envd string) {
	t.Helper()
	build.once.Do(func() {
		build.manager, build.envdBin = os.Getenv("MANAGER_BIN"), os.Getenv("ENVD_BIN")
		if build.manager != "" && build.envdBin != "" {
			return
		}
		build.dir, build.err = os.MkdirTemp("", "managerharness-bin-")
		if build.err != nil {
			return
		}
		for _, b := range []struct {
			out *string
			pkg string
		}{{&build.manager, "server/cmd/sandbox-manager"}, {&build.envdBin, "server/cmd/envd"}} {
			if *b.out != "" {
				continue
			}
			bin := filepath.Join(build.dir, filepath.Base(b.pkg))
			cmd := exec.Command("go", "build", "-o", bin, modulePath+"/"+b.pkg)
			if out, err := cmd.CombinedOutput(); err != nil {
				build.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
			*b.out = bin
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.manager, build.envdBin
}

// RemoveBinaries deletes the binaries Binaries built (call it from TestMain after m.Run).
func RemoveBinaries() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

// RequireHost fails the test when the machine cannot run the local runtime, naming what is missing.
func RequireHost(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the local runtime mounts overlays and creates cgroups: run the tests as root")
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Fatal("bubblewrap is missing: install it with `apt-get install -y bubblewrap`")
	}
}

// Options configure a Manager.
type Options struct {
	// StateDir is the manager's --state-dir; "" means a fresh temporary directory, scrubbed of
	// anything the manager left before it is removed.
	StateDir string
	// APIKey is seeded through SANDBOX_API_KEYS; "" generates one.
	APIKey string
	// AdminKey enables /admin/ when set.
	AdminKey string
	// Env is added to the manager's environment.
	Env []string
	// LogLevel is --log-level; "" means debug.
	LogLevel string
	// EnvdBin overrides the envd binary (--envd-bin). The manager finds the templates' own binaries
	// (code-interpreter) beside it, so an envd alone in a directory makes those templates unavailable.
	EnvdBin string
}

// Manager is one sandbox-manager process (and its successors after Restart) over one state dir.
type Manager struct {
	t        testing.TB
	bin      string
	envdBin  string
	opts     Options
	StateDir string
	APIKey   string
	logDir   string

	mu     sync.Mutex
	addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	runs   int
	logs   []string // one log file per run
	client *Client
}

// NewAPIKey returns a fresh key of the shape E2B SDKs accept.
func NewAPIKey() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "e2b_" + hex.EncodeToString(b)
}

// Start starts a manager and waits until it answers /health. At the end of the test it kills the
// sandboxes it lists, stops it, scrubs the state dir of anything left (so that a failing test does
// not leave sandboxes on the host) and, if the test failed, prints the manager's logs.
func Start(t testing.TB, opts Options) *Manager {
	t.Helper()
	RequireHost(t)
	bin, envdBin := Binaries(t)
	if opts.EnvdBin != "" {
		envdBin = opts.EnvdBin
	}
	if opts.APIKey == "" {
		opts.APIKey = NewAPIKey()
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "debug"
	}
	if opts.StateDir == "" {
		// t.TempDir's removal runs after the scrub below (cleanups run last-registered first), so
		// it never walks into a mounted sandbox root.
		opts.StateDir = t.TempDir()
	}
	abs, err := filepath.Abs(opts.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manager{t: t, bin: bin, envdBin: envdBin, opts: opts, StateDir: abs, APIKey: opts.APIKey, logDir: t.TempDir()}
	t.Cleanup(m.cleanup)
	m.start("")
	return m
}

// URL is the manager's base URL (control plane and sandbox gateway).
func (m *Manager) URL() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return "http://" + m.addr
}

// Client is a client of the current manager process.
func (m *Manager) Client() *Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.client
}

// Pid is the manager's process id (0 when it is not running).
func (m *Manager) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// start runs a new manager process on addr ("" picks a free port) and waits for /health.
func (m *Manager) start(addr string) {
	m.t.Helper()
	if addr == "" {
		addr = freeAddr(m.t)
	}
	m.mu.Lock()
	if m.cmd != nil {
		m.mu.Unlock()
		m.t.Fatal("managerharness: start while a manager runs")
	}
	m.runs++
	logPath := filepath.Join(m.logDir, fmt.Sprintf("manager-%d.log", m.runs))
	m.logs = append(m.logs, logPath)
	m.mu.Unlock()
	logFile, err := os.Create(logPath)
	if err != nil {
		m.t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(m.bin, "serve", "--listen", addr, "--state-dir", m.StateDir,
		"--envd-bin", m.envdBin, "--log-level", m.opts.LogLevel)
	cmd.Env = append(os.Environ(), "SANDBOX_API_KEYS="+m.APIKey)
	if m.opts.AdminKey != "" {
		cmd.Env = append(cmd.Env, "SANDBOX_ADMIN_KEY="+m.opts.AdminKey)
	}
	cmd.Env = append(cmd.Env, m.opts.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start %s: %v", m.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	client := NewClient("http://"+addr, m.APIKey)
	m.mu.Lock()
	m.cmd, m.exited, m.addr, m.client = cmd, exited, addr, client
	m.mu.Unlock()

	deadline := time.Now().Add(2 * time.Minute) // recovery of many sandboxes takes a while
	for {
		select {
		case <-exited:
			m.mu.Lock()
			m.cmd = nil
			m.mu.Unlock()
			m.t.Fatalf("sandbox-manager exited during startup (%v); log:\n%s", cmd.ProcessState, readTail(logPath, 16<<10))
		default:
		}
		if client.Healthy() {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("sandbox-manager did not answer /health at %s; log:\n%s", addr, readTail(logPath, 16<<10))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill9 kills the manager with SIGKILL (sandboxes keep running) and waits until it is gone.
func (m *Manager) Kill9() {
	m.t.Helper()
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Stop stops the manager with SIGTERM and waits for it to exit; the error is its exit status.
func (m *Manager) Stop() error {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		return errors.New("sandbox-manager did not exit within 2m of SIGTERM")
	}
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("sandbox-manager exited: %v", cmd.ProcessState)
	}
	return nil
}

// Restart starts the manager again over the same state dir (on the same address when it is free),
// after Kill9 or Stop; a manager that still runs is stopped with SIGTERM first.
func (m *Manager) Restart() {
	m.t.Helper()
	if err := m.Stop(); err != nil {
		m.t.Errorf("stop before restart: %v", err)
	}
	m.mu.Lock()
	addr := m.addr
	m.mu.Unlock()
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
	} else {
		addr = ""
	}
	m.start(addr)
}

// Running reports whether the manager process runs.
func (m *Manager) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

// Logs returns the manager's logs so far, all runs, each at most max bytes (its end).
func (m *Manager) Logs(max int) string {
	m.mu.Lock()
	logs := append([]string(nil), m.logs...)
	m.mu.Unlock()
	var b strings.Builder
	for i, p := range logs {
		fmt.Fprintf(&b, "--- sandbox-manager run %d (%s) ---\n%s\n", i+1, p, readTail(p, max))
	}
	return b.String()
}

func (m *Manager) cleanup() {
	t := m.t
	if m.Running() {
		if ids, err := m.Client().ListIDs(); err == nil {
			for _, id := range ids {
				_ = m.Client().Kill(id)
			}
		}
		if err := m.Stop(); err != nil {
			t.Logf("managerharness: %v", err)
		}
	}
	if left := Leftovers(m.StateDir); !left.Empty() {
		// The test decides whether leftovers are a failure; here they are only removed.
		t.Logf("managerharness: scrubbing leftovers of %s: %s", m.StateDir, left)
		Scrub(m.StateDir)
	}
	if t.Failed() {
		t.Logf("manager logs:\n%s", m.Logs(64<<10))
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readTail returns the last max bytes of a file.
func readTail(path string, max int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(raw) > max {
		raw = append([]byte("…"), raw[len(raw)-max:]...)
	}
	return string(raw)
}
