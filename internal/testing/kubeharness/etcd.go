package kubeharness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultEtcdBin is where Debian's etcd-server package installs etcd.
const DefaultEtcdBin = "/usr/bin/etcd"

// findEtcd returns the etcd binary to run: explicit, ETCD_BIN, /usr/bin/etcd, or etcd in PATH.
func findEtcd(explicit string) (string, error) { return locateEtcd(explicit, DefaultEtcdBin) }

func locateEtcd(explicit, defaultBin string) (string, error) {
	for _, p := range []string{explicit, os.Getenv("ETCD_BIN"), defaultBin} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
		if p == explicit {
			return "", fmt.Errorf("etcd binary %s not found", p)
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	return "", errors.New("etcd not found: install it with `apt-get install -y --no-install-recommends etcd-server` (or `make deps`)")
}

// etcd is one single-member etcd on loopback, its data in its own directory.
type etcd struct {
	proc      *process
	clientURL string
}

// startEtcd starts etcd with its data under dataDir and waits until it reports healthy. A port taken
// between picking it and etcd binding it makes etcd exit at once; that is retried on new ports.
func startEtcd(ctx context.Context, bin, dataDir, logPath string) (*etcd, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, err := tryStartEtcd(ctx, bin, dataDir, logPath)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break
		}
		_ = os.RemoveAll(dataDir)
	}
	return nil, lastErr
}

// errExitedEarly marks a child that exited during startup (typically: its port was taken).
var errExitedEarly = errors.New("exited during startup")

func tryStartEtcd(ctx context.Context, bin, dataDir, logPath string) (*etcd, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	args := []string{
		"--name", "kubeharness",
		"--data-dir", dataDir,
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "kubeharness=" + peerURL,
		"--initial-cluster-state", "new",
		"--log-level", "warn",
		"--logger", "zap",
	}
	proc, err := startProcess("etcd", bin, args, logPath)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: time.Second}
	for delay := 10 * time.Millisecond; ; delay = min(delay*3/2, 200*time.Millisecond) {
		if etcdHealthy(ctx, client, clientURL) {
			return &etcd{proc: proc, clientURL: clientURL}, nil
		}
		select {
		case <-proc.exited:
			return nil, fmt.Errorf("etcd %w (%v); log:\n%s", errExitedEarly, proc.cmd.ProcessState, proc.logTail(8<<10))
		case <-ctx.Done():
			proc.stop(5 * time.Second)
			return nil, fmt.Errorf("etcd not healthy at %s: %w; log:\n%s", clientURL, ctx.Err(), proc.logTail(8<<10))
		case <-time.After(delay):
		}
	}
}

func etcdHealthy(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`)
}

// etcdDataParent is where etcd's data goes: tmpfs when the machine has one, because etcd fsyncs every
// write and a test cluster's data is thrown away anyway.
func etcdDataParent() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", ".kubeharness-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func (e *etcd) stop() { e.proc.stop(10 * time.Second) }

// version returns what `etcd --version` prints first ("etcd Version: 3.4.23"), for diagnostics.
func etcdVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "etcd Version:"))
}

// dataDirIn makes a fresh directory for etcd's data.
func dataDirIn(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, "kubeharness-etcd-")
	if err != nil {
		return "", fmt.Errorf("etcd data dir: %w", err)
	}
	return filepath.Clean(dir), nil
}
