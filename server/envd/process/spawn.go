package process

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// Largest data event per read, as E2B's envd sends them.
const (
	pipeChunk = 32 << 10
	ptyChunk  = 16 << 10
)

// spawnSpec is a validated Start request.
type spawnSpec struct {
	config *rpc.ProcessConfig // as List reports it, cwd resolved
	tag    *string
	user   *sandboxenv.User
	env    []string
	pty    *rpc.PTY_Size // nil: pipes
	stdin  bool
	// workload are cgroup procs files the process joins before it runs its command.
	workload []string
}

// joinScript writes 0 (the writer itself) into each procs file given before "--", then runs the
// command after it. The process joins before its command runs, so nothing it forks escapes.
const joinScript = `while [ "$1" != -- ]; do echo 0 > "$1" || exit 126; shift; done; shift; exec "$@"`

// spawn starts the OS process. Its output is not read before proc.run, so the caller can register it
// and attach the first stream without missing a byte.
func spawn(spec spawnSpec, log *slog.Logger) (*proc, error) {
	cmd := exec.Command(spec.config.GetCmd(), spec.config.GetArgs()...)
	if len(spec.workload) > 0 && cmd.Err == nil {
		args := append([]string{"/bin/sh", "-c", joinScript, "sh"}, spec.workload...)
		args = append(append(args, "--", cmd.Path), spec.config.GetArgs()...)
		cmd = &exec.Cmd{Path: "/bin/sh", Args: args}
	}
	cmd.Dir = spec.config.GetCwd()
	cmd.Env = spec.env
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	// Switching credentials needs privileges envd only has as root; acting as itself needs none.
	if spec.user.UID != uint32(os.Getuid()) {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid:    spec.user.UID,
			Gid:    spec.user.GID,
			Groups: spec.user.Groups,
		}
	}
	p := &proc{
		tag:    spec.tag,
		config: spec.config,
		cmd:    cmd,
		log:    log,
		subs:   map[*subscriber]struct{}{},
		done:   make(chan struct{}),
	}
	var err error
	if spec.pty != nil {
		err = p.startPTY(spec.pty, spec.user)
	} else {
		err = p.startPipes(spec.stdin)
	}
	if err != nil {
		return nil, err
	}
	p.pid = uint32(cmd.Process.Pid)
	return p, nil
}

// startPipes runs the command in a process group of its own with stdout and stderr on pipes, and
// stdin on a pipe or /dev/null.
func (p *proc) startPipes(withStdin bool) (err error) {
	var parentEnds, childEnds []*os.File
	defer func() {
		// The child holds its own copies; ours would keep the pipes open after it exits.
		closeAll(childEnds)
		if err != nil {
			closeAll(parentEnds)
		}
	}()
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	parentEnds, childEnds = append(parentEnds, outR), append(childEnds, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stderr pipe: %w", err)
	}
	parentEnds, childEnds = append(parentEnds, errR), append(childEnds, errW)
	var inW *os.File
	if withStdin {
		var inR *os.File
		if inR, inW, err = os.Pipe(); err != nil {
			return fmt.Errorf("stdin pipe: %w", err)
		}
		parentEnds, childEnds = append(parentEnds, inW), append(childEnds, inR)
		p.cmd.Stdin = inR
	}
	p.cmd.Stdout, p.cmd.Stderr = outW, errW
	p.cmd.SysProcAttr.Setpgid = true
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.cmd.Path, err)
	}
	p.input = inW
	p.outputs = []output{
		{f: outR, chunk: pipeChunk, wrap: stdoutData},
		{f: errR, chunk: pipeChunk, wrap: stderrData},
	}
	return nil
}

// startPTY runs the command as a session leader whose controlling terminal is a new PTY, the way a
// terminal emulator starts a shell, so job control and terminal signals work.
func (p *proc) startPTY(size *rpc.PTY_Size, u *sandboxenv.User) error {
	master, tty, err := openPTY()
	if err != nil {
		return err
	}
	defer tty.Close()
	if err := setPTYSize(master, size.GetCols(), size.GetRows()); err != nil {
		_ = master.Close()
		return err
	}
	if p.cmd.SysProcAttr.Credential != nil {
		// Programs such as sudo or ssh insist on owning their terminal.
		if err := tty.Chown(int(u.UID), int(u.GID)); err != nil {
			p.log.Debug("chown pty", "tty", tty.Name(), "err", err)
		}
	}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = tty, tty, tty
	p.cmd.SysProcAttr.Setsid = true
	p.cmd.SysProcAttr.Setctty = true
	p.cmd.SysProcAttr.Ctty = 0 // the child's stdin
	if err := p.cmd.Start(); err != nil {
		_ = master.Close()
		return fmt.Errorf("start %s: %w", p.cmd.Path, err)
	}
	p.master = master
	p.input = master
	p.outputs = []output{{f: master, chunk: ptyChunk, wrap: ptyData}}
	return nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

func stdoutData(b []byte) *rpc.ProcessEvent_DataEvent {
	return &rpc.ProcessEvent_DataEvent{Output: &rpc.ProcessEvent_DataEvent_Stdout{Stdout: b}}
}

func stderrData(b []byte) *rpc.ProcessEvent_DataEvent {
	return &rpc.ProcessEvent_DataEvent{Output: &rpc.ProcessEvent_DataEvent_Stderr{Stderr: b}}
}

func ptyData(b []byte) *rpc.ProcessEvent_DataEvent {
	return &rpc.ProcessEvent_DataEvent{Output: &rpc.ProcessEvent_DataEvent_Pty{Pty: b}}
}
