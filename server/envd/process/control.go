package process

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// List reports the running processes with the configuration they were started with.
func (s *Service) List(context.Context, *connect.Request[rpc.ListRequest]) (*connect.Response[rpc.ListResponse], error) {
	procs := s.reg.all()
	out := make([]*rpc.ProcessInfo, 0, len(procs))
	for _, p := range procs {
		if p.ended() {
			continue
		}
		out = append(out, &rpc.ProcessInfo{Pid: p.pid, Tag: p.tag, Config: p.config})
	}
	return connect.NewResponse(&rpc.ListResponse{Processes: out}), nil
}

// SendSignal signals a process's group. Only the signals the SDKs send are supported.
func (s *Service) SendSignal(_ context.Context, req *connect.Request[rpc.SendSignalRequest]) (*connect.Response[rpc.SendSignalResponse], error) {
	p, err := s.findRunning(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	var sig syscall.Signal
	switch req.Msg.GetSignal() {
	case rpc.Signal_SIGNAL_SIGKILL:
		sig = unix.SIGKILL
	case rpc.Signal_SIGNAL_SIGTERM:
		sig = unix.SIGTERM
	default:
		return nil, connect.NewError(connect.CodeUnimplemented, fmt.Errorf("signal %s is not supported", req.Msg.GetSignal()))
	}
	if err := p.signal(sig); err != nil {
		if errors.Is(err, errExited) {
			return nil, notFound(p)
		}
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	s.log.Info("process signalled", "pid", p.pid, "signal", sig.String())
	return connect.NewResponse(&rpc.SendSignalResponse{}), nil
}

// Update resizes a process's terminal.
func (s *Service) Update(_ context.Context, req *connect.Request[rpc.UpdateRequest]) (*connect.Response[rpc.UpdateResponse], error) {
	p, err := s.findRunning(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if req.Msg.Pty != nil {
		size := req.Msg.GetPty().GetSize()
		if err := p.resize(size.GetCols(), size.GetRows()); err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("error resizing tty: %w", err))
		}
	}
	return connect.NewResponse(&rpc.UpdateResponse{}), nil
}
