package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"
)

// session is one running kernel process and the sockets connected to it.
// A Kernel replaces its session on restart.
type session struct {
	log     *slog.Logger
	id      string
	conn    connectionInfo
	sig     signer
	cmd     *exec.Cmd
	file    string
	cancel  context.CancelFunc
	shell   zmq4.Socket
	control zmq4.Socket
	iopub   zmq4.Socket

	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	sendMu sync.Mutex // zmq sockets are not safe for concurrent sends

	mu     sync.Mutex
	subs   map[string]*subscription
	closed chan struct{} // closed by close()
	reason error         // why the session was closed; set before closed
}

// subscription receives every message whose parent is one request.
type subscription struct {
	ch   chan *Message
	done chan struct{}
}

func startSession(ctx context.Context, cfg Config) (*session, error) {
	conn, err := newConnectionInfo()
	if err != nil {
		return nil, err
	}
	file, err := conn.write(cfg.RuntimeDir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Python, "-m", "ipykernel_launcher", "-f", file)
	cmd.Dir = cfg.Dir
	cmd.Env = cfg.Env
	cmd.Stdout = logWriter{cfg.Logger, "kernel stdout"}
	cmd.Stderr = logWriter{cfg.Logger, "kernel stderr"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.Remove(file)
		return nil, fmt.Errorf("start kernel %s: %w", cfg.Python, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{
		log:    cfg.Logger.With("kernel_pid", cmd.Process.Pid),
		id:     newID(),
		conn:   conn,
		sig:    signer{key: []byte(conn.Key)},
		cmd:    cmd,
		file:   file,
		cancel: cancel,
		exited: make(chan struct{}),
		subs:   map[string]*subscription{},
		closed: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
		s.close(fmt.Errorf("%w: %v", ErrDied, s.waitErr))
	}()
	if err := s.connect(ctx, sctx); err != nil {
		s.shutdown(0)
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		s.shutdown(0)
		return nil, err
	}
	return s, nil
}

// connect waits until the kernel listens on its ports, then dials the
// shell, control and iopub channels.
func (s *session) connect(ctx, sctx context.Context) error {
	for _, port := range s.conn.ports() {
		if err := s.waitPort(ctx, port); err != nil {
			return err
		}
	}
	opts := []zmq4.Option{zmq4.WithDialerRetry(50 * time.Millisecond), zmq4.WithDialerMaxRetries(20)}
	s.iopub = zmq4.NewSub(sctx, opts...)
	if err := s.iopub.Dial(s.conn.endpoint(s.conn.IOPubPort)); err != nil {
		return fmt.Errorf("dial iopub: %w", err)
	}
	if err := s.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		return fmt.Errorf("subscribe iopub: %w", err)
	}
	s.shell = zmq4.NewDealer(sctx, append(opts, zmq4.WithID(zmq4.SocketIdentity(s.id+"-shell")))...)
	if err := s.shell.Dial(s.conn.endpoint(s.conn.ShellPort)); err != nil {
		return fmt.Errorf("dial shell: %w", err)
	}
	s.control = zmq4.NewDealer(sctx, append(opts, zmq4.WithID(zmq4.SocketIdentity(s.id+"-control")))...)
	if err := s.control.Dial(s.conn.endpoint(s.conn.ControlPort)); err != nil {
		return fmt.Errorf("dial control: %w", err)
	}
	go s.read("iopub", s.iopub)
	go s.read("shell", s.shell)
	go s.read("control", s.control)
	return nil
}

func (s *session) waitPort(ctx context.Context, port int) error {
	addr := net.JoinHostPort(s.conn.IP, strconv.Itoa(port))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for kernel port %d: %w", port, ctx.Err())
		case <-s.exited:
			return fmt.Errorf("%w: %v", errExitedDuringStart, s.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitReady sends kernel_info_request until the shell replies and the
// request's iopub status arrives, which proves the iopub subscription is live.
func (s *session) waitReady(ctx context.Context) error {
	for {
		ok, err := s.kernelInfo(ctx, 500*time.Millisecond)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
}

func (s *session) kernelInfo(ctx context.Context, wait time.Duration) (bool, error) {
	req, err := newRequest(s.id, "kernel_info_request", struct{}{})
	if err != nil {
		return false, err
	}
	sub := s.subscribe(req.Header.MsgID)
	defer s.unsubscribe(req.Header.MsgID)
	if err := s.send(s.shell, req); err != nil {
		return false, err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var reply, status bool
	for !reply || !status {
		select {
		case m := <-sub.ch:
			switch {
			case m.Header.MsgType == "kernel_info_reply":
				reply = true
			case m.Channel == "iopub" && m.Header.MsgType == "status":
				status = true
			}
		case <-timer.C:
			return false, nil
		case <-ctx.Done():
			return false, fmt.Errorf("wait for kernel ready: %w", ctx.Err())
		case <-s.closed:
			return false, s.reason
		}
	}
	return true, nil
}

// read receives messages from one socket and routes them to subscriptions.
func (s *session) read(channel string, sock zmq4.Socket) {
	for {
		raw, err := sock.Recv()
		if err != nil {
			select {
			case <-s.closed:
			default:
				s.log.Debug("kernel socket receive stopped", "channel", channel, "err", err)
			}
			return
		}
		m, err := s.sig.decode(raw.Frames)
		if err != nil {
			s.log.Warn("drop kernel message", "channel", channel, "err", err)
			continue
		}
		m.Channel = channel
		s.mu.Lock()
		sub := s.subs[m.ParentHeader.MsgID]
		s.mu.Unlock()
		if sub == nil {
			continue
		}
		select {
		case sub.ch <- m:
		case <-sub.done:
		case <-s.closed:
			return
		}
	}
}

func (s *session) subscribe(msgID string) *subscription {
	sub := &subscription{ch: make(chan *Message, 64), done: make(chan struct{})}
	s.mu.Lock()
	s.subs[msgID] = sub
	s.mu.Unlock()
	return sub
}

func (s *session) unsubscribe(msgID string) {
	s.mu.Lock()
	sub := s.subs[msgID]
	delete(s.subs, msgID)
	s.mu.Unlock()
	if sub != nil {
		close(sub.done)
	}
}

func (s *session) send(sock zmq4.Socket, m *Message) error {
	m.Header.Session = s.id
	frames, err := s.sig.encode(m)
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	select {
	case <-s.closed:
		return s.reason
	default:
	}
	if err := sock.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		return fmt.Errorf("send %s: %w", m.Header.MsgType, err)
	}
	return nil
}

// interrupt sends SIGINT to the kernel process (interrupt_mode "signal").
func (s *session) interrupt() error {
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("interrupt kernel: %w", err)
	}
	return nil
}

// close marks the session closed with a reason (first reason wins) and
// releases the sockets. It does not stop the process.
func (s *session) close(reason error) {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	s.reason = reason
	close(s.closed)
	s.mu.Unlock()
	s.cancel()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for _, sock := range []zmq4.Socket{s.shell, s.control, s.iopub} {
		if sock != nil {
			sock.Close()
		}
	}
}

// shutdown asks the kernel to exit (shutdown_request on control), waits up
// to grace, then kills its process group and removes the connection file.
func (s *session) shutdown(grace time.Duration) {
	if grace > 0 {
		if req, err := newRequest(s.id, "shutdown_request", map[string]bool{"restart": false}); err == nil && s.control != nil {
			if err := s.send(s.control, req); err != nil {
				s.log.Debug("send shutdown_request", "err", err)
			}
		}
		select {
		case <-s.exited:
		case <-time.After(grace):
		}
	}
	s.close(ErrClosed)
	// Negative pid: the whole process group, including children the user started.
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		s.log.Warn("kill kernel", "err", err)
	}
	<-s.exited
	os.Remove(s.file)
}
