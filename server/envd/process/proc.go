package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

var (
	// errExited is returned for operations that need the process to still be running.
	errExited = errors.New("process has exited")
	// errStdinClosed is the message the SDK surfaces when input cannot be delivered.
	errStdinClosed = errors.New("stdin not enabled or closed")
	errNoPTY       = errors.New("process has no pty")
)

// proc is one process started through Start: the OS process, the fan-out of its output to attached
// streams and, once it is over, its end event, kept for late Connect calls.
type proc struct {
	pid    uint32
	tag    *string
	config *rpc.ProcessConfig
	cmd    *exec.Cmd
	log    *slog.Logger

	// master is the PTY master for PTY processes (nil otherwise); it carries both input and output.
	master *os.File
	// outputs are read until EOF: the stdout and stderr pipes, or the PTY master.
	outputs []output
	readers sync.WaitGroup

	inMu sync.Mutex
	// input is the stdin pipe or the PTY master; nil when stdin is disabled or closed.
	input *os.File

	mu   sync.Mutex
	subs map[*subscriber]struct{}
	// reaped is set once the leader has exited, just before it is reaped: from then on its pid, which
	// is also the process-group id, may be reused and must not be signalled.
	reaped    bool
	killTimer *time.Timer
	end       *rpc.ProcessEvent_EndEvent
	done      chan struct{}
}

// output is one stream of the process's output and the event field it is reported in.
type output struct {
	f     *os.File
	chunk int
	wrap  func([]byte) *rpc.ProcessEvent_DataEvent
}

func (p *proc) isPTY() bool { return p.master != nil }

// run starts the goroutines that carry output and wait for the exit. They all end when the process
// has exited and its output is drained; onEnd runs last, after the end event is published.
func (p *proc) run(grace time.Duration, onEnd func(*proc)) {
	for _, o := range p.outputs {
		p.readers.Add(1)
		go p.read(o)
	}
	go p.wait(grace, onEnd)
}

func (p *proc) read(o output) {
	defer p.readers.Done()
	buf := make([]byte, o.chunk)
	for {
		n, err := o.f.Read(buf)
		if n > 0 {
			data := bytes.Clone(buf[:n])
			p.publish(&rpc.ProcessEvent{Event: &rpc.ProcessEvent_Data{Data: o.wrap(data)}}, n)
		}
		if err != nil {
			// EIO is how a PTY master reports that every slave descriptor is closed.
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrDeadlineExceeded) {
				p.log.Debug("reading process output", "pid", p.pid, "err", err)
			}
			return
		}
	}
}

func (p *proc) wait(grace time.Duration, onEnd func(*proc)) {
	if err := waitExited(int(p.pid)); err != nil {
		// Someone else (a PID-1 reaper) may have reaped it; cmd.Wait reports what it can.
		p.log.Debug("waiting for process exit", "pid", p.pid, "err", err)
	}
	p.mu.Lock()
	p.reaped = true
	if p.killTimer != nil {
		p.killTimer.Stop()
	}
	p.mu.Unlock()

	waitErr := p.cmd.Wait()
	p.drain(grace)
	p.closeFiles()
	end := endEvent(p.cmd.ProcessState, waitErr)
	p.finish(end)
	onEnd(p)
}

