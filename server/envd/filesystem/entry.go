package filesystem

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// EntryInfo describes path (lstat semantics as the spec says) as the RPCs return it.
func EntryInfo(path string) (*filesystem.EntryInfo, error) {
	return newDescriber().entry(path)
}

// describer builds EntryInfo messages and remembers owner and group names it looked up. Name lookups
// read /etc/passwd and /etc/group (or NSS) every time, so one describer serves one request (a ListDir of
// thousands of entries, one watch stream) and is dropped with it: a user created later is seen by the
// next request. Not safe for concurrent use.
type describer struct {
	users  map[uint32]string
	groups map[uint32]string
}

func newDescriber() *describer {
	return &describer{users: map[uint32]string{}, groups: map[uint32]string{}}
}

// entry describes path as E2B's envd does: the link itself (name, size, permissions, owner, mtime) but
// the target's type and permission bits, so that the SDK sees a link to a directory as a directory.
// A broken link has no type (FILE_TYPE_UNSPECIFIED, which files.list drops).
func (d *describer) entry(path string) (*filesystem.EntryInfo, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	lmode := info.Mode()
	e := &filesystem.EntryInfo{
		Name:         filepath.Base(path),
		Type:         fileType(lmode),
		Path:         path,
		Size:         info.Size(),
		Mode:         uint32(lmode.Perm()),
		Permissions:  lmode.String(),
		ModifiedTime: timestamppb.New(info.ModTime()),
		Metadata:     sandboxenv.ReadMetadata(path),
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.Owner = d.userName(st.Uid)
		e.Group = d.groupName(st.Gid)
	}
	if lmode&fs.ModeSymlink != 0 {
		target, targetInfo, err := linkTarget(path)
		if err != nil {
			return nil, fmt.Errorf("read symlink %s: %w", path, err)
		}
		e.SymlinkTarget = &target
		e.Type = filesystem.FileType_FILE_TYPE_UNSPECIFIED
		if targetInfo != nil {
			e.Type = fileType(targetInfo.Mode())
			e.Mode = uint32(targetInfo.Mode().Perm())
		}
	}
	return e, nil
}

// linkTarget returns the absolute, fully resolved target of the link at path and its stat. When the
// target cannot be reached (broken link, loop, no permission) it returns the raw link text and a nil
// stat: the entry is still listed, just without a type.
func linkTarget(path string) (string, os.FileInfo, error) {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		if info, err := os.Stat(resolved); err == nil {
			return resolved, info, nil
		}
	}
	raw, err := os.Readlink(path)
	return raw, nil, err
}

func fileType(m fs.FileMode) filesystem.FileType {
	switch {
	case m.IsRegular():
		return filesystem.FileType_FILE_TYPE_FILE
	case m.IsDir():
		return filesystem.FileType_FILE_TYPE_DIRECTORY
	default:
		// Devices, sockets and pipes have no SDK type; E2B's envd reports them unspecified too.
		return filesystem.FileType_FILE_TYPE_UNSPECIFIED
	}
}

func (d *describer) userName(uid uint32) string {
	if name, ok := d.users[uid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	d.users[uid] = name
	return name
}

func (d *describer) groupName(gid uint32) string {
	if name, ok := d.groups[gid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(name); err == nil {
		name = g.Name
	}
	d.groups[gid] = name
	return name
}
