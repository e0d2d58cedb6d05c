package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the links one resolution follows, as the kernel's own limit does.
const maxSymlinks = 40

// ErrUntrustedSymlink is wrapped when a path goes through a symbolic link that neither root nor the
// acting user owns. It also matches fs.ErrPermission: the request may not do this.
var ErrUntrustedSymlink = untrustedSymlink{}

type untrustedSymlink struct{}

func (untrustedSymlink) Error() string        { return "symbolic link not owned by root or the acting user" }
func (untrustedSymlink) Is(target error) bool { return target == fs.ErrPermission }

// beneath confines one openat2 call to a single step below dirfd: no "..", no symlink (a trailing
// one is returned as itself with O_PATH|O_NOFOLLOW), no /proc magic links.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

func openat2(dirfd int, name string, flags uint64, mode uint64) (int, error) {
	for {
		fd, err := unix.Openat2(dirfd, name, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: mode, Resolve: beneath})
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			// EAGAIN: a concurrent rename anywhere made the kernel give up a lookup; try again.
			continue
		}
		return fd, err
	}
}

// resolver walks a path for one user.
type resolver struct {
	uid   uint32
	links int
}

// trusts reports whether a link owned by owner may be followed: root's links (the system's own, such
// as /bin or /etc/alternatives) and the acting user's. Following a link the user may write anyway
// gives nothing away; following someone else's would let them point a root request anywhere.
func (r *resolver) trusts(owner uint32) bool { return owner == 0 || owner == r.uid }

// parent resolves every component of the absolute path p but the last and returns a descriptor (O_PATH)
// of the directory holding it, with the last name ("." when p is a directory such as "/"). With mkdir,
// missing directories are created with mode perm (as the acting user: AsUser gives them the owner).
// With followLast, a last component that is a trusted symlink is resolved too, so that the returned
// name is not a symlink (it may not exist).
func (r *resolver) parent(p string, mkdir bool, perm uint32, followLast bool) (dirfd int, name string, err error) {
	if !filepath.IsAbs(p) {
		return -1, "", fmt.Errorf("resolve %q: not an absolute path", p)
	}
	cur, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("open /: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(cur)
		}
	}()
	todo := splitPath(p)
	for {
		if len(todo) == 0 {
			return cur, ".", nil
		}
		comp := todo[0]
		last := len(todo) == 1
		if comp == ".." {
			next, err := unix.Openat(cur, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return -1, "", fmt.Errorf("resolve %s: ..: %w", p, err)
			}
			unix.Close(cur)
			cur, todo = next, todo[1:]
			continue
		}
		fd, err := openat2(cur, comp, unix.O_PATH|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.ENOENT) && !last && mkdir {
			if err := unix.Mkdirat(cur, comp, perm); err != nil && !errors.Is(err, unix.EEXIST) {
				return -1, "", &fs.PathError{Op: "mkdir", Path: p, Err: err}
			}
			continue // open what is there now
		}
		if errors.Is(err, unix.ENOENT) && last {
			return cur, comp, nil
		}
		if err != nil {
			return -1, "", &fs.PathError{Op: "open", Path: p, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, "", &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK && (!last || followLast):
			target, err := r.follow(fd, st.Uid, p)
			unix.Close(fd)
			if err != nil {
				return -1, "", err
			}
			if filepath.IsAbs(target) {
				root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return -1, "", fmt.Errorf("open /: %w", err)
				}
				unix.Close(cur)
				cur = root
			}
			todo = append(splitPath(target), todo[1:]...)
		case last:
			unix.Close(fd)
			return cur, comp, nil
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			unix.Close(cur)
			cur, todo = fd, todo[1:]
		default:
			unix.Close(fd)
			return -1, "", &fs.PathError{Op: "open", Path: p, Err: unix.ENOTDIR}
		}
	}
}

// follow reads the link open at fd (owned by owner) if the acting user may follow it.
func (r *resolver) follow(fd int, owner uint32, p string) (string, error) {
	if !r.trusts(owner) {
		return "", &fs.PathError{Op: "resolve", Path: p, Err: fmt.Errorf("%w (a link owned by uid %d)", ErrUntrustedSymlink, owner)}
	}
	r.links++
	if r.links > maxSymlinks {
		return "", &fs.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
	}
	if n == 0 {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: unix.ENOENT}
	}
	return string(buf[:n]), nil
}

// splitPath splits p into its non-empty components other than ".".
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}
