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

// chromiumNoSandbox is read by Debian's chromium wrapper (it sources /etc/chromium.d/*). Chromium's
// own sandbox needs user namespaces, which the sandbox's seccomp filter refuses, so it would not start
// at all: the sandbox is its boundary instead.
const chromiumNoSandbox = `# sandbox: user namespaces are refused here, and Chromium's sandbox needs them.
export CHROMIUM_FLAGS="$CHROMIUM_FLAGS --no-sandbox"
`

// rootfs writes a sandbox's upper layer on top of its base.
type rootfs struct {
	lower string // the root filesystem the accounts come from ("/" by default)
	base  string // the sandbox's read-only lower layer (a base's skeleton)
	upper string
	ids   int // the host id of the sandbox's id 0: files written here get shifted owners
}

// sandboxFiles are per-sandbox files of the upper layer beside the account files.
type sandboxFiles struct {
	id         string
	resolvConf string // "" when the sandbox has no network to resolve names on
}

// prepare fills the upper layer before the overlay is mounted: the accounts (from the root
// filesystem's, with locked passwords), the sandbox user's home, lean profiles, the sandbox's host
// name, hosts, resolver and machine ID.
func (r rootfs) prepare(f sandboxFiles) (account, error) {
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
		{"etc/hostname", f.id + "\n", 0o644, root, 0},
		{"etc/hosts", "127.0.0.1\tlocalhost " + f.id + "\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644, root, 0},
		{"etc/resolv.conf", f.resolvConf, 0o644, root, 0},
		{"etc/machine-id", machineID(f.id), 0o444, root, 0},
		{"etc/environment", "", 0o644, root, 0},
		{"etc/chromium.d/sandbox-no-user-namespaces", chromiumNoSandbox, 0o644, root, 0},
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
	fi, err := os.Lstat(filepath.Join(r.base, rel))
	switch {
	case err == nil && fi.IsDir():
		return r.copyDir(rel, fi)
	case err == nil:
		return fmt.Errorf("/%s is not a directory in the sandbox's base", rel)
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

// mkdir creates one directory of the upper layer with exactly mode (sticky and setgid bits included),
// owned by the sandbox's uid and gid.
func (r rootfs) mkdir(rel string, mode os.FileMode, uid, gid int) error {
	if err := r.mkdirAll(filepath.Dir(rel)); err != nil {
		return err
	}
	dst := filepath.Join(r.upper, rel)
	if err := os.Mkdir(dst, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if err := os.Lchown(dst, r.ids+uid, r.ids+gid); err != nil {
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
	if err := os.Lchown(dst, r.ids+uid, r.ids+gid); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
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
