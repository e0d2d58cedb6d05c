package process

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// Connect attaches to a running process, or replays the end of one that finished recently. Its
// deadline only ends the stream; the process is left alone.
func (s *Service) Connect(ctx context.Context, req *connect.Request[rpc.ConnectRequest], stream *connect.ServerStream[rpc.ConnectResponse]) error {
	p, err := s.find(req.Msg.GetProcess())
	if err != nil {
		return err
	}
	send := func(ev *rpc.ProcessEvent) error {
		return stream.Send(&rpc.ConnectResponse{Event: ev})
	}
	sub, end := p.subscribe()
	if end != nil {
		if err := send(startEvent(p.pid)); err != nil {
			return fmt.Errorf("send start event: %w", err)
		}
		if err := send(endEventMsg(end)); err != nil {
			return fmt.Errorf("send end event: %w", err)
		}
		return nil
	}
	defer p.unsubscribe(sub)
	return follow(ctx, p, sub, req.Header(), send)
}
