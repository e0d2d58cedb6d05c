package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func TestRestartRecovery(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "keep", Template: "base", Size: 1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool to fill", func() bool { return e.poolReady("keep") == 1 })
	claimed := e.create(sandbox.CreateRequest{Template: "base", Metadata: map[string]string{"who": "claimed"}, OwnerKey: "k1"})
	if pool, _ := e.obs.counts(); pool != 1 {
		t.Fatalf("the first create did not claim from the pool")
	}
	eventually(t, "the pool to refill", func() bool { return e.poolReady("keep") == 1 })
	cold := e.create(sandbox.CreateRequest{Template: "other-alias", Metadata: map[string]string{"who": "cold"}, Timeout: time.Hour})
	expiring := e.create(sandbox.CreateRequest{Template: "base", Timeout: time.Hour})
	if err := e.mgr.SetTimeout(ctx, expiring.ID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	// Creates may have claimed refilled members; wait until one is warm again for the restart.
	eventually(t, "the pool to refill", func() bool { return e.poolReady("keep") == 1 })
	warmBefore := map[string]bool{}
	for id := range e.runtimeIDs() {
		if id != claimed.ID && id != cold.ID && id != expiring.ID {
			warmBefore[id] = true
		}
	}

	e.restart(nil)

	for _, want := range []*sandbox.Sandbox{claimed, cold} {
		got, err := e.mgr.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get %s after restart: %v", want.ID, err)
		}
		if got.Metadata["who"] != want.Metadata["who"] || len(got.Metadata) != 1 || got.Alias != want.Alias ||
			got.Template != want.Template || got.AccessToken != want.AccessToken || got.OwnerKey != want.OwnerKey ||
			!got.EndAt.Equal(want.EndAt) {
			t.Errorf("after restart:\n got %+v\nwant %+v", got, want)
		}
	}
	// The pool and its warm member came back; the member is still not a user's sandbox.
	p, err := e.mgr.GetPool(ctx, "keep")
	if err != nil || p.Size != 1 || p.Template != "base" || p.Ready != 1 {
		t.Errorf("pool after restart: %+v %v", p, err)
	}
	for id := range warmBefore {
		if _, err := e.mgr.Get(ctx, id); !errors.Is(err, sandbox.ErrNotFound) {
			t.Errorf("warm member %s is visible after restart: %v", id, err)
		}
	}
	if list, _, _ := e.mgr.List(ctx, sandbox.ListFilter{AllOwners: true}); len(list) != 3 {
		t.Errorf("List after restart: %v, want the 3 users' sandboxes", ids(list))
	}
	// Ownership came back too: k1 lists only its sandbox.
	if list, _, _ := e.mgr.List(ctx, sandbox.ListFilter{Owner: "k1"}); len(list) != 1 || list[0].ID != claimed.ID || !list[0].CanControl("k1") {
		t.Errorf("List(owner k1) after restart: %v, want only %s", ids(list), claimed.ID)
	}
	// The next create claims the recovered warm member.
	next := e.create(sandbox.CreateRequest{Template: "base"})
	if !warmBefore[next.ID] {
		t.Errorf("create after restart got %s, not the recovered warm member %v", next.ID, warmBefore)
	}
	// Timeouts are still enforced.
	eventually(t, "the shortened sandbox to expire after the restart", func() bool {
		_, err := e.mgr.Get(ctx, expiring.ID)
		return errors.Is(err, sandbox.ErrNotFound) && !e.runtimeIDs()[expiring.ID]
	})

	// Expired while the manager was down: killed on start. A deleted pool's warm members are stopped.
	if err := e.mgr.SetTimeout(ctx, cold.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	e.shutdown(false)
	time.Sleep(1500 * time.Millisecond)
	e.open(nil)
	if _, err := e.mgr.Get(ctx, cold.ID); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("sandbox that expired during the restart: %v, want ErrNotFound", err)
	}
	if e.runtimeIDs()[cold.ID] {
		t.Errorf("sandbox that expired during the restart still runs")
	}
}

// TestPrivateSandboxRecovery: a private sandbox's network options and traffic token come back after a
// restart, from the state file and, when that is lost, from the runtime's copy of the sandbox; one
// claimed from a warm pool gets its options at the claim.
func TestPrivateSandboxRecovery(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	network := sandbox.Inbound{Private: true, MaskRequestHost: "${PORT}-app.local"}
	cold := e.create(sandbox.CreateRequest{Template: "base", Inbound: network})
	public := e.create(sandbox.CreateRequest{Template: "base"})
	if _, err := e.mgr.PutPool(ctx, sandbox.Pool{Name: "warm", Template: "base", Size: 1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool to fill", func() bool { return e.poolReady("warm") == 1 })
	claimed := e.create(sandbox.CreateRequest{Template: "base", Inbound: network})
	if pool, _ := e.obs.counts(); pool != 1 {
		t.Fatal("the private create did not claim from the pool")
	}

	for _, sb := range []*sandbox.Sandbox{cold, claimed} {
		if sb.Inbound != network || sb.TrafficToken == "" || sb.TrafficToken == sb.AccessToken || sb.TrafficToken != sandbox.TrafficToken(sb.AccessToken) {
			t.Fatalf("private sandbox %s: network %+v, traffic token %q", sb.ID, sb.Inbound, sb.TrafficToken)
		}
	}
	if public.TrafficToken != "" || public.Inbound.Private {
		t.Fatalf("public sandbox: %+v", public)
	}
	check := func(when string, sbs ...*sandbox.Sandbox) {
		t.Helper()
		for _, want := range sbs {
			got, err := e.mgr.Get(ctx, want.ID)
			if err != nil {
				t.Fatalf("%s: Get %s: %v", when, want.ID, err)
			}
			if got.Inbound != want.Inbound || got.TrafficToken != want.TrafficToken {
				t.Errorf("%s: %s has network %+v and traffic token %q, want %+v and %q", when, want.ID, got.Inbound, got.TrafficToken, want.Inbound, want.TrafficToken)
			}
		}
	}
	e.restart(nil)
	check("after a restart", cold, claimed, public)

	// Without the state file the runtime's copy of a cold-started sandbox still says it is private.
	e.shutdown(false)
	if err := os.Remove(filepath.Join(e.mgrDir, "sandboxes.json")); err != nil {
		t.Fatal(err)
	}
	e.open(nil)
	check("after a restart without sandboxes.json", cold, public)
}
