package process

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// SendInput writes to a process's stdin pipe or terminal.
func (s *Service) SendInput(_ context.Context, req *connect.Request[rpc.SendInputRequest]) (*connect.Response[rpc.SendInputResponse], error) {
	p, err := s.findRunning(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if err := writeInput(p, req.Msg.GetInput()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&rpc.SendInputResponse{}), nil
}

// CloseStdin closes a process's stdin pipe so it reads EOF.
func (s *Service) CloseStdin(_ context.Context, req *connect.Request[rpc.CloseStdinRequest]) (*connect.Response[rpc.CloseStdinResponse], error) {
	p, err := s.findRunning(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if err := p.closeStdin(); err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewResponse(&rpc.CloseStdinResponse{}), nil
}

// StreamInput feeds one process from a client stream: a start message naming it, then input.
func (s *Service) StreamInput(_ context.Context, stream *connect.ClientStream[rpc.StreamInputRequest]) (*connect.Response[rpc.StreamInputResponse], error) {
	var p *proc
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().(type) {
		case *rpc.StreamInputRequest_Start:
			if p != nil {
				return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("start sent twice"))
			}
			var err error
			if p, err = s.findRunning(ev.Start.GetProcess()); err != nil {
				return nil, err
			}
		case *rpc.StreamInputRequest_Data:
			if p == nil {
				return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("input sent before start"))
			}
			if err := writeInput(p, ev.Data.GetInput()); err != nil {
				return nil, err
			}
		case *rpc.StreamInputRequest_Keepalive:
		default:
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("stream input event is required"))
		}
	}
	if err := stream.Err(); err != nil {
		return nil, fmt.Errorf("receive input: %w", err)
	}
	return connect.NewResponse(&rpc.StreamInputResponse{}), nil
}

func writeInput(p *proc, in *rpc.ProcessInput) error {
	var err error
	switch v := in.GetInput().(type) {
	case *rpc.ProcessInput_Stdin:
		err = p.writeInput(v.Stdin, false)
	case *rpc.ProcessInput_Pty:
		err = p.writeInput(v.Pty, true)
	default:
		return connect.NewError(connect.CodeInvalidArgument, errors.New("input (stdin or pty) is required"))
	}
	if err != nil {
		return connect.NewError(connect.CodeInternal, err)
	}
	return nil
}
