package filesystem

import (
	"context"
	"maps"
	"slices"
	"testing"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// listTree builds:
//
//	root/a.txt
//	root/sub/b.txt
//	root/sub/deep/c.txt
//	root/sub/deep/deeper/d.txt
//	root/to-sub -> sub      (not entered)
//	root/to-a -> a.txt
//	root/broken -> nowhere
func listTree(t *testing.T, h *harness) string {
	t.Helper()
	root := h.path("root")
	writeFile(t, h.path("root", "a.txt"), "a", 0o644)
	writeFile(t, h.path("root", "sub", "b.txt"), "b", 0o644)
	writeFile(t, h.path("root", "sub", "deep", "c.txt"), "c", 0o644)
	writeFile(t, h.path("root", "sub", "deep", "deeper", "d.txt"), "d", 0o644)
	symlink(t, "sub", h.path("root", "to-sub"))
	symlink(t, "a.txt", h.path("root", "to-a"))
	symlink(t, "nowhere", h.path("root", "broken"))
	return root
}

func listDir(t *testing.T, h *harness, path string, depth uint32) map[string]*filesystem.EntryInfo {
	t.Helper()
	res, err := h.client.ListDir(context.Background(), connect.NewRequest(&filesystem.ListDirRequest{Path: path, Depth: depth}))
	if err != nil {
		t.Fatalf("list %s depth %d: %v", path, depth, err)
	}
	out := map[string]*filesystem.EntryInfo{}
	for _, e := range res.Msg.GetEntries() {
		if _, dup := out[e.GetPath()]; dup {
			t.Errorf("%s listed twice", e.GetPath())
		}
		out[e.GetPath()] = e
	}
	return out
}

func TestListDirDepth(t *testing.T) {
	h := newHarness(t)
	root := listTree(t, h)
	level1 := []string{"a.txt", "broken", "sub", "to-a", "to-sub"}
	level2 := append(slices.Clone(level1), "sub/b.txt", "sub/deep")
	level3 := append(slices.Clone(level2), "sub/deep/c.txt", "sub/deep/deeper")
	tests := []struct {
		depth uint32
		want  []string
	}{
		{0, level1}, // the SDK's default is 1; 0 must not mean "nothing"
		{1, level1},
		{2, level2},
		{3, level3},
	}
	for _, tt := range tests {
		got := listDir(t, h, root, tt.depth)
		var want []string
		for _, rel := range tt.want {
			want = append(want, root+"/"+rel)
		}
		slices.Sort(want)
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
			t.Errorf("depth %d:\n got %v\nwant %v", tt.depth, keys, want)
		}
	}

	got := listDir(t, h, root, 1)
	wantTypes := map[string]filesystem.FileType{
		"a.txt":  filesystem.FileType_FILE_TYPE_FILE,
		"sub":    filesystem.FileType_FILE_TYPE_DIRECTORY,
		"to-a":   filesystem.FileType_FILE_TYPE_FILE,
		"to-sub": filesystem.FileType_FILE_TYPE_DIRECTORY,
		"broken": filesystem.FileType_FILE_TYPE_UNSPECIFIED,
	}
	for name, typ := range wantTypes {
		e := got[root+"/"+name]
		if e.GetName() != name || e.GetType() != typ {
			t.Errorf("%s: name, type = %q, %v; want %q, %v", name, e.GetName(), e.GetType(), name, typ)
		}
	}
	if got[root+"/to-sub"].GetSymlinkTarget() != root+"/sub" {
		t.Errorf("to-sub target = %q, want %q", got[root+"/to-sub"].GetSymlinkTarget(), root+"/sub")
	}
}

func TestListDirThroughSymlink(t *testing.T) {
	h := newHarness(t)
	listTree(t, h)
	link := h.path("link-to-root")
	symlink(t, h.path("root"), link)
	got := listDir(t, h, link, 2)
	for _, rel := range []string{"a.txt", "sub", "sub/b.txt"} {
		if e, ok := got[link+"/"+rel]; !ok {
			t.Errorf("%s/%s missing; got %v", link, rel, slices.Sorted(maps.Keys(got)))
		} else if want := link + "/" + rel; e.GetPath() != want {
			t.Errorf("path = %q, want the requested spelling %q", e.GetPath(), want)
		}
	}
}

func TestListDirErrors(t *testing.T) {
	h := newHarness(t)
	writeFile(t, h.path("file"), "", 0o644)
	symlink(t, "file", h.path("to-file"))
	symlink(t, "nowhere", h.path("broken"))
	tests := []struct {
		path string
		code connect.Code
	}{
		{h.path("missing"), connect.CodeNotFound},
		{h.path("broken"), connect.CodeNotFound},
		{h.path("file"), connect.CodeInvalidArgument},
		{h.path("to-file"), connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		_, err := h.client.ListDir(context.Background(), connect.NewRequest(&filesystem.ListDirRequest{Path: tt.path, Depth: 1}))
		wantCode(t, err, tt.code)
	}
}

func TestListDirEmpty(t *testing.T) {
	h := newHarness(t)
	mkdirs(t, h.path("empty"))
	if got := listDir(t, h, h.path("empty"), 1); len(got) != 0 {
		t.Errorf("empty directory listed %v", got)
	}
}
