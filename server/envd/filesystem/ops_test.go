package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

func TestMakeDir(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := h.path("a", "b", "c")
	res, err := h.client.MakeDir(ctx, connect.NewRequest(&filesystem.MakeDirRequest{Path: p}))
	if err != nil {
		t.Fatalf("make %s: %v", p, err)
	}
	e := res.Msg.GetEntry()
	if e.GetPath() != p || e.GetName() != "c" || e.GetType() != filesystem.FileType_FILE_TYPE_DIRECTORY {
		t.Errorf("entry = %v, want directory %s", e, p)
	}
	if info, err := os.Stat(p); err != nil || !info.IsDir() {
		t.Fatalf("%s not created: %v", p, err)
	}

	_, err = h.client.MakeDir(ctx, connect.NewRequest(&filesystem.MakeDirRequest{Path: p}))
	wantCode(t, err, connect.CodeAlreadyExists)

	writeFile(t, h.path("file"), "", 0o644)
	_, err = h.client.MakeDir(ctx, connect.NewRequest(&filesystem.MakeDirRequest{Path: h.path("file")}))
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = h.client.MakeDir(ctx, connect.NewRequest(&filesystem.MakeDirRequest{Path: h.path("file", "sub")}))
	wantCode(t, err, connect.CodeInvalidArgument)
}

func TestMakeDirOwnedByUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test checks ownership of directories made for another user and needs root, as envd runs")
	}
	h := newHarness(t)
	if err := os.Chmod(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := h.path("nob", "inner")
	res, err := h.client.MakeDir(context.Background(), asUser(connect.NewRequest(&filesystem.MakeDirRequest{Path: p}), "nobody"))
	if err != nil {
		t.Fatalf("make %s as nobody: %v", p, err)
	}
	if got := res.Msg.GetEntry().GetOwner(); got != "nobody" {
		t.Errorf("entry owner = %q, want nobody", got)
	}
	for _, d := range []string{h.path("nob"), p} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if uid := info.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
			t.Errorf("%s owned by uid %d, want nobody (65534)", d, uid)
		}
	}
	if uid := mustOwner(t, h.dir); uid != 0 {
		t.Errorf("existing parent %s changed owner to %d", h.dir, uid)
	}
}

func mustOwner(t *testing.T, path string) uint32 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Uid
}

func TestMove(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	src, dst := h.path("src.txt"), h.path("new", "parents", "dst.txt")
	writeFile(t, src, "moved", 0o644)

	res, err := h.client.Move(ctx, connect.NewRequest(&filesystem.MoveRequest{Source: src, Destination: dst}))
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if e := res.Msg.GetEntry(); e.GetPath() != dst || e.GetName() != "dst.txt" || e.GetSize() != 5 || e.GetType() != filesystem.FileType_FILE_TYPE_FILE {
		t.Errorf("entry = %v, want file %s", e, dst)
	}
	if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source still there: %v", err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "moved" {
		t.Errorf("destination = %q, %v", b, err)
	}

	_, err = h.client.Move(ctx, connect.NewRequest(&filesystem.MoveRequest{Source: src, Destination: h.path("x")}))
	wantCode(t, err, connect.CodeNotFound)

	// A directory cannot replace a file.
	mkdirs(t, h.path("dir"))
	_, err = h.client.Move(ctx, connect.NewRequest(&filesystem.MoveRequest{Source: h.path("dir"), Destination: dst}))
	wantCode(t, err, connect.CodeInvalidArgument)
}

func TestMoveDirectory(t *testing.T) {
	h := newHarness(t)
	writeFile(t, h.path("tree", "sub", "f"), "x", 0o644)
	res, err := h.client.Move(context.Background(), connect.NewRequest(&filesystem.MoveRequest{Source: h.path("tree"), Destination: h.path("moved")}))
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if res.Msg.GetEntry().GetType() != filesystem.FileType_FILE_TYPE_DIRECTORY {
		t.Errorf("entry = %v, want a directory", res.Msg.GetEntry())
	}
	if _, err := os.Stat(h.path("moved", "sub", "f")); err != nil {
		t.Errorf("tree not moved: %v", err)
	}
}

func TestRemove(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	writeFile(t, h.path("file"), "", 0o644)
	writeFile(t, h.path("tree", "a", "b", "c"), "", 0o644)
	symlink(t, h.path("tree"), h.path("link"))

	for _, p := range []string{h.path("file"), h.path("link"), h.path("tree"), h.path("missing"), h.path("file", "below")} {
		if _, err := h.client.Remove(ctx, connect.NewRequest(&filesystem.RemoveRequest{Path: p})); err != nil {
			t.Errorf("remove %s: %v", p, err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("%s still there: %v", p, err)
		}
		if p == h.path("link") {
			if _, err := os.Stat(h.path("tree", "a", "b", "c")); err != nil {
				t.Errorf("removing a link removed what it points to: %v", err)
			}
		}
	}
	entries, err := os.ReadDir(h.dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("directory left with %v, %v", entries, err)
	}
}
