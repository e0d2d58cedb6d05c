package sandbox

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func newFakeManager(t *testing.T, tune func(*ManagerConfig)) (*Manager, *fakeRuntime) {
	t.Helper()
	rt := &fakeRuntime{running: map[string]Spec{}}
	cfg := ManagerConfig{Runtime: rt, Templates: []Template{{Name: "base", Available: true}}}
	if tune != nil {
		tune(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, rt
}

// Each key may run MaxRunningPerOwner sandboxes; the others' and killed ones do not count, and
// concurrent creates of one key cannot all slip past the limit.
func TestMaxRunningPerOwner(t *testing.T) {
	m, _ := newFakeManager(t, func(c *ManagerConfig) { c.MaxRunningPerOwner = 2 })
	ctx := context.Background()
	create := func(owner string) (*Sandbox, error) {
		return m.Create(ctx, CreateRequest{Template: "base", OwnerKey: owner})
	}
	a1, err := create("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create("a"); err != nil {
		t.Fatal(err)
	}
	_, err = create("a")
	if !errors.Is(err, ErrLimitReached) {
		t.Fatalf("third create of key a: %v, want ErrLimitReached", err)
	}
	if _, err := create("b"); err != nil {
		t.Fatalf("key b is limited by key a's sandboxes: %v", err)
	}
	if err := m.Kill(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := create("a"); err != nil {
		t.Fatalf("create after a kill freed a slot: %v", err)
	}

	// Eight concurrent creates of a fresh key: exactly two succeed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := create("c")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrLimitReached):
				limited++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 2 || limited != 6 {
		t.Errorf("concurrent creates: %d succeeded, %d limited; want 2 and 6", ok, limited)
	}
}

// MaxTimeout caps every lifetime: a create's, a connect's, a set timeout's and a pool's default.
func TestMaxTimeoutCaps(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, _ := newFakeManager(t, func(c *ManagerConfig) {
		c.MaxTimeout = time.Hour
		c.Now = func() time.Time { return now }
	})
	ctx := context.Background()
	sb, err := m.Create(ctx, CreateRequest{Template: "base", Timeout: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := sb.EndAt.Sub(now); got != time.Hour {
		t.Errorf("create with 48h: lifetime %s, want the 1h cap", got)
	}
	if err := m.SetTimeout(ctx, sb.ID, 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, sb.ID); got.EndAt.Sub(now) != time.Hour {
		t.Errorf("set timeout 10h: lifetime %s, want the 1h cap", got.EndAt.Sub(now))
	}
	if err := m.SetTimeout(ctx, sb.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := m.Connect(ctx, sb.ID, 5*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got.EndAt.Sub(now) != time.Hour {
		t.Errorf("connect with 5h: lifetime %s, want the 1h cap", got.EndAt.Sub(now))
	}
}

// A key lists only its own sandboxes, AllOwners (the admin) lists all, and a filter naming no owner
// lists only the admin's (ownerless) sandboxes.
func TestListByOwner(t *testing.T) {
	m, _ := newFakeManager(t, nil)
	ctx := context.Background()
	byOwner := map[string]string{}
	for _, owner := range []string{"a", "b", ""} {
		sb, err := m.Create(ctx, CreateRequest{Template: "base", OwnerKey: owner})
		if err != nil {
			t.Fatal(err)
		}
		byOwner[owner] = sb.ID
		if !sb.CanControl(owner) && owner != "" {
			t.Errorf("%s cannot control its own sandbox", owner)
		}
	}
	for _, tc := range []struct {
		f    ListFilter
		want []string
	}{
		{ListFilter{Owner: "a"}, []string{byOwner["a"]}},
		{ListFilter{Owner: "b"}, []string{byOwner["b"]}},
		{ListFilter{Owner: "nobody"}, nil},
		{ListFilter{}, []string{byOwner[""]}},
		{ListFilter{AllOwners: true}, []string{byOwner["a"], byOwner["b"], byOwner[""]}},
	} {
		list, _, err := m.List(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, sb := range list {
			got[sb.ID] = true
		}
		if len(got) != len(tc.want) {
			t.Errorf("List(%+v) = %v, want %v", tc.f, got, tc.want)
		}
		for _, id := range tc.want {
			if !got[id] {
				t.Errorf("List(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		}
	}
	a, _ := m.Get(ctx, byOwner["a"])
	if a.CanControl("b") || a.CanControl("") || !a.CanControl("a") {
		t.Errorf("CanControl of a's sandbox: b %v, empty %v, a %v", a.CanControl("b"), a.CanControl(""), a.CanControl("a"))
	}
	admins, _ := m.Get(ctx, byOwner[""])
	if admins.CanControl("") || admins.CanControl("a") {
		t.Error("an ownerless sandbox is controllable by an API key")
	}
}
