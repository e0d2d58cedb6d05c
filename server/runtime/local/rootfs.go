package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// defaultHidden are root-filesystem paths a sandbox must not see: the host's home directories (and the
// credentials in them), its temporary files, its profile scripts (replaced by lean ones) and the
// machine's SSH host keys. Directories become empty, files disappear; each sandbox can then create its
// own in its upper layer.
var defaultHidden = []string{
	"/root",
	"/home",
	"/tmp",
	"/var/tmp",
	"/etc/profile.d",
	"/etc/ssh/ssh_host_*",
}

// overlayOpaque marks an upper directory whose lower counterpart overlayfs must not merge in.
const overlayOpaque = "trusted.overlay.opaque"

// rootfs writes a sandbox's upper layer on top of a lower root directory.
type rootfs struct {
	lower string // the read-only lower layer ("/" by default)
	upper string
}

// prepare fills the upper layer before the overlay is mounted: hidden paths, the sandbox user's
// account and home, lean profiles, and the sandbox's host name.
func (r rootfs) prepare(id string, hidden []string) (account, error) {
	for _, pattern := range hidden {
		matches, err := filepath.Glob(filepath.Join(r.lower, pattern))
		if err != nil {
			return account{}, fmt.Errorf("hide %s: %w", pattern, err)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(r.lower, m)
			if err != nil {
				return account{}, fmt.Errorf("hide %s: %w", m, err)
			}
			if err := r.hide(rel); err != nil {
				return account{}, fmt.Errorf("hide /%s: %w", rel, err)
			}
		}
	}

	passwd, err := os.ReadFile(filepath.Join(r.lower, "etc/passwd"))
	if err != nil {
		return account{}, fmt.Errorf("read root's passwd: %w", err)
	}
	group, err := os.ReadFile(filepath.Join(r.lower, "etc/group"))
	if err != nil {
		return account{}, fmt.Errorf("read root's group: %w", err)
	}
	accts, err := makeAccounts(string(passwd), string(group))
	if err != nil {
		return account{}, err
	}
	shadowGID := 0
	if i := indexOf(parseDB(accts.group, 4), "shadow"); i >= 0 {
		_, _ = fmt.Sscan(parseDB(accts.group, 4)[i][2], &shadowGID)
	}
	root, user := account{}, accts.user
	files := []struct {
		path, content string
		mode          os.FileMode
		owner         account
		gid           int
	}{
		{"etc/passwd", accts.passwd, 0o644, root, 0},
		{"etc/group", accts.group, 0o644, root, 0},
		{"etc/shadow", accts.shadow, 0o640, root, shadowGID},
		{"etc/gshadow", accts.gshadow, 0o640, root, shadowGID},
		{"etc/hostname", id + "\n", 0o644, root, 0},
		{"etc/hosts", "127.0.0.1\tlocalhost " + id + "\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644, root, 0},
		{"etc/profile", etcProfile, 0o644, root, 0},
		{"etc/bash.bashrc", etcBashrc, 0o644, root, 0},
		{"root/.profile", homeProfile, 0o644, root, 0},
		{"root/.bashrc", homeBashrc, 0o644, root, 0},
		{"home/user/.profile", homeProfile, 0o644, user, user.GID},
		{"home/user/.bashrc", homeBashrc, 0o644, user, user.GID},
	}
	// The homes first, with their own modes, so that writing the files below does not create them with
	// the attributes of a parent.
	if err := r.mkdir("root", 0o700, root.UID, root.GID); err != nil {
		return account{}, err
	}
	if err := r.mkdir("home/user", 0o755, user.UID, user.GID); err != nil {
		return account{}, err
	}
	for _, f := range files {
		if err := r.writeFile(f.path, f.content, f.mode, f.owner.UID, f.gid); err != nil {
			return account{}, err
		}
	}
	return user, nil
}

// hide makes /rel invisible: an opaque empty directory for a directory, a whiteout for anything else.
// A symbolic link in the lower layer is hidden as a whole, not followed.
func (r rootfs) hide(rel string) error {
	fi, err := os.Lstat(filepath.Join(r.lower, rel))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := r.mkdirAll(filepath.Dir(rel)); err != nil {
		return err
	}
	dst := filepath.Join(r.upper, rel)
	if !fi.IsDir() {
		// A whiteout is a 0:0 character device in the upper layer.
		if err := unix.Mknod(dst, unix.S_IFCHR, 0); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("whiteout %s: %w", dst, err)
		}
		return nil
	}
	if err := r.copyDir(rel, fi); err != nil {
		return err
	}
	if err := unix.Setxattr(dst, overlayOpaque, []byte("y"), 0); err != nil {
		return fmt.Errorf("mark %s opaque: %w", dst, err)
	}
	return nil
}

