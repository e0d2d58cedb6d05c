package kubenode

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
)

const modulePath = "github.com/sandboxstack/terraform-provider-sandbox"

var built struct {
	once sync.Once
	dir  string
	err  error
}

// Binaries returns the envd binary and the directory of the templates' binaries: ENVD_BIN and its
// directory (where `make build` also puts code-interpreter) when set, otherwise envd and
// code-interpreter built from this module once per test binary. RemoveBinaries deletes the built ones.
func Binaries(t testing.TB) (envdBin, binDir string) {
	t.Helper()
	if p := os.Getenv("ENVD_BIN"); p != "" {
		return p, filepath.Dir(p)
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "kubenode-bin-"); built.err != nil {
			return
		}
		for _, pkg := range []string{"server/cmd/envd", "server/cmd/code-interpreter"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(built.dir, filepath.Base(pkg)), modulePath+"/"+pkg).CombinedOutput()
			if err != nil {
				built.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "envd"), built.dir
}

// RemoveBinaries deletes what Binaries and ManagerBinary built (call it from TestMain after m.Run).
func RemoveBinaries() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	if builtManager.dir != "" {
		_ = os.RemoveAll(builtManager.dir)
	}
}

// StartTest starts an agent for the test against the cluster at restCfg. Unset fields of cfg get: a
// fresh state dir, the binaries from Binaries, a log kept in memory and printed if the test fails.
// When the test ends the agent stops every sandbox it runs (Shutdown). It needs what the local
// runtime needs (root, bubblewrap) and fails the test, naming what is missing, otherwise.
func StartTest(t testing.TB, restCfg *rest.Config, cfg Config) *Agent {
	t.Helper()
	managerharness.RequireHost(t)
	cfg.RESTConfig = restCfg
	if cfg.StateDir == "" {
		// Removed after Shutdown (cleanups run last-registered first), so never while mounts exist.
		cfg.StateDir = t.TempDir()
	}
	if cfg.EnvdBin == "" {
		cfg.EnvdBin, cfg.BinDir = Binaries(t)
	}
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start test node: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("test node shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("test node %s log:\n%s", cfg.NodeName, logs)
		}
	})
	return a
}

// syncBuffer is a log sink shared by the agent's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
