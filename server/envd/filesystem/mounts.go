package filesystem

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"

	"golang.org/x/sys/unix"
)

// networkMagic names the filesystems (statfs f_type, linux/magic.h) whose files change on other
// machines: inotify only sees changes made through this kernel, so a watch there silently misses events.
func networkMagic(fsType int64) (string, bool) {
	switch fsType {
	case 0x6969:
		return "nfs", true
	case 0x517b:
		return "smb", true
	case 0xfe534d42:
		return "smb2", true
	case 0xff534d42:
		return "cifs", true
	case 0x73757245:
		return "coda", true
	case 0x5346414f, 0x6b414653:
		return "afs", true
	case 0x00c36400:
		return "ceph", true
	case 0x564c:
		return "ncp", true
	}
	return "", false
}

// fuseMagic is shared by every FUSE filesystem; the mount table's "fuse.<subtype>" tells a network
// one (sshfs) from a local one (fuse-overlayfs, a common container root that must stay watchable).
const fuseMagic = 0x65735546

func networkFUSE(subtype string) bool {
	switch subtype {
	case "sshfs", "s3fs", "gcsfuse", "rclone", "goofys", "davfs", "juicefs", "glusterfs", "ceph-fuse",
		"mountpoint-s3", "blobfuse", "blobfuse2":
		return true
	}
	return false
}

// networkMount returns the filesystem name when path lies on a network mount, "" otherwise.
func networkMount(path string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", path, err)
	}
	if name, ok := networkMagic(int64(st.Type)); ok {
		return name, nil
	}
	if int64(st.Type) != fuseMagic {
		return "", nil
	}
	fstype, err := mountType(path)
	if err != nil {
		return "", err
	}
	if sub, ok := strings.CutPrefix(fstype, "fuse."); ok && networkFUSE(sub) {
		return fstype, nil
	}
	return "", nil
}

// mountType returns the filesystem type (e.g. "fuse.sshfs") of the mount holding path, from the
// longest mount point in /proc/self/mountinfo that contains it.
func mountType(path string) (string, error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	best, fstype := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		mp := mountinfo.Unescape(fields[4])
		if within(resolved, mp) && len(mp) >= len(best) {
			best, fstype = mp, fields[sep+1]
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	return fstype, nil
}

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}
