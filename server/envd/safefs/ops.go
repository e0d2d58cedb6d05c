package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// raceRetries is how often an open retries when the last component turned into a symlink between
// its resolution and the open (a racing process); after that the request fails.
const raceRetries = 8

// OpenFile opens the absolute path p as c with flags (O_CREAT creates the file as c, mode perm before
// umask). Trusted symlinks are followed, also in the last component; with mkdirParents, missing parent
// directories are created (0755 before umask) as c.
func OpenFile(c Creds, p string, flags int, perm uint32, mkdirParents bool) (*os.File, error) {
	var f *os.File
	err := AsUser(c, func() error {
		r := resolver{uid: c.UID}
		for range raceRetries {
			dir, name, err := r.parent(p, mkdirParents, 0o755, true)
			if err != nil {
				return err
			}
			fd, err := openat2(dir, name, uint64(flags)|unix.O_NOFOLLOW, uint64(perm))
			unix.Close(dir)
			if errors.Is(err, unix.ELOOP) {
				continue // the name became a symlink after it was resolved: resolve it again
			}
			if err != nil {
				return &fs.PathError{Op: "open", Path: p, Err: err}
			}
			f = os.NewFile(uintptr(fd), p)
			return nil
		}
		return &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("the path kept changing while it was opened: %w", unix.ELOOP)}
	})
	return f, err
}

// MkdirAll creates the directory p and its missing parents (mode perm before umask) as c. An existing
// directory is an error matching fs.ErrExist; an existing other file, one matching unix.ENOTDIR.
func MkdirAll(c Creds, p string, perm uint32) error {
	return AsUser(c, func() error {
		r := resolver{uid: c.UID}
		dir, name, err := r.parent(p, true, perm, true)
		if err != nil {
			return err
		}
		defer unix.Close(dir)
		err = unix.Mkdirat(dir, name, perm)
		if errors.Is(err, unix.EEXIST) {
			var st unix.Stat_t
			if serr := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); serr == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return &fs.PathError{Op: "mkdir", Path: p, Err: unix.ENOTDIR}
			}
		}
		if err != nil {
			return &fs.PathError{Op: "mkdir", Path: p, Err: err}
		}
		return nil
	})
}

// Rename moves src to dst as c, creating dst's missing parents. Neither last component is followed:
// a symlink is moved, or replaced, as itself.
func Rename(c Creds, src, dst string) error {
	return AsUser(c, func() error {
		r := resolver{uid: c.UID}
		sdir, sname, err := r.parent(src, false, 0, false)
		if err != nil {
			return err
		}
		defer unix.Close(sdir)
		var st unix.Stat_t
		if err := unix.Fstatat(sdir, sname, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "stat", Path: src, Err: err}
		}
		ddir, dname, err := r.parent(dst, true, 0o755, false)
		if err != nil {
			return err
		}
		defer unix.Close(ddir)
		if err := unix.Renameat(sdir, sname, ddir, dname); err != nil {
			return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
		}
		return nil
	})
}

// RemoveAll removes p and, if it is a directory, everything below it, as c. The last component is
// not followed (a symlink is removed, not its target) and nothing below p is reached by path, so a
// racing rename cannot move the removal elsewhere. A missing p is not an error.
func RemoveAll(c Creds, p string) error {
	return AsUser(c, func() error {
		r := resolver{uid: c.UID}
		dir, name, err := r.parent(p, false, 0, false)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer unix.Close(dir)
		if name == "." || name == ".." {
			return &fs.PathError{Op: "remove", Path: p, Err: unix.EBUSY}
		}
		if err := removeAt(dir, name); err != nil && !errors.Is(err, unix.ENOENT) {
			return &fs.PathError{Op: "remove", Path: p, Err: err}
		}
		return nil
	})
}

func removeAt(dir int, name string) error {
	err := unix.Unlinkat(dir, name, 0)
	if err == nil || !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, oerr := openat2(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if oerr != nil {
		if errors.Is(oerr, unix.ENOTDIR) {
			return err // not a directory after all: the unlink error stands
		}
		return oerr
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	// Read everything, remove it, and read again until the directory is empty: removing entries
	// while reading them can make a directory stream skip some.
	for {
		names, err := d.Readdirnames(-1)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			break
		}
		for _, n := range names {
			if err := removeAt(fd, n); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
		if _, err := d.Seek(0, 0); err != nil {
			return err
		}
	}
	return unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
}
