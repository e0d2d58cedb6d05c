package sandbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startHookRuntime is a fakeRuntime that calls afterStart once a start has succeeded, before Start
// returns: the moment a client may go away after the runtime did its work.
type startHookRuntime struct {
	*fakeRuntime
	afterStart func()
}

func (r *startHookRuntime) Start(ctx context.Context, spec Spec) (*Instance, error) {
	inst, err := r.fakeRuntime.Start(ctx, spec)
	if err == nil && r.afterStart != nil {
		r.afterStart()
	}
	return inst, err
}

// A create whose caller went away while the runtime finished the start stops the sandbox instead of
// registering one whose ID nobody will ever learn.
func TestAbandonedColdCreateStopsTheSandbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rt := &startHookRuntime{fakeRuntime: &fakeRuntime{running: map[string]Spec{}}, afterStart: cancel}
	dir := t.TempDir()
	m, err := NewManager(ManagerConfig{Runtime: rt, Templates: []Template{{Name: "base", Available: true}}, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	sb, err := m.Create(ctx, CreateRequest{Template: "base", Timeout: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Create: %v, %v; want context.Canceled", sb, err)
	}
	if insts, _ := rt.List(context.Background()); len(insts) != 0 {
		t.Errorf("the runtime still runs %v", insts)
	}
	if len(rt.stopped) != 1 {
		t.Errorf("stopped %v, want the abandoned sandbox", rt.stopped)
	}
	if list, _, _ := m.List(context.Background(), ListFilter{}); len(list) != 0 {
		t.Errorf("List: %v", list)
	}
	if raw, err := os.ReadFile(filepath.Join(dir, sandboxesFile)); err == nil && strings.Contains(string(raw), `"id"`) {
		t.Errorf("sandboxes.json records the abandoned sandbox: %s", raw)
	}
	// A create that stays is registered as before.
	if _, err := m.Create(context.Background(), CreateRequest{Template: "base"}); err != nil {
		t.Fatal(err)
	}
}

// envdRuntime is a fakeRuntime whose sandboxes' envd is one HTTP server.
type envdRuntime struct {
	*fakeRuntime
	addr string
}

func (r *envdRuntime) DialEnvd(ctx context.Context, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", r.addr)
}

// A create that claimed a warm member and whose caller went away during the claim leaves no
// user sandbox behind, and the claimed member is stopped.
func TestAbandonedClaimStopsTheMember(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	envd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/init" {
			cancel() // the client goes away while the claimed member takes /init
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer envd.Close()
	rt := &envdRuntime{fakeRuntime: &fakeRuntime{running: map[string]Spec{}}, addr: envd.Listener.Addr().String()}
	m, err := NewManager(ManagerConfig{Runtime: rt, Templates: []Template{{Name: "base", Available: true}},
		RefillInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if _, err := m.PutPool(context.Background(), Pool{Name: "p", Template: "base", Size: 1}); err != nil {
		t.Fatal(err)
	}
	var member string
	for deadline := time.Now().Add(30 * time.Second); member == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pool did not fill")
		}
		rt.mu.Lock()
		for id := range rt.running {
			member = id
		}
		rt.mu.Unlock()
	}

	if sb, err := m.Create(ctx, CreateRequest{Template: "base"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create: %v, %v; want context.Canceled", sb, err)
	}
	// Depending on whether /init answered before the cancel was seen, the member is stopped by the
	// claim itself or, as a member that did not take /init, in the background.
	for deadline := time.Now().Add(30 * time.Second); !rt.isStopped(member); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("claimed member %s still runs", member)
		}
	}
	if list, _, _ := m.List(context.Background(), ListFilter{}); len(list) != 0 {
		t.Errorf("List: %v", list)
	}
}
