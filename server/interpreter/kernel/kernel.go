// Package kernel is a client for one Jupyter kernel (ipykernel) spoken to
// directly over ZeroMQ with the Jupyter messaging protocol: it starts the
// kernel process with a connection file, executes code while streaming its
// output, and interrupts, restarts and shuts the kernel down.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

var (
	// ErrClosed is returned for calls on a kernel that was shut down.
	ErrClosed = errors.New("kernel is shut down")
	// ErrRestarted is returned by an Execute whose kernel was restarted.
	ErrRestarted = errors.New("kernel was restarted")
	// ErrDied is returned when the kernel process exits unexpectedly.
	ErrDied = errors.New("kernel process exited")
)

// startAttempts bounds how often start retries a kernel that exited at once.
const startAttempts = 3

var errExitedDuringStart = errors.New("kernel exited during start")

// Config describes how to start a kernel.
type Config struct {
	// Python is the interpreter that has ipykernel installed (default /usr/bin/python3).
	Python string
	// Dir is the kernel's working directory (default: the current one).
	Dir string
	// Env is the kernel's environment (default: this process's environment).
	Env []string
	// RuntimeDir holds connection files (default: os.TempDir()).
	RuntimeDir string
	// StartTimeout bounds start and restart (default 60s).
	StartTimeout time.Duration
	// InterruptGrace is how long a cancelled Execute waits for the
	// interrupted code to stop (default 5s).
	InterruptGrace time.Duration
	// InitCode, if set, is executed silently after every start and restart,
	// before the kernel is handed out; an exception in it fails the start.
	InitCode string
	// Logger receives kernel diagnostics (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Python == "" {
		c.Python = "/usr/bin/python3"
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.RuntimeDir == "" {
		c.RuntimeDir = os.TempDir()
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 60 * time.Second
	}
	if c.InterruptGrace == 0 {
		c.InterruptGrace = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Kernel is a client for one kernel. Its methods are safe for concurrent
// use; the kernel itself runs executions one after another.
type Kernel struct {
	cfg Config

	mu     sync.Mutex
	cur    *session
	closed bool
}

// Start launches a kernel and waits until it answers kernel_info_request.
func Start(ctx context.Context, cfg Config) (*Kernel, error) {
	cfg = cfg.withDefaults()
	s, err := start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Kernel{cfg: cfg, cur: s}, nil
}

func start(ctx context.Context, cfg Config) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	// The ports are free when chosen but another process may take one
	// before the kernel binds it; the kernel then exits and we try again.
	var s *session
	var err error
	for attempt := 1; ; attempt++ {
		s, err = startSession(ctx, cfg)
		if err == nil {
			break
		}
		if !errors.Is(err, errExitedDuringStart) || attempt == startAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("start kernel: %w", err)
		}
		cfg.Logger.Warn("kernel exited during start; retrying", "attempt", attempt, "err", err)
	}
	if cfg.InitCode != "" {
		reply, err := s.execute(ctx, cfg.InterruptGrace, Request{Code: cfg.InitCode, Silent: true}, Callbacks{})
		if err == nil && reply.Status != "ok" {
			err = fmt.Errorf("status %s", reply.Status)
			if reply.Error != nil {
				err = fmt.Errorf("%s: %s", reply.Error.Name, reply.Error.Value)
			}
		}
		if err != nil {
			s.shutdown(0)
			return nil, fmt.Errorf("run kernel init code: %w", err)
		}
	}
	s.log.Debug("kernel ready")
	return s, nil
}

func (k *Kernel) session() (*session, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	return k.cur, nil
}

// Interrupt interrupts the code the kernel is running, if any.
func (k *Kernel) Interrupt() error {
	s, err := k.session()
	if err != nil {
		return err
	}
	return s.interrupt()
}

// Restart replaces the kernel process with a fresh one: all state is lost.
// Executions running on the old process fail with ErrRestarted.
func (k *Kernel) Restart(ctx context.Context) error {
	s, err := start(ctx, k.cfg)
	if err != nil {
		return err
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		s.shutdown(0)
		return ErrClosed
	}
	old := k.cur
	k.cur = s
	k.mu.Unlock()
	old.close(ErrRestarted)
	old.shutdown(0)
	return nil
}

// Close shuts the kernel down. It is idempotent.
func (k *Kernel) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	s := k.cur
	k.mu.Unlock()
	s.shutdown(2 * time.Second)
	return nil
}

// Done is closed when the current kernel process is gone (shut down or died).
func (k *Kernel) Done() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur.exited
}

// logWriter forwards kernel process output to a logger, one record per write.
type logWriter struct {
	log *slog.Logger
	msg string
}

var _ io.Writer = logWriter{}

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Debug(w.msg, "text", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
