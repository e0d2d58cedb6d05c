package sandbox_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func ids(sbs []sandbox.Sandbox) []string {
	out := make([]string, len(sbs))
	for i, sb := range sbs {
		out[i] = sb.ID
	}
	return out
}

func TestList(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var created []string // in creation order, which is start order
	for i := range 7 {
		req := sandbox.CreateRequest{Template: "base", Metadata: map[string]string{"group": "a"}}
		if i%2 == 1 {
			req = sandbox.CreateRequest{Template: "other-alias", Metadata: map[string]string{"group": "b", "n": "odd"}}
		}
		created = append(created, e.create(req).ID)
	}
	list := func(f sandbox.ListFilter) ([]string, string) {
		t.Helper()
		sbs, next, err := e.mgr.List(ctx, f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		return ids(sbs), next
	}

	all, next := list(sandbox.ListFilter{})
	if !slices.Equal(all, created) || next != "" {
		t.Errorf("List() = %v next %q, want %v in start order", all, next, created)
	}
	desc, _ := list(sandbox.ListFilter{Descending: true})
	rev := slices.Clone(created)
	slices.Reverse(rev)
	if !slices.Equal(desc, rev) {
		t.Errorf("List(desc) = %v, want %v", desc, rev)
	}
	odd := []string{created[1], created[3], created[5]}
	even := []string{created[0], created[2], created[4], created[6]}
	for _, tc := range []struct {
		name string
		f    sandbox.ListFilter
		want []string
	}{
		{"metadata group=b", sandbox.ListFilter{Metadata: map[string]string{"group": "b"}}, odd},
		{"metadata all must match", sandbox.ListFilter{Metadata: map[string]string{"group": "a", "n": "odd"}}, nil},
		{"template by name", sandbox.ListFilter{Template: "other"}, odd},
		{"template by alias", sandbox.ListFilter{Template: "other-alias"}, odd},
		{"template base", sandbox.ListFilter{Template: "base"}, even},
		{"state running", sandbox.ListFilter{States: []string{"running"}}, created},
		{"state paused", sandbox.ListFilter{States: []string{"paused"}}, nil},
	} {
		got, _ := list(tc.f)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	fourth, _ := e.mgr.Get(ctx, created[3])
	if got, _ := list(sandbox.ListFilter{StartedAfter: fourth.StartedAt}); !slices.Equal(got, created[3:]) {
		t.Errorf("startedAfter the 4th: %v, want %v", got, created[3:])
	}
	if _, _, err := e.mgr.List(ctx, sandbox.ListFilter{States: []string{"bogus"}}); !errors.Is(err, sandbox.ErrInvalid) {
		t.Errorf("state bogus: %v, want ErrInvalid", err)
	}
	if _, _, err := e.mgr.List(ctx, sandbox.ListFilter{NextToken: "!!!"}); !errors.Is(err, sandbox.ErrInvalid) {
		t.Errorf("garbage token: %v, want ErrInvalid", err)
	}

	// Pages of 3, both orders; a sandbox killed between pages does not shift the cursor.
	for _, descending := range []bool{false, true} {
		want := created
		if descending {
			want = rev
		}
		var got []string
		f := sandbox.ListFilter{Limit: 3, Descending: descending}
		for pages := 0; ; pages++ {
			page, next := list(f)
			if len(page) > 3 || pages > 5 {
				t.Fatalf("page %d: %v (pages so far %v)", pages, page, got)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			f.NextToken = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged (desc=%v): %v, want %v", descending, got, want)
		}
	}
	page1, next := list(sandbox.ListFilter{Limit: 3})
	if err := e.mgr.Kill(ctx, page1[2]); err != nil { // the cursor's own sandbox
		t.Fatal(err)
	}
	if err := e.mgr.Kill(ctx, created[0]); err != nil {
		t.Fatal(err)
	}
	page2, _ := list(sandbox.ListFilter{Limit: 3, NextToken: next})
	if !slices.Equal(page2, created[3:6]) {
		t.Errorf("page 2 after kills: %v, want %v", page2, created[3:6])
	}
}
