package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func TestPoolValidation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, p := range []sandbox.Pool{
		{Name: "Bad_Name", Template: "base", Size: 1},
		{Name: "-x", Template: "base", Size: 1},
		{Name: "ok", Template: "base", Size: -1},
		{Name: "ok", Template: "base", Size: 101},
	} {
		if _, err := e.mgr.PutPool(ctx, p); !errors.Is(err, sandbox.ErrInvalid) {
			t.Errorf("PutPool(%+v): %v, want ErrInvalid", p, err)
		}
	}
	if _, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "ok", Template: "nosuch", Size: 1}); !errors.Is(err, sandbox.ErrUnknownTemplate) {
		t.Errorf("PutPool of an unknown template: %v, want ErrUnknownTemplate", err)
	}
	if _, err := e.mgr.GetPool(ctx, "nosuch"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("GetPool(nosuch): %v", err)
	}
	if err := e.mgr.DeletePool(ctx, "nosuch"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("DeletePool(nosuch): %v", err)
	}
}

func TestPoolClaimRefillResizeDelete(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "warm", Template: "other-alias", Size: 2, Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatalf("PutPool: %v", err)
	}
	if p.Template != "other" || p.Size != 2 {
		t.Errorf("PutPool returned %+v", p)
	}
	eventually(t, "the pool to fill", func() bool { return e.poolReady("warm") == 2 })
	if list, _, _ := e.mgr.List(ctx, sandbox.ListFilter{}); len(list) != 0 {
		t.Errorf("warm members are listed: %v", ids(list))
	}
	if c := e.mgr.Counts(); c.Warm["other"] != 2 || c.Running["other"] != 0 {
		t.Errorf("Counts: %+v", c)
	}
	warm := e.runtimeIDs()
	for id := range warm {
		if _, err := e.mgr.Get(ctx, id); !errors.Is(err, sandbox.ErrNotFound) {
			t.Errorf("Get of warm member %s: %v, want ErrNotFound", id, err)
		}
	}

	sb := e.create(sandbox.CreateRequest{Template: "other", Metadata: map[string]string{"k": "v"}, EnvVars: map[string]string{"FOO": "claimed"}})
	if pool, cold := e.obs.counts(); pool != 1 || cold != 0 {
		t.Fatalf("observer: %d from pool, %d cold; want the claim", pool, cold)
	}
	if !warm[sb.ID] {
		t.Errorf("claimed %s is not one of the warm members %v", sb.ID, warm)
	}
	if sb.Metadata["k"] != "v" || len(sb.Metadata) != 1 || sb.Template != "other" {
		t.Errorf("claimed sandbox %+v", sb)
	}
	if d := time.Until(sb.EndAt); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("claimed sandbox expires in %s, want the pool's 10m", d)
	}
	var envs map[string]string
	if code := e.envdGet(sb.ID, sb.AccessToken, "/envs", &envs); code != 200 || envs["FOO"] != "claimed" || envs["E2B_SANDBOX_ID"] != sb.ID {
		t.Errorf("claimed sandbox's /envs: %d %v, want FOO=claimed from the claim's /init", code, envs)
	}
	if got, err := e.mgr.Get(ctx, sb.ID); err != nil || got.Metadata["k"] != "v" {
		t.Errorf("Get claimed: %+v %v", got, err)
	}
	eventually(t, "the pool to refill", func() bool { return e.poolReady("warm") == 2 })

	// Shrinking stops the extra members before PutPool returns.
	if p, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "warm", Template: "other", Size: 1}); err != nil || p.Ready != 1 {
		t.Fatalf("resize to 1: %+v %v", p, err)
	}
	if n := len(e.runtimeIDs()); n != 2 {
		t.Errorf("runtime runs %d sandboxes after resize, want 2 (1 warm + 1 claimed)", n)
	}

	// Deleting stops the warm member and keeps the claimed sandbox.
	if err := e.mgr.DeletePool(ctx, "warm"); err != nil {
		t.Fatalf("DeletePool: %v", err)
	}
	if ids := e.runtimeIDs(); len(ids) != 1 || !ids[sb.ID] {
		t.Errorf("runtime after DeletePool: %v, want only the claimed %s", ids, sb.ID)
	}
	if _, err := e.mgr.Get(ctx, sb.ID); err != nil {
		t.Errorf("claimed sandbox after DeletePool: %v", err)
	}
	if pools, _ := e.mgr.ListPools(ctx); len(pools) != 0 {
		t.Errorf("ListPools after delete: %+v", pools)
	}
	// No pool: a cold start.
	e.create(sandbox.CreateRequest{Template: "other"})
	if pool, cold := e.obs.counts(); pool != 1 || cold != 1 {
		t.Errorf("observer: %d from pool, %d cold; want 1 and 1", pool, cold)
	}
}

func TestConcurrentClaims(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "p", Template: "base", Size: 3}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool to fill", func() bool { return e.poolReady("p") == 3 })
	warm := e.runtimeIDs()

	const n = 10
	var wg sync.WaitGroup
	got := make([]*sandbox.Sandbox, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			got[i], errs[i] = e.mgr.Create(cctx, sandbox.CreateRequest{Template: "base"})
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	fromWarm := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Create %d: %v", i, errs[i])
		}
		if seen[got[i].ID] {
			t.Errorf("sandbox %s handed out twice", got[i].ID)
		}
		seen[got[i].ID] = true
		if warm[got[i].ID] {
			fromWarm++
		}
	}
	if pool, _ := e.obs.counts(); pool < 3 || fromWarm < 3 {
		t.Errorf("%d creates observed from the pool, %d of the 3 warm handed out; want all 3", pool, fromWarm)
	}
	list, _, err := e.mgr.List(ctx, sandbox.ListFilter{})
	if err != nil || len(list) != n {
		t.Errorf("List: %d sandboxes %v, want %d", len(list), err, n)
	}
	eventually(t, "the pool to refill", func() bool { return e.poolReady("p") == 3 })
	for id := range seen {
		if !e.runtimeIDs()[id] {
			t.Errorf("created %s is not running", id)
		}
	}
}
