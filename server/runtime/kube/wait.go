package kube

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waiters wakes goroutines waiting for an object (by name) to change in an informer cache, so that
// waits for a pod's readiness or for the cache to catch up with a write need no polling.
type waiters struct {
	mu    sync.Mutex
	byKey map[string]map[chan struct{}]struct{}
}

func newWaiters() *waiters { return &waiters{byKey: map[string]map[chan struct{}]struct{}{}} }

// register returns a channel that receives after the next change of name, and its release.
func (w *waiters) register(name string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.byKey[name] == nil {
		w.byKey[name] = map[chan struct{}]struct{}{}
	}
	w.byKey[name][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.byKey[name], ch)
		if len(w.byKey[name]) == 0 {
			delete(w.byKey, name)
		}
		w.mu.Unlock()
	}
}

func (w *waiters) notify(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.byKey[name] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// until calls check whenever name changes in the caches (and every second, as a safety net) until
// it reports done or an error, or ctx ends.
func (w *waiters) until(ctx context.Context, name string, check func() (bool, error)) error {
	ch, release := w.register(name)
	defer release()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		// Registered before checking: a change between the check and the wait is not lost.
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-tick.C:
		}
	}
}

// cacheCaughtUp bounds the wait for an informer to see one's own write; beyond it the write stands
// and only this replica's next read may briefly show the old version.
const cacheCaughtUp = 5 * time.Second

// newerOrSame reports whether resource version have is at least want. Resource versions are opaque
// strings to clients, but every API server backed by etcd hands out its revision numbers; when
// either does not parse, only equality counts.
func newerOrSame(have, want string) bool {
	if have == want {
		return true
	}
	h, err1 := strconv.ParseUint(have, 10, 64)
	wv, err2 := strconv.ParseUint(want, 10, 64)
	return err1 == nil && err2 == nil && h >= wv
}

// waitCached waits until get (a cache read) returns the object at resource version rv or later. It
// gives up quietly after cacheCaughtUp.
func (w *waiters) waitCached(ctx context.Context, name, rv string, get func() (metav1.Object, bool)) {
	ctx, cancel := context.WithTimeout(ctx, cacheCaughtUp)
	defer cancel()
	_ = w.until(ctx, name, func() (bool, error) {
		obj, ok := get()
		return ok && newerOrSame(obj.GetResourceVersion(), rv), nil
	})
}

func metaOf(obj any) (metav1.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("object metadata: %w", err)
	}
	return m, nil
}

// waitGone waits until get (a cache read) no longer finds the object, giving up after cacheCaughtUp.
func (w *waiters) waitGone(ctx context.Context, name string, get func() bool) {
	ctx, cancel := context.WithTimeout(ctx, cacheCaughtUp)
	defer cancel()
	_ = w.until(ctx, name, func() (bool, error) { return !get(), nil })
}
