package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// etcAllowlist are the entries of the root filesystem's /etc that a sandbox sees: what the templates'
// programs read (the dynamic linker, name service, PAM for runuser, fonts, X11, XDG and XFCE, D-Bus,
// Chromium, Python and matplotlib, the public CA certificates, terminfo, time zones). Everything else in
// the host's /etc (private keys, cloud-init data, environment files, credentials of package managers,
// host keys, password hashes) is absent; the account files, host name, hosts, resolv.conf, machine-id
// and profiles are generated per sandbox. Globs are allowed.
var etcAllowlist = []string{
	"X11", "adduser.conf", "alternatives", "bindresvport.blacklist", "ca-certificates.conf",
	"chromium", "chromium.d", "dbus-1", "dconf", "debian_version", "deluser.conf", "ethertypes", "fonts",
	"gai.conf", "glvnd", "gtk-2.0", "gtk-3.0", "host.conf", "inputrc", "iproute2", "ld.so.cache",
	"ld.so.conf", "ld.so.conf.d", "locale.alias", "locale.gen", "localtime", "login.defs", "magic",
	"magic.mime", "mailcap", "mailcap.order", "manpath.config", "matplotlibrc", "mime.types",
	"netconfig", "networks", "nsswitch.conf", "os-release", "pam.conf", "pam.d", "papersize",
	"protocols", "pulse", "python3", "python3.*", "rpc", "security", "services", "shells", "skel",
	"ssl/certs", "ssl/openssl.cnf", "terminfo", "timezone", "ucf.conf", "xdg", "xfce4", "xml",
}

// systemTrees are the top-level directories of the root filesystem that a sandbox sees as they are
// (read-only, with a copy-on-write layer of its own on top). On a merged-/usr system the others are
// links into /usr and come with the skeleton.
var systemTrees = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// skeletonDirs are the other top-level directories of a sandbox's root, empty at its start.
var skeletonDirs = []struct {
	path string
	mode os.FileMode
}{
	{"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"run", 0o755}, {"tmp", 0o1777},
	{"root", 0o700}, {"home", 0o755}, {"opt", 0o755}, {"srv", 0o755}, {"mnt", 0o755}, {"media", 0o755},
	{"var", 0o755}, {"var/tmp", 0o1777}, {"var/cache", 0o755}, {"var/log", 0o755}, {"var/lib", 0o755},
	{"var/spool", 0o755}, {"var/mail", 0o2775}, {"var/local", 0o755}, {"var/opt", 0o755},
	{"etc", 0o755}, {"etc/ssl", 0o755}, {"etc/profile.d", 0o755},
}

// base is the read-only root every sandbox's / is a copy-on-write view of: the skeleton, the
// allowlisted /etc and links for the system trees that are links on the host. The system trees
// themselves are mounted over it in each sandbox.
type base struct {
	dir   string   // the skeleton
	trees []string // system trees that are directories in the root filesystem (mounted per sandbox)
}

// buildBase writes a new base for the root filesystem at lower into a fresh directory under parent.
// Running sandboxes keep the base they started with, so each runtime builds its own.
func buildBase(lower, parent string) (*base, error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", parent, err)
	}
	dir := filepath.Join(parent, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create base: %w", err)
	}
	b := &base{dir: dir}
	for _, d := range skeletonDirs {
		p := filepath.Join(dir, d.path)
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, fmt.Errorf("create base: %w", err)
		}
		if err := os.Chmod(p, d.mode&fs.ModePerm|modeBits(d.mode)); err != nil {
			return nil, fmt.Errorf("create base: %w", err)
		}
	}
	for _, l := range []struct{ path, target string }{
		{"var/run", "../run"}, {"var/lock", "../run/lock"}, {"etc/mtab", "../proc/self/mounts"},
	} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.path)); err != nil {
			return nil, fmt.Errorf("create base: %w", err)
		}
	}
	for _, t := range systemTrees {
		fi, err := os.Lstat(filepath.Join(lower, t))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("base: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(lower, t))
			if err != nil {
				return nil, fmt.Errorf("base: %w", err)
			}
			if err := os.Symlink(target, filepath.Join(dir, t)); err != nil {
				return nil, fmt.Errorf("base: %w", err)
			}
		case fi.IsDir():
			if err := os.Mkdir(filepath.Join(dir, t), 0o755); err != nil {
				return nil, fmt.Errorf("base: %w", err)
			}
			b.trees = append(b.trees, t)
		}
	}
	for _, pattern := range etcAllowlist {
		matches, err := filepath.Glob(filepath.Join(lower, "etc", pattern))
		if err != nil {
			return nil, fmt.Errorf("base: /etc/%s: %w", pattern, err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(lower, m)
			if err := copyPublic(m, filepath.Join(dir, rel)); err != nil {
				return nil, fmt.Errorf("base: copy /%s: %w", rel, err)
			}
		}
	}
	return b, nil
}

// modeBits converts the setuid, setgid and sticky bits of an os.FileMode for os.Chmod.
func modeBits(m os.FileMode) os.FileMode { return m & (fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky) }

// copyPublic copies src to dst recursively with owners, modes and links, leaving out what other
// users of the host may not read (files not readable by others, directories not searchable by them)
// and anything that is not a file, directory or link.
func copyPublic(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		st, _ := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, out); err != nil {
				return err
			}
		case fi.IsDir():
			if fi.Mode()&0o005 != 0o005 {
				return fs.SkipDir
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := os.Mkdir(out, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case fi.Mode().IsRegular():
			if fi.Mode()&0o004 == 0 {
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := copyFile(p, out); err != nil {
				return err
			}
		default:
			return nil
		}
		if st != nil {
			if err := os.Lchown(out, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return os.Chmod(out, fi.Mode()&fs.ModePerm|modeBits(fi.Mode()))
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeBasesExcept removes the bases under parent that are not in keep.
func removeBasesExcept(parent string, keep map[string]bool) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(parent, e.Name())
		if !keep[p] && !strings.HasPrefix(e.Name(), ".") {
			_ = os.RemoveAll(p)
		}
	}
}
