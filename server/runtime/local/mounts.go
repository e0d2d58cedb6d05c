package local

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"
)

// rootMounts are the copy-on-write trees of one sandbox: its / over the base, and each system tree
// (/usr, …) over the root filesystem's. Their upper layers share the sandbox's disk: a tmpfs of the
// sandbox's disk size (so that a sandbox filling its disk gets ENOSPC and the host's disk is untouched),
// or a directory in the state dir when the disk is unlimited.
type rootMounts struct {
	l      layout
	base   *base
	lower  string // the root filesystem the system trees come from
	ids    int
	diskMB int64
}

// treeName is "root" for / and the tree's own name for a system tree.
const rootTree = "root"

// mountDisk creates the sandbox's disk and the upper and work directories of every tree on it.
func (m rootMounts) mountDisk() error {
	disk := m.l.disk()
	if err := os.Mkdir(disk, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", disk, err)
	}
	if m.diskMB > 0 {
		opts := "mode=0700,size=" + strconv.FormatInt(m.diskMB, 10) + "m"
		if err := unix.Mount("tmpfs", disk, "tmpfs", unix.MS_NODEV|unix.MS_NOSUID, opts); err != nil {
			return fmt.Errorf("mount the sandbox's disk (tmpfs %s) on %s: %w", opts, disk, err)
		}
	}
	for _, t := range append([]string{rootTree}, m.base.trees...) {
		if err := os.Mkdir(filepath.Join(disk, t), 0o700); err != nil {
			return fmt.Errorf("create the %s layer: %w", t, err)
		}
		if err := os.Mkdir(m.l.treeWork(t), 0o700); err != nil {
			return fmt.Errorf("create the %s layer: %w", t, err)
		}
		// overlayfs gives the merged tree's top the attributes of the upper directory.
		up := m.l.treeUpper(t)
		if err := os.Mkdir(up, 0o755); err != nil {
			return fmt.Errorf("create the %s layer: %w", t, err)
		}
		if err := os.Chown(up, m.ids, m.ids); err != nil {
			return fmt.Errorf("create the %s layer: %w", t, err)
		}
		if err := os.Chmod(up, 0o755); err != nil {
			return fmt.Errorf("create the %s layer: %w", t, err)
		}
	}
	return nil
}

// mountTrees mounts / and the system trees, each an overlay over an idmapped view of its source,
// so that the files of root (host uid 0) belong to the sandbox's root.
func (m rootMounts) mountTrees(h *idmapHolder) error {
	if err := os.Mkdir(filepath.Join(m.l.dir, "lower"), 0o700); err != nil {
		return fmt.Errorf("create lower mount points: %w", err)
	}
	if len(m.base.trees) > 0 {
		if err := os.Mkdir(filepath.Join(m.l.dir, "trees"), 0o700); err != nil {
			return fmt.Errorf("create tree mount points: %w", err)
		}
	}
	for _, t := range append([]string{rootTree}, m.base.trees...) {
		src, dst := filepath.Join(m.lower, t), m.l.treeMount(t)
		if t == rootTree {
			src = m.base.dir
		}
		lowerAt := filepath.Join(m.l.dir, "lower", t)
		if err := os.Mkdir(lowerAt, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", lowerAt, err)
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dst, err)
		}
		if err := h.mountIDMapped(src, lowerAt); err != nil {
			return err
		}
		err := mountOverlay(lowerAt, m.l.treeUpper(t), m.l.treeWork(t), dst)
		// overlayfs keeps private clones of its layers: the idmapped view need not stay attached.
		if uerr := unix.Unmount(lowerAt, unix.MNT_DETACH); uerr != nil && err == nil {
			err = fmt.Errorf("detach %s: %w", lowerAt, uerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mountOverlay mounts one copy-on-write tree in the host's mount namespace, where the manager (as
// root) can mount it and later find and unmount it; bwrap then binds it into the sandbox.
func mountOverlay(lower, upper, work, merged string) error {
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	// nodev: device files a sandbox creates in its root are never opened as devices.
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount overlay on %s (%s): %w", merged, opts, err)
	}
	return nil
}

// unmountAll unmounts everything mounted under dir, the deepest mounts first.
func unmountAll(ctx context.Context, dir string) error {
	points, err := mountPointsUnder(dir)
	if err != nil {
		return err
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		if err := unmount(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// mountPointsUnder lists the mount points below dir in this process's mount namespace.
func mountPointsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := mountinfo.Unescape(fields[4])
		if strings.HasPrefix(p, dir+"/") && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return out, nil
}

// machineID is the sandbox's /etc/machine-id (D-Bus and XFCE read it): derived from its ID, not the
// host's.
func machineID(id string) string {
	sum := sha256.Sum256([]byte("sandboxstack machine-id " + id))
	return hex.EncodeToString(sum[:16]) + "\n"
}