// mkdirAll creates /rel and its parents in the upper layer with the owners and modes they have in the
// lower one: overlayfs shows a merged directory with the upper directory's attributes.
func (r rootfs) mkdirAll(rel string) error {
	if rel == "." || rel == "/" || rel == "" {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(r.upper, rel)); err == nil {
		return nil
	}
	if err := r.mkdirAll(filepath.Dir(rel)); err != nil {
		return err
	}
	fi, err := os.Lstat(filepath.Join(r.lower, rel))
	switch {
	case err == nil && fi.IsDir():
		return r.copyDir(rel, fi)
	case err == nil:
		return fmt.Errorf("/%s is not a directory in the root filesystem", rel)
	case errors.Is(err, fs.ErrNotExist):
		return r.mkdir(rel, 0o755, 0, 0)
	default:
		return err
	}
}

// copyDir creates /rel in the upper layer with the attributes of its lower counterpart fi.
func (r rootfs) copyDir(rel string, fi fs.FileInfo) error {
	uid, gid := 0, 0
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		uid, gid = int(st.Uid), int(st.Gid)
	}
	return r.mkdir(rel, fi.Mode(), uid, gid)
}

// mkdir creates one directory of the upper layer with exactly mode (sticky and setgid bits included).
func (r rootfs) mkdir(rel string, mode os.FileMode, uid, gid int) error {
	if err := r.mkdirAll(filepath.Dir(rel)); err != nil {
		return err
	}
	dst := filepath.Join(r.upper, rel)
	if err := os.Mkdir(dst, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if err := os.Lchown(dst, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := os.Chmod(dst, mode&(fs.ModePerm|fs.ModeSticky|fs.ModeSetgid|fs.ModeSetuid)); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	return nil
}

func (r rootfs) writeFile(rel, content string, mode os.FileMode, uid, gid int) error {
	if err := r.mkdirAll(filepath.Dir(rel)); err != nil {
		return err
	}
	dst := filepath.Join(r.upper, rel)
	if err := os.WriteFile(dst, []byte(content), mode); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Lchown(dst, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	return nil
}

// mountOverlay mounts the copy-on-write root in the host's mount namespace, where the manager (as
// root) can mount it and later find and unmount it; bwrap then makes it the sandbox's /.
func mountOverlay(lower, upper, work, merged string) error {
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	// nodev: device files a sandbox creates in its root are never opened as devices.
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount overlay on %s (%s): %w", merged, opts, err)
	}
	return nil
}

// unmount unmounts the overlay at merged. Once the sandbox's processes are dead nothing should hold
// it; if something does (a host process with its cwd inside), it is detached rather than leaked.
func unmount(ctx context.Context, merged string) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Unmount(merged, unix.UMOUNT_NOFOLLOW)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // not mounted (any more)
		case !errors.Is(err, unix.EBUSY):
			return fmt.Errorf("unmount %s: %w", merged, err)
		}
		select {
		case <-ctx.Done():
			if err := unix.Unmount(merged, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("detach %s: %w", merged, err)
			}
			return nil
		case <-time.After(delay):
		}
	}
}

// checkMountPath rejects paths that cannot be written into overlayfs's mount options.
func checkMountPath(what, path string) error {
	if strings.ContainsAny(path, ",:\\\n") {
		return fmt.Errorf("%s %q: overlayfs cannot take a path containing ',', ':', '\\' or a newline", what, path)
	}
	return nil
}
