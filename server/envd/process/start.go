package process

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// Start runs a command or a PTY and streams its events. The request deadline (Connect-Timeout-Ms) is
// the process's lifetime; a client that disconnects earlier leaves the process running.
func (s *Service) Start(ctx context.Context, req *connect.Request[rpc.StartRequest], stream *connect.ServerStream[rpc.StartResponse]) error {
	spec, err := s.startSpec(req)
	if err != nil {
		return err
	}
	p, err := spawn(spec, s.log)
	if err != nil {
		return connect.NewError(connect.CodeInternal, fmt.Errorf("error starting process: %w", err))
	}
	onEnd := func(p *proc) {
		s.reg.retire(p, s.retention)
		s.log.Info("process ended", "pid", p.pid, "status", p.end.GetStatus())
	}
	if err := s.reg.add(p); err != nil {
		_ = p.signal(unix.SIGKILL)
		p.run(s.outputGrace, onEnd) // still reap it
		return connect.NewError(connect.CodeUnavailable, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		p.killAt(deadline)
	}
	// Attached before any output is read, so this stream misses nothing.
	sub, _ := p.subscribe()
	defer p.unsubscribe(sub)
	p.run(s.outputGrace, onEnd)
	s.log.Info("process started", "pid", p.pid, "cmd", spec.config.GetCmd(), "user", spec.user.Name,
		"cwd", spec.config.GetCwd(), "pty", spec.pty != nil, "tag", req.Msg.GetTag())

	err = follow(ctx, p, sub, req.Header(), func(ev *rpc.ProcessEvent) error {
		return stream.Send(&rpc.StartResponse{Event: ev})
	})
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The kill timer fires at this same deadline; make sure of it and wait, so that the client's
		// timeout means the process is gone.
		_ = p.signal(unix.SIGKILL)
		s.awaitEnd(p)
		return connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("process %d killed: deadline exceeded", p.pid))
	}
	return err
}

// startSpec validates a Start request and resolves its user, working directory and environment.
func (s *Service) startSpec(req *connect.Request[rpc.StartRequest]) (spawnSpec, error) {
	cfg := req.Msg.GetProcess()
	if cfg.GetCmd() == "" {
		return spawnSpec{}, connect.NewError(connect.CodeInvalidArgument, errors.New("process.cmd is required"))
	}
	u, err := s.user(req.Header())
	if err != nil {
		return spawnSpec{}, err
	}
	cwd, err := s.env.ResolvePath(cfg.GetCwd(), u)
	if err != nil {
		return spawnSpec{}, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("cwd: %w", err))
	}
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		return spawnSpec{}, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("cwd '%s' does not exist", cwd))
	}
	spec := spawnSpec{
		config: &rpc.ProcessConfig{
			Cmd:  cfg.GetCmd(),
			Args: slices.Clone(cfg.GetArgs()),
			Envs: maps.Clone(cfg.GetEnvs()),
			Cwd:  &cwd,
		},
		user:     u,
		env:      s.env.ProcessEnv(u, cfg.GetEnvs()),
		stdin:    req.Msg.Stdin == nil || req.Msg.GetStdin(),
		workload: s.workload,
	}
	if req.Msg.Tag != nil {
		tag := req.Msg.GetTag()
		spec.tag = &tag
	}
	if req.Msg.Pty != nil {
		size := req.Msg.GetPty().GetSize()
		spec.pty = &rpc.PTY_Size{Cols: size.GetCols(), Rows: size.GetRows()}
		if spec.pty.Cols == 0 || spec.pty.Rows == 0 {
			spec.pty.Cols, spec.pty.Rows = defaultCols, defaultRows
		}
	}
	return spec, nil
}

// awaitEnd waits, boundedly, for a killed process to be reaped and its output drained.
func (s *Service) awaitEnd(p *proc) {
	timer := time.NewTimer(reapWait + s.outputGrace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		s.log.Warn("killed process has not ended yet", "pid", p.pid)
	}
}
