package local

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// leakCycles is the number of start/stop cycles of TestNoLeaks; LOCAL_RUNTIME_LEAK_CYCLES overrides it
// (the long leak run uses 500).
func leakCycles(t *testing.T) int {
	if v := os.Getenv("LOCAL_RUNTIME_LEAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("LOCAL_RUNTIME_LEAK_CYCLES: %v", err)
		}
		return n
	}
	return 50
}

func TestNoLeaks(t *testing.T) {
	rt, _ := newRuntime(t, Config{})
	cycles, workers := leakCycles(t), 4
	fdsBefore := countFDs(t)
	goroutinesBefore := runtime.NumGoroutine()

	ids := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var (
		states    []*state
		stoppedAt []uint64 // boot tick at which each sandbox was stopped
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ids {
				spec := newSpec(t)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if _, err := rt.Start(ctx, spec); err != nil {
					cancel()
					t.Errorf("Start: %v", err)
					return
				}
				st := stateOf(t, rt, spec.ID)
				c := envdHTTP(rt, spec.ID)
				resp, err := c.Get("http://envd/health")
				if err != nil || resp.StatusCode != http.StatusNoContent {
					t.Errorf("GET /health: %v %v", resp, err)
				} else {
					resp.Body.Close()
				}
				c.CloseIdleConnections()
				if err := rt.Stop(ctx, spec.ID); err != nil {
					t.Errorf("Stop: %v", err)
				}
				cancel()
				stopped := bootTicks(t)
				mu.Lock()
				states = append(states, st)
				stoppedAt = append(stoppedAt, stopped)
				mu.Unlock()
			}
		}()
	}
	for i := range cycles {
		ids <- i
	}
	close(ids)
	wg.Wait()
	if t.Failed() {
		return
	}

	for i, st := range states {
		assertGoneSince(t, st, filepath.Dir(st.Mount), stoppedAt[i])
	}
	if entries, _ := os.ReadDir(rt.dir); len(entries) != 0 {
		t.Errorf("%d entries left in %s", len(entries), rt.dir)
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
	// The manager side: no descriptor or goroutine per past sandbox. Goroutines of idle HTTP
	// connections wind down asynchronously, hence the wait and the slack.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutinesBefore+2 {
		t.Errorf("goroutines: %d before, %d after %d cycles", goroutinesBefore, n, cycles)
	}
	if n := countFDs(t); n > fdsBefore+2 {
		t.Errorf("open descriptors: %d before, %d after %d cycles", fdsBefore, n, cycles)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func hasDirs(entries []os.DirEntry) bool {
	for _, e := range entries {
		if e.IsDir() {
			return true
		}
	}
	return false
}

// procsMentioning lists processes whose command line contains s anywhere.
func procsMentioning(t *testing.T, s string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && bytes.Contains(raw, []byte(s)) {
			if state, _, err := procStat(pid); err == nil && state != 'Z' {
				out = append(out, pid)
			}
		}
	}
	return out
}
