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
		{Name: "ok", Template: "base", Size: 1, Resources: sandbox.Limits{CPUMillis: 50}},
		{Name: "ok", Template: "base", Size: 1, Resources: sandbox.Limits{CPUMillis: -1000}},
		{Name: "ok", Template: "base", Size: 1, Resources: sandbox.Limits{MemoryMB: 32}},
		{Name: "ok", Template: "base", Size: 1, Resources: sandbox.Limits{MemoryMB: 1 << 30}},
		{Name: "ok", Template: "base", Size: 1, Resources: sandbox.Limits{Pids: 10}},
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

// TestPoolResources: a pool's resources reach the runtime for its warm members, are what a claimed
// sandbox reports, replace the warm members when changed, and survive a restart.
func TestPoolResources(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	want := sandbox.Limits{CPUMillis: 500, MemoryMB: 256}
	p, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "sized", Template: "base", Size: 2, Resources: want})
	if err != nil {
		t.Fatalf("PutPool: %v", err)
	}
	if p.Resources != want {
		t.Errorf("PutPool returned resources %+v, want %+v", p.Resources, want)
	}
	eventually(t, "the pool to fill", func() bool { return e.poolReady("sized") == 2 })
	first := e.runtimeLimits()
	for id, l := range first {
		if l != want {
			t.Errorf("warm member %s runs with %+v, want %+v", id, l, want)
		}
	}

	sb := e.create(sandbox.CreateRequest{Template: "base"})
	if _, warm := first[sb.ID]; !warm {
		t.Fatalf("create did not claim a warm member")
	}
	if sb.CPUCount != 1 || sb.MemoryMB != 256 {
		t.Errorf("claimed sandbox reports %d CPU / %d MB, want 1 (500m rounds up) / 256", sb.CPUCount, sb.MemoryMB)
	}
	cold := e.create(sandbox.CreateRequest{Template: "other"})
	if cold.CPUCount != 2 || cold.MemoryMB != 512 {
		t.Errorf("a sandbox of another template reports %d CPU / %d MB, want the defaults 2 / 512", cold.CPUCount, cold.MemoryMB)
	}

	bigger := sandbox.Limits{CPUMillis: 1500, MemoryMB: 384}
	if _, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "sized", Template: "base", Size: 2, Resources: bigger}); err != nil {
		t.Fatalf("PutPool (resize resources): %v", err)
	}
	eventually(t, "the warm members to be replaced", func() bool {
		n := 0
		for id, l := range e.runtimeLimits() {
			if _, old := first[id]; old && id != sb.ID {
				return false
			}
			if l == bigger {
				n++
			}
		}
		return n == 2 && e.poolReady("sized") == 2
	})
	if got, err := e.mgr.Get(ctx, sb.ID); err != nil || got.MemoryMB != 256 {
		t.Errorf("the sandbox claimed before the change: %+v %v, want it kept with 256 MB", got, err)
	}

	e.restart(nil)
	if p, err := e.mgr.GetPool(ctx, "sized"); err != nil || p.Resources != bigger {
		t.Errorf("after a restart the pool is %+v %v, want resources %+v", p, err, bigger)
	}
	if sb := e.create(sandbox.CreateRequest{Template: "base"}); sb.CPUCount != 2 || sb.MemoryMB != 384 {
		t.Errorf("claimed after restart: %d CPU / %d MB, want 2 / 384", sb.CPUCount, sb.MemoryMB)
	}
}
