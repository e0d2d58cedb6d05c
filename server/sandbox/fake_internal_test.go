package sandbox

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeRuntime runs nothing: it records starts and stops, and its envd cannot be reached. It covers
// what the real runtime cannot be made to do on purpose (a warm member whose envd is gone).
type fakeRuntime struct {
	mu      sync.Mutex
	running map[string]Spec
	stopped []string
}

func (f *fakeRuntime) Start(_ context.Context, spec Spec) (*Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[spec.ID] = spec
	return &Instance{Spec: spec, StartedAt: time.Now()}, nil
}

func (f *fakeRuntime) Stop(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.running[id]; ok {
		delete(f.running, id)
		f.stopped = append(f.stopped, id)
	}
	return nil
}

func (f *fakeRuntime) List(context.Context) ([]Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Instance
	for _, s := range f.running {
		out = append(out, Instance{Spec: s})
	}
	return out, nil
}

func (f *fakeRuntime) DialEnvd(context.Context, string) (net.Conn, error) {
	return nil, errors.New("envd unreachable")
}

func (f *fakeRuntime) isStopped(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stopped {
		if s == id {
			return true
		}
	}
	return false
}

type countObserver struct {
	mu             sync.Mutex
	fromPool, cold int
}

func (o *countObserver) ObserveCreate(_ string, fromPool bool, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if fromPool {
		o.fromPool++
	} else {
		o.cold++
	}
}

// A warm member whose envd does not take the claim's /init is stopped, and the Create starts a
// sandbox cold instead of failing.
func TestClaimInitFailureFallsBackToColdStart(t *testing.T) {
	rt := &fakeRuntime{running: map[string]Spec{}}
	obs := &countObserver{}
	m, err := NewManager(ManagerConfig{
		Runtime:        rt,
		Templates:      []Template{{Name: "base", Available: true}},
		Observer:       obs,
		RefillInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	if _, err := m.PutPool(ctx, Pool{Name: "p", Template: "base", Size: 1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var warm string
	for warm == "" {
		if time.Now().After(deadline) {
			t.Fatal("pool did not fill")
		}
		recs, err := m.store.Sandboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Phase == PhaseWarm {
				warm = r.ID
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	sb, err := m.Create(ctx, CreateRequest{Template: "base"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if sb.ID == warm || obs.fromPool != 0 || obs.cold != 1 {
		t.Errorf("got %s (warm was %s), observed %d from pool / %d cold; want a cold start", sb.ID, warm, obs.fromPool, obs.cold)
	}
	for !rt.isStopped(warm) {
		if time.Now().After(deadline) {
			t.Fatal("the broken warm member was not stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Expiry follows the configured clock.
func TestReaperUsesClock(t *testing.T) {
	rt := &fakeRuntime{running: map[string]Spec{}}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m, err := NewManager(ManagerConfig{
		Runtime:      rt,
		Templates:    []Template{{Name: "base", Available: true}},
		Now:          clock,
		ReapInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	sb, err := m.Create(ctx, CreateRequest{Template: "base", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !sb.EndAt.Equal(now.Add(time.Minute)) {
		t.Errorf("EndAt %v, want now+1m", sb.EndAt)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := m.Get(ctx, sb.ID); err != nil {
		t.Fatalf("expired before its time: %v", err)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for !rt.isStopped(sb.ID) {
		if time.Now().After(deadline) {
			t.Fatal("not reaped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := m.Get(ctx, sb.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after expiry: %v", err)
	}
}
