package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

func stat(t *testing.T, h *harness, path string) (*filesystem.EntryInfo, error) {
	t.Helper()
	res, err := h.client.Stat(context.Background(), connect.NewRequest(&filesystem.StatRequest{Path: path}))
	if err != nil {
		return nil, err
	}
	if res.Msg.GetEntry() == nil {
		t.Fatalf("stat %s: response without entry", path)
	}
	return res.Msg.GetEntry(), nil
}

func mustStat(t *testing.T, h *harness, path string) *filesystem.EntryInfo {
	t.Helper()
	e, err := stat(t, h, path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return e
}

func TestStatFile(t *testing.T) {
	h := newHarness(t)
	p := h.path("a.txt")
	writeFile(t, p, "hello", 0o644)
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	group, err := user.LookupGroupId(h.me.Gid)
	if err != nil {
		t.Fatal(err)
	}

	e := mustStat(t, h, p)
	if e.GetName() != "a.txt" || e.GetPath() != p {
		t.Errorf("name, path = %q, %q; want a.txt, %q", e.GetName(), e.GetPath(), p)
	}
	if e.GetType() != filesystem.FileType_FILE_TYPE_FILE {
		t.Errorf("type = %v, want FILE", e.GetType())
	}
	if e.GetSize() != 5 || e.GetMode() != 0o644 || e.GetPermissions() != "-rw-r--r--" {
		t.Errorf("size, mode, permissions = %d, %o, %q; want 5, 644, -rw-r--r--", e.GetSize(), e.GetMode(), e.GetPermissions())
	}
	if e.GetOwner() != h.me.Username || e.GetGroup() != group.Name {
		t.Errorf("owner, group = %q, %q; want %q, %q", e.GetOwner(), e.GetGroup(), h.me.Username, group.Name)
	}
	if !e.GetModifiedTime().AsTime().Equal(info.ModTime()) {
		t.Errorf("modifiedTime = %v, want %v", e.GetModifiedTime().AsTime(), info.ModTime())
	}
	if e.SymlinkTarget != nil || len(e.GetMetadata()) != 0 {
		t.Errorf("symlinkTarget, metadata = %v, %v; want none", e.SymlinkTarget, e.GetMetadata())
	}
}

func TestStatDirectory(t *testing.T) {
	h := newHarness(t)
	p := h.path("d")
	mkdirs(t, p)
	if err := os.Chmod(p, 0o750); err != nil {
		t.Fatal(err)
	}
	e := mustStat(t, h, p)
	if e.GetType() != filesystem.FileType_FILE_TYPE_DIRECTORY || e.GetMode() != 0o750 || e.GetPermissions() != "drwxr-x---" {
		t.Errorf("type, mode, permissions = %v, %o, %q; want DIRECTORY, 750, drwxr-x---", e.GetType(), e.GetMode(), e.GetPermissions())
	}
}

func TestStatSymlinks(t *testing.T) {
	h := newHarness(t)
	writeFile(t, h.path("file"), "content", 0o640)
	mkdirs(t, h.path("dir"))
	symlink(t, "file", h.path("to-file")) // relative target: reported resolved and absolute
	symlink(t, h.path("dir"), h.path("to-dir"))
	symlink(t, "nowhere", h.path("broken"))

	tests := []struct {
		link, target string
		typ          filesystem.FileType
		mode         uint32
	}{
		{"to-file", h.path("file"), filesystem.FileType_FILE_TYPE_FILE, 0o640},
		{"to-dir", h.path("dir"), filesystem.FileType_FILE_TYPE_DIRECTORY, 0o755},
		{"broken", "nowhere", filesystem.FileType_FILE_TYPE_UNSPECIFIED, 0o777},
	}
	for _, tt := range tests {
		t.Run(tt.link, func(t *testing.T) {
			p := h.path(tt.link)
			linkText, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			e := mustStat(t, h, p)
			if e.GetName() != tt.link || e.GetPath() != p {
				t.Errorf("name, path = %q, %q; want %q, %q", e.GetName(), e.GetPath(), tt.link, p)
			}
			if e.GetType() != tt.typ || e.GetMode() != tt.mode {
				t.Errorf("type, mode = %v, %o; want %v, %o", e.GetType(), e.GetMode(), tt.typ, tt.mode)
			}
			// The link itself: its own size and permissions.
			if e.GetPermissions() != "Lrwxrwxrwx" || e.GetSize() != int64(len(linkText)) {
				t.Errorf("permissions, size = %q, %d; want Lrwxrwxrwx, %d", e.GetPermissions(), e.GetSize(), len(linkText))
			}
			if e.SymlinkTarget == nil || e.GetSymlinkTarget() != tt.target {
				t.Errorf("symlinkTarget = %v, want %q", e.SymlinkTarget, tt.target)
			}
		})
	}
}

func TestStatNotFound(t *testing.T) {
	h := newHarness(t)
	writeFile(t, h.path("file"), "", 0o644)
	for _, p := range []string{h.path("missing"), h.path("file", "below-a-file")} {
		_, err := stat(t, h, p)
		wantCode(t, err, connect.CodeNotFound)
		if want := "path '" + p + "' does not exist"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestStatMetadata(t *testing.T) {
	h := newHarness(t)
	p := filepath.Join(xattrDir(t), "with-metadata")
	writeFile(t, p, "x", 0o644)
	for k, v := range map[string]string{"owner": "alice", "purpose": "test"} {
		if err := unix.Lsetxattr(p, sandboxenv.MetadataPrefix+k, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Lsetxattr(p, "user.other", []byte("ignored"), 0); err != nil {
		t.Fatal(err)
	}
	got := mustStat(t, h, p).GetMetadata()
	if len(got) != 2 || got["owner"] != "alice" || got["purpose"] != "test" {
		t.Errorf("metadata = %v, want owner=alice purpose=test", got)
	}
}

func TestStatPathResolution(t *testing.T) {
	h := newHarness(t)
	mkdirs(t, h.path("a"), h.path("b"))
	u, err := h.env.LookupUser("")
	if err != nil {
		t.Fatal(err)
	}

	if got := mustStat(t, h, h.dir+"/a/../b").GetPath(); got != h.path("b") {
		t.Errorf("path of <tmp>/a/../b = %q, want %q", got, h.path("b"))
	}
	if got := mustStat(t, h, "").GetPath(); got != h.dir {
		t.Errorf("empty path = %q, want the default workdir %q", got, h.dir)
	}
	if got := mustStat(t, h, "~").GetPath(); got != u.Home {
		t.Errorf("~ = %q, want home %q", got, u.Home)
	}
	// A relative path is the user's home joined with it.
	rel := "envd-fs-test-" + filepath.Base(filepath.Dir(h.dir)) // unique per run
	want, err := h.env.ResolvePath(rel, u)
	if err != nil {
		t.Fatal(err)
	}
	if want != filepath.Join(u.Home, rel) {
		t.Fatalf("ResolvePath(%q) = %q, want it under the home %q", rel, want, u.Home)
	}
	t.Cleanup(func() { os.RemoveAll(want) })
	res, err := h.client.MakeDir(context.Background(), connect.NewRequest(&filesystem.MakeDirRequest{Path: rel}))
	if err != nil {
		t.Fatalf("make relative dir: %v", err)
	}
	if got := res.Msg.GetEntry().GetPath(); got != want {
		t.Errorf("relative path %q made %q, want %q", rel, got, want)
	}
	if got := mustStat(t, h, rel).GetPath(); got != want {
		t.Errorf("stat of relative path = %q, want %q", got, want)
	}

	_, err = stat(t, h, "~someone-else/x")
	wantCode(t, err, connect.CodeInvalidArgument)
}

func TestUnknownUser(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const who = "no-such-user-here"
	calls := map[string]func() error{
		"Stat": func() error {
			_, err := h.client.Stat(ctx, asUser(connect.NewRequest(&filesystem.StatRequest{Path: h.dir}), who))
			return err
		},
		"ListDir": func() error {
			_, err := h.client.ListDir(ctx, asUser(connect.NewRequest(&filesystem.ListDirRequest{Path: h.dir}), who))
			return err
		},
		"MakeDir": func() error {
			_, err := h.client.MakeDir(ctx, asUser(connect.NewRequest(&filesystem.MakeDirRequest{Path: h.path("x")}), who))
			return err
		},
		"Move": func() error {
			_, err := h.client.Move(ctx, asUser(connect.NewRequest(&filesystem.MoveRequest{Source: h.dir, Destination: h.path("y")}), who))
			return err
		},
		"Remove": func() error {
			_, err := h.client.Remove(ctx, asUser(connect.NewRequest(&filesystem.RemoveRequest{Path: h.dir}), who))
			return err
		},
		"CreateWatcher": func() error {
			_, err := h.client.CreateWatcher(ctx, asUser(connect.NewRequest(&filesystem.CreateWatcherRequest{Path: h.dir}), who))
			return err
		},
		"WatchDir": func() error {
			stream, err := h.client.WatchDir(ctx, asUser(connect.NewRequest(&filesystem.WatchDirRequest{Path: h.dir}), who))
			if err != nil {
				return err
			}
			defer stream.Close()
			for stream.Receive() {
			}
			return stream.Err()
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			wantCode(t, err, connect.CodeUnauthenticated)
			if !strings.Contains(err.Error(), "invalid username: '"+who+"'") {
				t.Errorf("error %q does not name the user", err)
			}
		})
	}
	if _, err := os.Stat(h.path("x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a request with an unknown user changed the filesystem: %v", err)
	}
}

func TestEntryInfoExported(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeFile(t, p, "abc", 0o600)
	e, err := EntryInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	if e.GetName() != "f" || e.GetPath() != p || e.GetSize() != 3 || e.GetMode() != 0o600 || e.GetType() != filesystem.FileType_FILE_TYPE_FILE {
		t.Errorf("EntryInfo = %v", e)
	}
	if _, err := EntryInfo(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("EntryInfo of a missing path: err = %v, want fs.ErrNotExist", err)
	}
}
