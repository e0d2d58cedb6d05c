package process

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// sendFunc sends one event on a Start or Connect stream.
type sendFunc func(*rpc.ProcessEvent) error

// follow sends the start event, then everything sub receives, until the end event, the client
// leaving or the request deadline. The caller detaches sub.
func follow(ctx context.Context, p *proc, sub *subscriber, h http.Header, send sendFunc) error {
	if err := send(startEvent(p.pid)); err != nil {
		return fmt.Errorf("send start event: %w", err)
	}
	return pump(ctx, sub, sandboxenv.KeepaliveInterval(h), send)
}

// pump forwards queued events and sends a keepalive whenever the stream was idle for the interval,
// which keeps proxies and the SDK's body timeout from cutting quiet streams.
func pump(ctx context.Context, sub *subscriber, keepalive time.Duration, send sendFunc) error {
	idle := time.NewTimer(keepalive)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctxError(ctx)
		case <-idle.C:
			if err := send(keepaliveEvent()); err != nil {
				return fmt.Errorf("send keepalive: %w", err)
			}
			idle.Reset(keepalive)
		case <-sub.notify:
			events, overflow := sub.take()
			for _, ev := range events {
				if err := send(ev); err != nil {
					return fmt.Errorf("send event: %w", err)
				}
				if ev.GetEnd() != nil {
					return nil
				}
			}
			if overflow {
				return connect.NewError(connect.CodeResourceExhausted,
					errors.New("stream fell too far behind the process output"))
			}
			idle.Reset(keepalive)
		}
	}
}

func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("stream deadline exceeded"))
	}
	return connect.NewError(connect.CodeCanceled, ctx.Err())
}

func startEvent(pid uint32) *rpc.ProcessEvent {
	return &rpc.ProcessEvent{Event: &rpc.ProcessEvent_Start{Start: &rpc.ProcessEvent_StartEvent{Pid: pid}}}
}

func endEventMsg(end *rpc.ProcessEvent_EndEvent) *rpc.ProcessEvent {
	return &rpc.ProcessEvent{Event: &rpc.ProcessEvent_End{End: end}}
}

func keepaliveEvent() *rpc.ProcessEvent {
	return &rpc.ProcessEvent{Event: &rpc.ProcessEvent_Keepalive{Keepalive: &rpc.ProcessEvent_KeepAlive{}}}
}
