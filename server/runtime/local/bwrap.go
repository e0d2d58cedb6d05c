package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Paths inside a sandbox.
const (
	sandboxRunDir = "/run/envd"         // host: <sandbox dir>/run; holds envd's socket
	sandboxEnvd   = "/run/sandbox/envd" // read-only bind of Config.EnvdBin
	sandboxSocket = sandboxRunDir + "/" + envdSocketName
	// workloadDir holds the procs files of the sandbox's workload cgroups: envd moves every process it
	// starts there, and the template's services move themselves (see joinWorkload).
	workloadDir = "/run/sandbox/cgroup"
)

// joinWorkload is the shell command that moves the current shell into the sandbox's workload
// cgroups (nothing when the sandbox has none).
const joinWorkload = "for f in " + workloadDir + "/*.procs; do [ -e \"$f\" ] && echo 0 > \"$f\"; done"

// sandboxCaps are the capabilities root keeps inside a sandbox, over its own user namespace only:
// Docker's default set minus MKNOD (device nodes would reach the host's disks, as there is no device
// cgroup). Without CAP_SYS_ADMIN nothing inside can mount, without CAP_NET_ADMIN nothing changes the
// sandbox's routes, and bwrap sets no_new_privs, so no program regains more.
var sandboxCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
	"CAP_SETPCAP", "CAP_SETFCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// bwrapSpec is one sandbox's bubblewrap invocation.
type bwrapSpec struct {
	bwrap    string
	id       string
	l        layout
	trees    []string // system trees bound over their empty directories in the base
	stateDir string   // covered inside by an empty tmpfs ("" when the sandbox cannot see it anyway)
	binaries map[string]string
	command  []string
	shmMB    int64
	// workload are the procs files of the sandbox's workload cgroups: host path → name inside
	// workloadDir.
	workload map[string]string
	idBase   uint32   // bwrap runs in a user namespace that maps the sandbox's ids here
	token    *os.File // read end of the token pipe, envd's descriptor tokenFD
}

// runTmpfsMB is the size of the sandbox's /run.
const runTmpfsMB = 64

// bindMount is one host path bwrap binds into the sandbox.
type bindMount struct {
	src, dst string
	ro       bool
}

// binds are the host paths bound into the sandbox, all in its portal: bwrap runs as the sandbox's
// root, an unprivileged host uid that can walk nowhere else.
func (b bwrapSpec) binds() []bindMount {
	out := []bindMount{{src: b.l.merged(), dst: "/"}}
	for _, t := range b.trees {
		out = append(out, bindMount{src: b.l.treeMount(t), dst: "/" + t})
	}
	out = append(out,
		bindMount{src: b.l.run(), dst: sandboxRunDir},
		bindMount{src: b.l.binary("envd"), dst: sandboxEnvd, ro: true},
	)
	for _, name := range slices.Sorted(maps.Keys(b.binaries)) {
		out = append(out, bindMount{src: b.l.binary("template-" + name), dst: BinaryPath(name), ro: true})
	}
	for _, host := range slices.Sorted(maps.Keys(b.workload)) {
		out = append(out, bindMount{src: host, dst: workloadDir + "/" + b.workload[host]})
	}
	return out
}

