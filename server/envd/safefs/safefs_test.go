package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nobody acts as an unprivileged sandbox user.
var nobody = Creds{UID: 65534, GID: 65534}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests switch to other users and own files as them, as envd does: run them as root")
	}
}

// tree makes a directory every user can enter, with a file only root can read or write.
func tree(t *testing.T) (dir, secret string) {
	t.Helper()
	dir = t.TempDir()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if d == os.TempDir() {
			break
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret = filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, secret
}

// userDir makes a directory owned by c below dir.
func userDir(t *testing.T, dir string, c Creds) string {
	t.Helper()
	d := filepath.Join(dir, "home")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, int(c.UID), int(c.GID)); err != nil {
		t.Fatal(err)
	}
	return d
}

// symlinkAs makes a symlink owned by c.
func symlinkAs(t *testing.T, target, link string, c Creds) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, int(c.UID), int(c.GID)); err != nil {
		t.Fatal(err)
	}
}

func owner(t *testing.T, p string) uint32 {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Uid
}

func TestOpenFollowsTrustedSymlinks(t *testing.T) {
	needRoot(t)
	dir, _ := tree(t)
	home := userDir(t, dir, nobody)
	if err := os.MkdirAll(filepath.Join(dir, "real/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real/sub/f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Root's links, relative ones with "..", absolute ones and chains all resolve like the kernel's.
	symlinkAs(t, "real", filepath.Join(dir, "rel"), Creds{})
	symlinkAs(t, "../real/sub", filepath.Join(dir, "real/up"), Creds{})
	symlinkAs(t, filepath.Join(dir, "rel/up/f"), filepath.Join(dir, "abs"), Creds{})
	// The user's own links, for the user.
	symlinkAs(t, "../real/sub/f", filepath.Join(home, "mine"), nobody)
	for _, tc := range []struct {
		c Creds
		p string
	}{
		{Creds{}, filepath.Join(dir, "rel/sub/f")},
		{Creds{}, filepath.Join(dir, "real/up/f")},
		{Creds{}, filepath.Join(dir, "abs")},
		{Creds{}, filepath.Join(dir, "real/sub/../sub/f")},
		{nobody, filepath.Join(home, "mine")},
		{nobody, filepath.Join(dir, "abs")},
	} {
		f, err := OpenFile(tc.c, tc.p, unix.O_RDONLY, 0, false)
		if err != nil {
			t.Errorf("open %s as uid %d: %v", tc.p, tc.c.UID, err)
			continue
		}
		b := make([]byte, 4)
		if n, _ := f.Read(b); string(b[:n]) != "x" {
			t.Errorf("open %s: read %q", tc.p, b[:n])
		}
		f.Close()
	}
}

func TestRootRefusesUserSymlinks(t *testing.T) {
	needRoot(t)
	dir, secret := tree(t)
	home := userDir(t, dir, nobody)
	symlinkAs(t, secret, filepath.Join(home, "last"), nobody)
	symlinkAs(t, dir, filepath.Join(home, "middle"), nobody)
	for _, p := range []string{filepath.Join(home, "last"), filepath.Join(home, "middle/secret")} {
		_, err := OpenFile(Creds{}, p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644, false)
		if !errors.Is(err, ErrUntrustedSymlink) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("root opened %s through nobody's link: err = %v", p, err)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "root only" {
		t.Fatalf("secret changed to %q", b)
	}
	// Move and remove do not follow the last component: root may move or remove the user's link.
	if err := Rename(Creds{}, filepath.Join(home, "last"), filepath.Join(home, "moved")); err != nil {
		t.Fatalf("rename the user's link: %v", err)
	}
	if err := RemoveAll(Creds{}, filepath.Join(home, "moved")); err != nil {
		t.Fatalf("remove the user's link: %v", err)
	}
	if _, err := os.Stat(secret); err != nil {
		t.Fatalf("the link's target went with it: %v", err)
	}
}

func TestUserCredentials(t *testing.T) {
	needRoot(t)
	dir, secret := tree(t)
	home := userDir(t, dir, nobody)
	if _, err := OpenFile(nobody, secret, unix.O_RDONLY, 0, false); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("nobody read a root-only file: err = %v", err)
	}
	if _, err := OpenFile(nobody, secret, unix.O_WRONLY|unix.O_TRUNC, 0, false); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("nobody truncated a root-only file: err = %v", err)
	}
	if _, err := OpenFile(nobody, filepath.Join(dir, "new"), unix.O_WRONLY|unix.O_CREAT, 0o644, false); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("nobody created a file in root's directory: err = %v", err)
	}
	if err := RemoveAll(nobody, secret); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("nobody removed root's file: err = %v", err)
	}
	if err := Rename(nobody, secret, filepath.Join(home, "stolen")); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("nobody moved root's file: err = %v", err)
	}

	// What nobody makes is nobody's, parents included, without a chown that could be redirected.
	f, err := OpenFile(nobody, filepath.Join(home, "a/b/file"), unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := MkdirAll(nobody, filepath.Join(home, "c/d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "a/b", "a/b/file", "c", "c/d"} {
		if uid := owner(t, filepath.Join(home, p)); uid != nobody.UID {
			t.Errorf("%s owned by uid %d, want %d", p, uid, nobody.UID)
		}
	}
	if err := MkdirAll(nobody, filepath.Join(home, "c/d"), 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("MkdirAll of an existing directory: err = %v, want ErrExist", err)
	}
	if err := MkdirAll(nobody, filepath.Join(home, "a/b/file"), 0o755); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("MkdirAll over a file: err = %v, want ENOTDIR", err)
	}
	if err := RemoveAll(nobody, filepath.Join(home, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(home, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a still there: %v", err)
	}

	// The thread went back to root: root still reads the secret.
	for range 4 {
		f, err := OpenFile(Creds{}, secret, unix.O_RDONLY, 0, false)
		if err != nil {
			t.Fatalf("root after nobody: %v", err)
		}
		f.Close()
	}
}

func TestRemoveAllStaysBelow(t *testing.T) {
	needRoot(t)
	dir, secret := tree(t)
	victim := filepath.Join(dir, "victim")
	if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "gone")
	if err := os.MkdirAll(filepath.Join(gone, "x/y"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlinkAs(t, victim, filepath.Join(gone, "x/link"), Creds{})
	symlinkAs(t, secret, filepath.Join(gone, "x/y/file-link"), Creds{})
	if err := RemoveAll(Creds{}, gone); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(victim, "keep"), secret} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed through a link: %v", p, err)
		}
	}
	if err := RemoveAll(Creds{}, filepath.Join(dir, "missing/deeper")); err != nil {
		t.Errorf("remove a missing path: %v", err)
	}
}

