package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
	openToAll(t, h.dir)
	// The user makes directories where it may, as itself: in a directory of its own.
	home := h.path("home")
	writeDirOwned(t, home, 65534)
	p := filepath.Join(home, "nob", "inner")
	res, err := h.client.MakeDir(context.Background(), asUser(connect.NewRequest(&filesystem.MakeDirRequest{Path: p}), "nobody"))
	if err != nil {
		t.Fatalf("make %s as nobody: %v", p, err)
	}
	if got := res.Msg.GetEntry().GetOwner(); got != "nobody" {
		t.Errorf("entry owner = %q, want nobody", got)
	}
	for _, d := range []string{filepath.Join(home, "nob"), p} {
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

// TestUserOpsHaveUserPermissions: envd is root, but what it does for a user the user must be allowed
// to do, and root does not follow a symlink the user planted.
func TestUserOpsHaveUserPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test acts as another user and needs root, as envd runs")
	}
	h := newHarness(t)
	openToAll(t, h.dir)
	ctx := context.Background()
	rootFile := h.path("root-file")
	writeFile(t, rootFile, "root", 0o644)
	home := h.path("home")
	writeDirOwned(t, home, 65534)

	_, err := h.client.MakeDir(ctx, asUser(connect.NewRequest(&filesystem.MakeDirRequest{Path: h.path("rootdir")}), "nobody"))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = h.client.Remove(ctx, asUser(connect.NewRequest(&filesystem.RemoveRequest{Path: rootFile}), "nobody"))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = h.client.Move(ctx, asUser(connect.NewRequest(&filesystem.MoveRequest{Source: rootFile, Destination: filepath.Join(home, "stolen")}), "nobody"))
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := os.Stat(rootFile); err != nil {
		t.Fatalf("root's file is gone: %v", err)
	}
	private := h.path("private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(private, "inside"), "x", 0o644)
	_, err = h.client.Stat(ctx, asUser(connect.NewRequest(&filesystem.StatRequest{Path: filepath.Join(private, "inside")}), "nobody"))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = h.client.ListDir(ctx, asUser(connect.NewRequest(&filesystem.ListDirRequest{Path: private}), "nobody"))
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := h.client.ListDir(ctx, asUser(connect.NewRequest(&filesystem.ListDirRequest{Path: private}), "root")); err != nil {
		t.Errorf("root lists its own directory: %v", err)
	}

	// A link nobody owns, into root's directory: root does not create through it.
	link := filepath.Join(home, "to-root")
	if err := os.Symlink(h.dir, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.MakeDir(ctx, asUser(connect.NewRequest(&filesystem.MakeDirRequest{Path: filepath.Join(link, "planted")}), "root"))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = h.client.Move(ctx, asUser(connect.NewRequest(&filesystem.MoveRequest{Source: rootFile, Destination: filepath.Join(link, "moved")}), "root"))
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := os.Lstat(h.path("planted")); err == nil {
		t.Fatal("root made a directory through nobody's link")
	}
}

// openToAll lets every user through dir and its parents up to the temp directory.
func openToAll(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func writeDirOwned(t *testing.T, dir string, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
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