// args builds bwrap's command line. No --die-with-parent: sandboxes outlive a manager restart. bwrap
// itself starts inside the sandbox's user namespace (see spawn), as its root.
func (b bwrapSpec) args() []string {
	var a []string
	mounts := b.binds()
	bind := func(i int) {
		op := "--bind"
		if mounts[i].ro {
			op = "--ro-bind"
		}
		a = append(a, op, mounts[i].src, mounts[i].dst)
	}
	// / (its path is also the marker by which the runtime finds the processes again) and the system
	// trees first, then the mounts below /run once /run is a tmpfs.
	nRoot := 1 + len(b.trees)
	for i := range nRoot {
		bind(i)
	}
	a = append(a,
		"--proc", "/proc",
		"--dev", "/dev",
		// Shared memory for every user, as on a host, of a bounded size.
		"--perms", "1777", "--size", strconv.FormatInt(b.shmMB<<20, 10), "--tmpfs", "/dev/shm",
		"--size", strconv.Itoa(runTmpfsMB<<20), "--tmpfs", "/run",
		"--perms", "0755", "--dir", "/run/sandbox", // bwrap would create it 0700: template binaries run as user
		"--perms", "0755", "--dir", workloadDir,
		"--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu", // CPU counts for runtimes that read them
	)
	for i := nRoot; i < len(mounts); i++ {
		bind(i)
	}
	if b.stateDir != "" {
		a = append(a, "--tmpfs", b.stateDir)
	}
	a = append(a,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
		"--hostname", b.id,
		"--new-session",
		"--chdir", "/",
		"--cap-drop", "ALL",
	)
	for _, c := range sandboxCaps {
		a = append(a, "--cap-add", c)
	}
	// fd 3: bwrap waits to read from it before it starts the command, so the runtime can first move it
	// into the sandbox's cgroups. fd 4: bwrap reports its child's pid and namespaces there. fd 5: the
	// seccomp program every process of the sandbox runs under.
	a = append(a, "--seccomp", "5", "--block-fd", "3", "--json-status-fd", "4", "--")
	return append(a, b.command...)
}

// bwrapStatus is bwrap's first --json-status-fd document.
type bwrapStatus struct {
	ChildPid     int    `json:"child-pid"`
	PidNamespace uint64 `json:"pid-namespace"`
}

// spawned is a bwrap process that set up the sandbox and waits to be released.
type spawned struct {
	cmd    *exec.Cmd
	status bwrapStatus
	block  *os.File      // write end of --block-fd
	exited chan struct{} // closed once bwrap has exited and been reaped
}

// spawn starts bwrap detached from the manager (own session, output to the sandbox log) and waits
// for its status: by then the namespaces exist and the command is held back on the block fd.
func spawn(ctx context.Context, b bwrapSpec, env []string, logFile, seccomp *os.File) (*spawned, error) {
	blockR, blockW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("block pipe: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		blockR.Close()
		blockW.Close()
		return nil, fmt.Errorf("status pipe: %w", err)
	}
	files := []*os.File{blockR, statusW, seccomp}
	cmd := exec.Command(b.bwrap, b.args()...)
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = append(files, b.token) // 3, 4, 5 (seccomp), tokenFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	inUserns(cmd, b.idBase)
	err = cmd.Start()
	blockR.Close()
	statusW.Close()
	if err != nil {
		blockW.Close()
		statusR.Close()
		return nil, fmt.Errorf("run %s: %w", b.bwrap, err)
	}
	s := &spawned{cmd: cmd, block: blockW, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()

	if deadline, ok := ctx.Deadline(); ok {
		_ = statusR.SetReadDeadline(deadline)
	}
	dec := json.NewDecoder(statusR)
	err = dec.Decode(&s.status)
	if err == nil && s.status.ChildPid <= 0 {
		err = errors.New("no child-pid")
	}
	if err != nil {
		statusR.Close()
		blockW.Close()
		_ = cmd.Process.Kill()
		<-s.exited
		if errors.Is(err, io.EOF) {
			err = errors.New("bwrap exited during setup")
		}
		return nil, fmt.Errorf("read bwrap status: %w", err)
	}
	// bwrap writes its exit status here when the sandbox ends; drain it while this process lives.
	// After a manager restart nobody reads, and bwrap gets EPIPE on its way out, which is harmless.
	_ = statusR.SetReadDeadline(time.Time{})
	go func() {
		_, _ = io.Copy(io.Discard, statusR)
		statusR.Close()
	}()
	return s, nil
}

// release lets bwrap start the sandbox's command.
func (s *spawned) release() error {
	defer s.block.Close()
	if _, err := s.block.Write([]byte{1}); err != nil {
		return fmt.Errorf("release bwrap: %w", err)
	}
	return nil
}

// abort kills bwrap and its child, for a start that failed before the child was recorded anywhere.
func (s *spawned) abort() {
	s.block.Close()
	_ = syscall.Kill(s.status.ChildPid, syscall.SIGKILL)
	_ = s.cmd.Process.Kill()
}