// TestSymlinkRace flips a name between a file and a link to a root-only file (and a directory name
// between a directory and a link to root's directory) while uploads open it as root and as the user:
// none may write the secret.
func TestSymlinkRace(t *testing.T) {
	needRoot(t)
	dir, secret := tree(t)
	home := userDir(t, dir, nobody)
	target := filepath.Join(home, "target")
	sub := filepath.Join(home, "sub")
	if err := os.Mkdir(filepath.Join(dir, "rootdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "rootdir/file")
	if err := os.WriteFile(rootFile, []byte("root only"), 0o644); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	flip := func(name, linkTo string, asDir bool) {
		defer wg.Done()
		tmp := name + ".tmp"
		for !stop.Load() {
			_ = os.RemoveAll(tmp)
			if err := os.Symlink(linkTo, tmp); err == nil {
				_ = os.Lchown(tmp, int(nobody.UID), int(nobody.GID))
				_ = os.Rename(tmp, name)
			}
			_ = os.RemoveAll(tmp)
			if asDir {
				_ = os.Mkdir(tmp, 0o777)
			} else {
				_ = os.WriteFile(tmp, nil, 0o666)
			}
			_ = os.Chown(tmp, int(nobody.UID), int(nobody.GID))
			_ = os.RemoveAll(name)
			_ = os.Rename(tmp, name)
		}
	}
	wg.Add(2)
	go flip(target, secret, false)
	go flip(sub, filepath.Join(dir, "rootdir"), true)

	const rounds = 2000
	opened := 0
	for i := range rounds {
		c := Creds{}
		if i%2 == 1 {
			c = nobody
		}
		for _, p := range []string{target, filepath.Join(sub, "file")} {
			f, err := OpenFile(c, p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644, false)
			if err != nil {
				continue
			}
			opened++
			_, _ = f.WriteString("pwned")
			f.Close()
		}
	}
	stop.Store(true)
	wg.Wait()
	for _, p := range []string{secret, rootFile} {
		if b, _ := os.ReadFile(p); string(b) != "root only" {
			t.Errorf("%s was written through a racing symlink: %q", p, b)
		}
	}
	if opened == 0 {
		t.Error("no open succeeded: the race never gave the file a chance")
	}
	t.Logf("%d of %d opens succeeded while the names flipped", opened, 2*rounds)
}