// waitExited blocks until the leader has exited without reaping it, so its pid (and with it the
// process-group id) stays reserved while the group may still be signalled.
func waitExited(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// drain waits for the readers to reach EOF so every byte the process wrote is published before its end
// event. Descendants that outlive the process may hold the output open forever; after grace the
// readers are cut off rather than leaving the command hanging.
func (p *proc) drain(grace time.Duration) {
	drained := make(chan struct{})
	go func() {
		p.readers.Wait()
		close(drained)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-drained:
		return
	case <-timer.C:
	}
	p.log.Debug("output still open after exit, held by descendants; no longer reading it", "pid", p.pid)
	for _, o := range p.outputs {
		if err := o.f.SetReadDeadline(time.Now()); err != nil {
			_ = o.f.Close()
		}
	}
	<-drained
}

func (p *proc) closeFiles() {
	p.inMu.Lock()
	in := p.input
	p.input = nil
	p.inMu.Unlock()
	if in != nil && in != p.master {
		_ = in.Close()
	}
	for _, o := range p.outputs {
		_ = o.f.Close()
	}
}

// publish hands ev, carrying size bytes of output, to every attached stream. Nobody attached means
// the output is discarded.
func (p *proc) publish(ev *rpc.ProcessEvent, size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.subs {
		if !s.push(ev, size) {
			delete(p.subs, s)
			p.log.Warn("detaching a stream that fell too far behind the process output", "pid", p.pid)
		}
	}
}

func (p *proc) finish(end *rpc.ProcessEvent_EndEvent) {
	ev := &rpc.ProcessEvent{Event: &rpc.ProcessEvent_End{End: end}}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.end = end
	for s := range p.subs {
		s.push(ev, 0)
	}
	p.subs = nil
	close(p.done)
}

// subscribe attaches a stream. When the process is already over it returns its end event instead.
func (p *proc) subscribe() (*subscriber, *rpc.ProcessEvent_EndEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.end != nil {
		return nil, p.end
	}
	s := newSubscriber()
	p.subs[s] = struct{}{}
	return s, nil
}

func (p *proc) unsubscribe(s *subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.subs, s)
}

func (p *proc) ended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.end != nil
}

// signal sends sig to the whole process group, so it reaches what the command spawned, too.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return errExited
	}
	if err := unix.Kill(-int(p.pid), sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errExited
		}
		return fmt.Errorf("signal process group %d: %w", p.pid, err)
	}
	return nil
}

// killAt SIGKILLs the process group at deadline, the lifetime its Start request asked for. This is a
// timer of the process, not the request's context: a client that leaves early changes nothing.
func (p *proc) killAt(deadline time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return
	}
	p.killTimer = time.AfterFunc(time.Until(deadline), func() {
		if err := p.signal(unix.SIGKILL); err == nil {
			p.log.Info("process killed at its deadline", "pid", p.pid)
		}
	})
}

// writeInput delivers input; toPTY says which kind the client sent, and it must match the process.
func (p *proc) writeInput(data []byte, toPTY bool) error {
	if toPTY != p.isPTY() {
		if p.isPTY() {
			return errors.New("process has a pty: send pty input, not stdin")
		}
		return errors.New("process has no pty: send stdin, not pty input")
	}
	p.inMu.Lock()
	f := p.input
	p.inMu.Unlock()
	if f == nil {
		return errStdinClosed
	}
	// A write blocked on a full pipe or terminal is released by closeFiles when the process ends.
	if _, err := f.Write(data); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return errStdinClosed
		}
		return fmt.Errorf("write input to process %d: %w", p.pid, err)
	}
	return nil
}

// closeStdin closes the stdin pipe so the process reads EOF. Closing twice is harmless.
func (p *proc) closeStdin() error {
	if p.isPTY() {
		return errors.New("cannot close stdin of a pty process: send EOT (0x04) as pty input")
	}
	p.inMu.Lock()
	f := p.input
	p.input = nil
	p.inMu.Unlock()
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close stdin of process %d: %w", p.pid, err)
	}
	return nil
}

func (p *proc) resize(cols, rows uint32) error {
	if !p.isPTY() {
		return errNoPTY
	}
	return setPTYSize(p.master, cols, rows)
}

// endEvent describes the exit the way E2B's envd does: Go's process-state and wait-error strings.
func endEvent(ps *os.ProcessState, waitErr error) *rpc.ProcessEvent_EndEvent {
	end := &rpc.ProcessEvent_EndEvent{ExitCode: -1, Status: "unknown"}
	if ps != nil {
		end.ExitCode = int32(ps.ExitCode())
		end.Exited = ps.Exited()
		end.Status = ps.String()
	}
	if waitErr != nil {
		msg := waitErr.Error()
		end.Error = &msg
	}
	return end
}
