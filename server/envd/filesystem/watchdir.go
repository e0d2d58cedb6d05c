package filesystem

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// WatchDir streams changes under a directory: `start` first (the SDK fails without it), then one
// message per change, and `keepalive` whenever the stream was idle for the client's ping interval so
// that proxies and the SDK's body timeout do not cut it. It runs until the client goes away or the
// request deadline (Connect-Timeout-Ms) passes.
func (s *Service) WatchDir(ctx context.Context, req *connect.Request[filesystem.WatchDirRequest], stream *connect.ServerStream[filesystem.WatchDirResponse]) error {
	w, err := s.openWatcher(req.Header(), watchOptions{
		path:               req.Msg.GetPath(),
		recursive:          req.Msg.GetRecursive(),
		includeEntry:       req.Msg.GetIncludeEntry(),
		allowNetworkMounts: req.Msg.GetAllowNetworkMounts(),
	})
	if err != nil {
		return err
	}
	defer w.close()

	interval := sandboxenv.KeepaliveInterval(req.Header())
	idle := time.NewTimer(interval)
	defer idle.Stop()
	send := func(msg *filesystem.WatchDirResponse) error {
		if err := stream.Send(msg); err != nil {
			return fmt.Errorf("watch '%s': send: %w", w.root, err)
		}
		idle.Reset(interval)
		return nil
	}

	start := &filesystem.WatchDirResponse{Event: &filesystem.WatchDirResponse_Start{Start: &filesystem.WatchDirResponse_StartEvent{}}}
	if err := send(start); err != nil {
		return err
	}
	keepalive := &filesystem.WatchDirResponse{Event: &filesystem.WatchDirResponse_Keepalive{Keepalive: &filesystem.WatchDirResponse_KeepAlive{}}}
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("watch '%s': timeout reached", w.root))
			}
			return nil // the client stopped watching
		case <-idle.C:
			if err := send(keepalive); err != nil {
				return err
			}
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return connect.NewError(connect.CodeInternal, fmt.Errorf("watch '%s': inotify instance closed", w.root))
			}
			for _, fe := range w.convert(ev) {
				if err := send(&filesystem.WatchDirResponse{Event: &filesystem.WatchDirResponse_Filesystem{Filesystem: fe}}); err != nil {
					return err
				}
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return connect.NewError(connect.CodeInternal, fmt.Errorf("watch '%s': inotify instance closed", w.root))
			}
			if w.fatal(err) {
				return connect.NewError(connect.CodeInternal, fmt.Errorf("watch '%s': %w", w.root, err))
			}
		}
	}
}
