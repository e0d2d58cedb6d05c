package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	managerharness.RemoveBinaries()
	kubenode.RemoveBinaries()
	os.Exit(code)
}

// leakCycles is the number of create/kill cycles of TestLeak500CreateKill: 500, 100 with -short;
// SANDBOX_MANAGER_LEAK_CYCLES overrides both.
func leakCycles(t *testing.T) int {
	if v := os.Getenv("SANDBOX_MANAGER_LEAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 {
			t.Fatalf("SANDBOX_MANAGER_LEAK_CYCLES=%q: want an integer ≥ 20", v)
		}
		return n
	}
	if testing.Short() {
		return 100
	}
	return 500
}

// Crash phases of TestLeak500CreateKill.
const (
	beforeCrash = iota
	crashing    // from just before the SIGKILL until the restarted manager answers /health
	afterCrash
)

// TestLeak500CreateKill runs create → one request to the sandbox's envd through the gateway → kill,
// with four workers, against the real manager binary. Every tenth create is abandoned by the client
// mid-flight; half-way through, the manager is killed with SIGKILL while creates are in flight and
// restarted over the same state dir. At the end, after killing whatever is listed and a graceful
// stop, no process, mount, cgroup, sandbox directory or state entry may be left.
func TestLeak500CreateKill(t *testing.T) {
	cycles, workers := leakCycles(t), 4
	m := managerharness.Start(t, managerharness.Options{LogLevel: "info"})
	crashAt := cycles / 2

	var (
		phase     atomic.Int32
		restarted = make(chan struct{})
		inFlight  atomic.Int32 // creates under way

		mu         sync.Mutex
		abandoned  = map[int]bool{} // cycles whose create the client cancelled before an answer
		disturbed  = map[int]bool{} // cycles an operation of which overlapped the crash
		killed     = map[int]string{}
		createTook []time.Duration
	)
	mark := func(set map[int]bool, i int) {
		mu.Lock()
		set[i] = true
		mu.Unlock()
	}
	// tolerated reports whether an operation that began in phase began and failed now overlapped the
	// manager's crash; the worker then waits for the restart before it goes on.
	tolerated := func(began int32, i int) bool {
		if began == afterCrash || phase.Load() == beforeCrash {
			return false
		}
		mark(disturbed, i)
		<-restarted
		return true
	}

	cycle := func(i int) {
		opts := managerharness.CreateOptions{Template: "base", Timeout: 120,
			Metadata: map[string]string{"cycle": strconv.Itoa(i)}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		abandon := i%10 == 9
		if abandon {
			// Cancel after 2 ms to about 300 ms: at every step of a start (which takes a few hundred ms).
			delay := 2*time.Millisecond + time.Duration((i/10)%8)*40*time.Millisecond
			timer := time.AfterFunc(delay, cancel)
			defer timer.Stop()
		}
		began := phase.Load()
		start := time.Now()
		inFlight.Add(1)
		sb, err := m.Client().CreateContext(ctx, opts)
		inFlight.Add(-1)
		switch {
		case err != nil && abandon && ctx.Err() != nil:
			mark(abandoned, i)
			return
		case err != nil:
			if !tolerated(began, i) {
				t.Errorf("cycle %d: %v", i, err)
			}
			return
		}
		if !abandon {
			mu.Lock()
			createTook = append(createTook, time.Since(start))
			mu.Unlock()
		}

		uctx, ucancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ucancel()
		began = phase.Load()
		if i%2 == 0 {
			err = m.Client().EnvdHealth(uctx, sb.SandboxID, sb.EnvdAccessToken)
		} else {
			_, err = m.Client().ProcessList(uctx, sb.SandboxID, sb.EnvdAccessToken)
		}
		if err != nil && !tolerated(began, i) {
			t.Errorf("cycle %d: sandbox %s: %v", i, sb.SandboxID, err)
		}

		for attempt := 0; ; attempt++ {
			began = phase.Load()
			err = m.Client().Kill(sb.SandboxID)
			if err == nil {
				break
			}
			// A kill the crash interrupted is retried; the sandbox may have been cleaned up meanwhile.
			if errors.Is(err, managerharness.ErrNotFound) && disturbedCycle(&mu, disturbed, i) {
				err = nil
				break
			}
			if attempt < 3 && tolerated(began, i) {
				continue
			}
			t.Errorf("cycle %d: %v", i, err)
			return
		}
		mu.Lock()
		killed[i] = sb.SandboxID
		mu.Unlock()
		// A kill that answered 204 has torn the sandbox down completely.
		if left := managerharness.LeftoversOf(m.StateDir, sb.SandboxID); len(left) > 0 {
			t.Errorf("cycle %d: killed sandbox %s left %v", i, sb.SandboxID, left)
		}
	}

	// Two sandboxes live across the crash: they must be recovered, reachable with their tokens.
	var survivors []*managerharness.Sandbox
	for range 2 {
		sb, err := m.Client().Create(managerharness.CreateOptions{Template: "base", Timeout: 600,
			Metadata: map[string]string{"survivor": "yes"}})
		if err != nil {
			t.Fatal(err)
		}
		survivors = append(survivors, sb)
	}

	began := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				cycle(i)
			}
		})
	}
	var crashedAfter time.Duration
	var recoveredCount int
	for i := range cycles {
		work <- i
		// Crash once the workers hold fresh items, so that creates are in flight.
		if i == crashAt+workers-1 {
			// Kill the manager while creates are in flight (the workers are busy with the cycles
			// just handed out), then start it again over the same state dir.
			// The workers just took the items handed out last; wait (boundedly: a fast machine may
			// already have finished them) until their creates are under way.
			for deadline := time.Now().Add(10 * time.Second); inFlight.Load() < 2 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // into the starts, past the request parsing
			phase.Store(crashing)
			m.Kill9()
			crashedAfter = time.Since(began)
			m.Restart()
			if ids, err := m.Client().ListIDs(); err == nil {
				recoveredCount = len(ids)
			}
			for _, sb := range survivors {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if _, err := m.Client().ProcessList(ctx, sb.SandboxID, sb.EnvdAccessToken); err != nil {
					t.Errorf("survivor after the restart: %v", err)
				}
				cancel()
			}
			phase.Store(afterCrash)
			close(restarted)
		}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(began)

	// Whatever is still listed must come from a create the client abandoned or the crash interrupted:
	// a sandbox whose kill answered 204 never comes back.
	listed, err := m.Client().List()
	if err != nil {
		t.Fatal(err)
	}
	for _, sb := range survivors {
		if err := m.Client().Kill(sb.SandboxID); err != nil {
			t.Errorf("kill survivor: %v", err)
		}
	}
	for _, s := range listed {
		if s.Metadata["survivor"] == "yes" {
			continue
		}
		i, err := strconv.Atoi(s.Metadata["cycle"])
		switch {
		case err != nil:
			t.Errorf("listed sandbox %s has no cycle metadata: %+v", s.SandboxID, s)
		case !abandoned[i] && !disturbed[i]:
			t.Errorf("listed sandbox %s of cycle %d, which was neither abandoned nor disturbed (killed: %q)", s.SandboxID, i, killed[i])
		}
		if err := m.Client().Kill(s.SandboxID); err != nil && !errors.Is(err, managerharness.ErrNotFound) {
			t.Errorf("kill listed sandbox: %v", err)
		}
	}
	if ids, err := m.Client().ListIDs(); err != nil || len(ids) > 0 {
		t.Errorf("after killing everything listed: %v %v", ids, err)
	}
	if err := m.Stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	if left := managerharness.Leftovers(m.StateDir); !left.Empty() {
		t.Errorf("left behind after %d cycles:\n%s", cycles, left)
	}

	slices.Sort(createTook)
	pct := func(p float64) time.Duration {
		if len(createTook) == 0 {
			return 0
		}
		return createTook[int(p*float64(len(createTook)-1))].Round(time.Millisecond)
	}
	t.Logf("%d cycles, %d workers: %v (%.1f cycles/s); crash after %v with %d sandboxes recovered (2 survivors); "+
		"%d creates abandoned before an answer, %d cycles disturbed by the crash, %d cycle sandboxes left listed at the end; "+
		"create p50 %v p99 %v",
		cycles, workers, elapsed.Round(time.Millisecond), float64(cycles)/elapsed.Seconds(),
		crashedAfter.Round(time.Millisecond), recoveredCount, len(abandoned), len(disturbed), len(listed)-len(survivors),
		pct(0.5), pct(0.99))
	if len(abandoned) == 0 {
		t.Logf("note: no create was cancelled before its answer (starts were faster than the cancel delays)")
	}
}

func disturbedCycle(mu *sync.Mutex, disturbed map[int]bool, i int) bool {
	mu.Lock()
	defer mu.Unlock()
	return disturbed[i]
}
