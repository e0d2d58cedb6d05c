package local

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Each sandbox has a user namespace of its own in which its uids and gids 0…idBlock-1 are a block of
// host ids nobody else uses: sandbox root is an unprivileged host uid, and two sandboxes never share
// one (so neither may signal, trace or own the other's processes or files).
const (
	idBlock     = 65536
	firstIDBase = 1 << 31
	idSlots     = 30000 // firstIDBase + idSlots*idBlock stays below 2^32-1
)

// idMap maps a sandbox's ids 0…idBlock-1 to the host block at base.
func idMap(base uint32) []syscall.SysProcIDMap {
	return []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(base), Size: idBlock}}
}

// inUserns makes cmd start in a new user namespace with the block at base, as the namespace's root.
func inUserns(cmd *exec.Cmd, base uint32) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
	cmd.SysProcAttr.UidMappings = idMap(base)
	cmd.SysProcAttr.GidMappings = idMap(base)
	// envd (root inside) sets the groups of the processes it starts as another user.
	cmd.SysProcAttr.GidMappingsEnableSetgroups = true
	// Without this the process would keep host uid 0, which the namespace does not map.
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
}

// idmapHolder is a process that only keeps a user namespace with a sandbox's id map alive, so that
// mounts can be idmapped with it (mount_setattr needs a namespace file descriptor).
type idmapHolder struct {
	cmd   *exec.Cmd
	stdin *os.File
	ns    *os.File
}

// holdIDMap starts an idmapHolder for the block at base; cat is any program that waits for its input.
func holdIDMap(cat string, base uint32) (*idmapHolder, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cat)
	cmd.Stdin = r
	inUserns(cmd, base)
	cmd.SysProcAttr.Credential = nil
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("start user namespace holder: %w", err)
	}
	h := &idmapHolder{cmd: cmd, stdin: w}
	if h.ns, err = os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user"); err != nil {
		h.close()
		return nil, fmt.Errorf("open user namespace: %w", err)
	}
	return h, nil
}

func (h *idmapHolder) close() {
	if h.ns != nil {
		h.ns.Close()
	}
	h.stdin.Close()
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
}

// mountIDMapped mounts a read-only view of src at dst in which the owners of src's files appear
// shifted into the holder's block: host uid 0 becomes the sandbox's root.
func (h *idmapHolder) mountIDMapped(src, dst string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("clone mount of %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV, Userns_fd: uint64(h.ns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("idmap mount of %s (the kernel must support idmapped mounts on its filesystem, Linux 5.12+): %w", src, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach idmapped %s at %s: %w", src, dst, err)
	}
	return nil
}
