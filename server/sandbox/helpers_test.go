package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// envdBin is the envd binary the tests' sandboxes run: ENVD_BIN, or built by TestMain.
var envdBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	envdBin = os.Getenv("ENVD_BIN")
	if envdBin == "" {
		tmp, err := os.MkdirTemp("", "sandbox-manager-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		envdBin = filepath.Join(tmp, "envd")
		cmd := exec.Command("go", "build", "-o", envdBin, "./server/cmd/envd")
		cmd.Dir = filepath.Join("..", "..") // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build envd: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// Templates of the tests' runtime: base, "other" (also known as other-alias) and "broken", whose
// program is missing.
var testTemplates = []local.Template{
	{Name: "other"},
	{Name: "broken", Requires: []string{"no-such-program-sandboxstack"}},
}

var testAliases = map[string][]string{"other": {"other-alias"}}

// env is one manager over one local runtime, with its directories kept so that a test can restart
// both over the same state.
type env struct {
	t       *testing.T
	rtDir   string
	mgrDir  string
	rt      *local.Runtime
	mgr     *sandbox.Manager
	obs     *observer
	logs    *syncBuffer
	stopped bool
}

type observer struct {
	mu    sync.Mutex
	pool  int
	cold  int
	calls []bool
}

func (o *observer) ObserveCreate(_ string, fromPool bool, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, fromPool)
	if fromPool {
		o.pool++
	} else {
		o.cold++
	}
}

func (o *observer) counts() (pool, cold int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pool, o.cold
}

type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func requireHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the local runtime mounts overlays and creates cgroups: run the tests as root")
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Fatal("bubblewrap is missing: install it with `apt-get install -y bubblewrap`")
	}
}

// newEnv starts a runtime and a manager over fresh directories. At the end of the test every sandbox
// is stopped.
func newEnv(t *testing.T, tune func(*sandbox.ManagerConfig)) *env {
	t.Helper()
	requireHost(t)
	e := &env{t: t, rtDir: t.TempDir(), mgrDir: t.TempDir(), logs: &syncBuffer{}}
	e.open(tune)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", e.logs)
		}
		e.shutdown(true)
	})
	return e
}

// open starts a runtime and a manager over e's directories.
func (e *env) open(tune func(*sandbox.ManagerConfig)) {
	t := e.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt, err := local.New(local.Config{StateDir: e.rtDir, EnvdBin: envdBin, Logger: log, Templates: testTemplates})
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	e.rt = rt
	e.obs = &observer{}
	cfg := sandbox.ManagerConfig{
		Runtime: rt,
		TemplatesFunc: func() []sandbox.Template {
			var out []sandbox.Template
			for _, s := range rt.Templates() {
				out = append(out, sandbox.Template{Name: s.Name, Aliases: testAliases[s.Name], Available: s.Available, Reason: s.Reason})
			}
			return out
		},
		StateDir:        e.mgrDir,
		EnvdVersion:     "0.5.7",
		Logger:          log,
		DefaultCPU:      2,
		DefaultMemoryMB: 512,
		Observer:        e.obs,
		ReapInterval:    200 * time.Millisecond,
		RefillInterval:  500 * time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	mgr, err := sandbox.NewManager(cfg)
	if err != nil {
		rt.Close()
		t.Fatalf("NewManager: %v", err)
	}
	e.mgr = mgr
	e.stopped = false
}

// shutdown closes the manager and the runtime; with stopSandboxes, everything the runtime runs is
// stopped first (the end of a test), else it stays for the next open (a restart).
func (e *env) shutdown(stopSandboxes bool) {
	if e.stopped {
		return
	}
	e.stopped = true
	e.mgr.Close()
	if stopSandboxes {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		insts, err := e.rt.List(ctx)
		if err != nil {
			e.t.Errorf("cleanup: list: %v", err)
		}
		for _, in := range insts {
			if err := e.rt.Stop(ctx, in.Spec.ID); err != nil {
				e.t.Errorf("cleanup: stop %s: %v", in.Spec.ID, err)
			}
		}
	}
	e.rt.Close()
}

// restart closes manager and runtime (sandboxes keep running) and opens new ones over the same state.
func (e *env) restart(tune func(*sandbox.ManagerConfig)) {
	e.t.Helper()
	e.shutdown(false)
	e.open(tune)
}

func (e *env) create(req sandbox.CreateRequest) *sandbox.Sandbox {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := e.mgr.Create(ctx, req)
	if err != nil {
		e.t.Fatalf("Create(%+v): %v", req, err)
	}
	return sb
}

// runtimeIDs is the set of sandboxes the runtime runs.
func (e *env) runtimeIDs() map[string]bool {
	e.t.Helper()
	insts, err := e.rt.List(context.Background())
	if err != nil {
		e.t.Fatalf("runtime List: %v", err)
	}
	out := map[string]bool{}
	for _, in := range insts {
		out[in.Spec.ID] = true
	}
	return out
}

// runtimeLimits are the limits the runtime applied to each sandbox it runs.
func (e *env) runtimeLimits() map[string]sandbox.Limits {
	e.t.Helper()
	insts, err := e.rt.List(context.Background())
	if err != nil {
		e.t.Fatalf("runtime List: %v", err)
	}
	out := map[string]sandbox.Limits{}
	for _, in := range insts {
		out[in.Spec.ID] = in.Spec.Limits
	}
	return out
}

// envdGet GETs path from the sandbox's envd through the runtime and decodes the JSON answer.
func (e *env) envdGet(id, token, path string, out any) int {
	e.t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return e.rt.DialEnvd(ctx, id)
		},
		DisableKeepAlives: true,
	}}
	req, _ := http.NewRequest(http.MethodGet, "http://envd"+path, nil)
	req.Header.Set("X-Access-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s of %s: %v", path, id, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("GET %s of %s: %v: %s", path, id, err, raw)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) poolReady(name string) int {
	e.t.Helper()
	p, err := e.mgr.GetPool(context.Background(), name)
	if err != nil {
		e.t.Fatalf("GetPool(%q): %v", name, err)
	}
	return p.Ready
}
