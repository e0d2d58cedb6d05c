package filesystem

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

const (
	// watcherIdleTimeout drops a polling watcher nobody asked for events for this long: a client that
	// went away without RemoveWatcher must not hold an inotify instance forever.
	watcherIdleTimeout = 10 * time.Minute
	// maxQueuedEvents bounds what one unpolled watcher may hold; later events are dropped.
	maxQueuedEvents = 10000
)

// CreateWatcher starts a watcher whose events the client collects with GetWatcherEvents, for clients
// that cannot hold a stream open.
func (s *Service) CreateWatcher(_ context.Context, req *connect.Request[filesystem.CreateWatcherRequest]) (*connect.Response[filesystem.CreateWatcherResponse], error) {
	w, err := s.openWatcher(req.Header(), watchOptions{
		path:               req.Msg.GetPath(),
		recursive:          req.Msg.GetRecursive(),
		includeEntry:       req.Msg.GetIncludeEntry(),
		allowNetworkMounts: req.Msg.GetAllowNetworkMounts(),
	})
	if err != nil {
		return nil, err
	}
	id := s.watchers.add(w)
	return connect.NewResponse(&filesystem.CreateWatcherResponse{WatcherId: id}), nil
}

// GetWatcherEvents returns, and forgets, the events queued since the previous call.
func (s *Service) GetWatcherEvents(_ context.Context, req *connect.Request[filesystem.GetWatcherEventsRequest]) (*connect.Response[filesystem.GetWatcherEventsResponse], error) {
	events, err := s.watchers.take(req.Msg.GetWatcherId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&filesystem.GetWatcherEventsResponse{Events: events}), nil
}

// RemoveWatcher stops a watcher.
func (s *Service) RemoveWatcher(_ context.Context, req *connect.Request[filesystem.RemoveWatcherRequest]) (*connect.Response[filesystem.RemoveWatcherResponse], error) {
	if !s.watchers.remove(req.Msg.GetWatcherId()) {
		return nil, watcherNotFound(req.Msg.GetWatcherId())
	}
	return connect.NewResponse(&filesystem.RemoveWatcherResponse{}), nil
}

func watcherNotFound(id string) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf("watcher with id '%s' not found", id))
}

// watcherRegistry holds the polling watchers of one Service.
type watcherRegistry struct {
	log  *slog.Logger
	idle time.Duration

	mu   sync.Mutex
	byID map[string]*pollWatcher
}

func newWatcherRegistry(log *slog.Logger) *watcherRegistry {
	return &watcherRegistry{log: log, idle: watcherIdleTimeout, byID: map[string]*pollWatcher{}}
}

// pollWatcher queues the events of a dirWatcher, read by its own goroutine, until they are taken.
type pollWatcher struct {
	w      *dirWatcher
	stop   context.CancelFunc
	done   chan struct{}
	expiry *time.Timer // drops the watcher when nobody polls it

	mu      sync.Mutex
	events  []*filesystem.FilesystemEvent
	dropped int
	err     error // why collecting stopped, reported once the queue is drained
}

func (r *watcherRegistry) add(w *dirWatcher) string {
	id := rand.Text()
	ctx, cancel := context.WithCancel(context.Background())
	pw := &pollWatcher{w: w, stop: cancel, done: make(chan struct{})}
	go pw.collect(ctx)
	// Under the lock, so that whoever finds the watcher in the map also sees its timer.
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[id] = pw
	pw.expiry = time.AfterFunc(r.idle, func() {
		if r.remove(id) {
			r.log.Info("watch: dropped idle watcher", "id", id, "path", w.root, "idle", r.idle)
		}
	})
	return id
}

func (r *watcherRegistry) get(id string) *pollWatcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// take drains the watcher's queue. A watcher that failed returns its queued events first, then its
// error, and is gone after that.
func (r *watcherRegistry) take(id string) ([]*filesystem.FilesystemEvent, error) {
	pw := r.get(id)
	if pw == nil {
		return nil, watcherNotFound(id)
	}
	pw.expiry.Reset(r.idle)
	pw.mu.Lock()
	events, dropped, err := pw.events, pw.dropped, pw.err
	pw.events, pw.dropped = nil, 0
	pw.mu.Unlock()
	if dropped > 0 {
		r.log.Warn("watch: events dropped, watcher not polled often enough", "id", id, "dropped", dropped)
	}
	if len(events) == 0 && err != nil {
		r.remove(id)
		return nil, err
	}
	if events == nil {
		events = []*filesystem.FilesystemEvent{}
	}
	return events, nil
}

// remove stops the watcher and reports whether it existed.
func (r *watcherRegistry) remove(id string) bool {
	r.mu.Lock()
	pw := r.byID[id]
	delete(r.byID, id)
	r.mu.Unlock()
	if pw == nil {
		return false
	}
	pw.close()
	return true
}

func (r *watcherRegistry) closeAll() {
	r.mu.Lock()
	all := r.byID
	r.byID = map[string]*pollWatcher{}
	r.mu.Unlock()
	for _, pw := range all {
		pw.close()
	}
}

func (pw *pollWatcher) close() {
	pw.expiry.Stop()
	pw.stop()
	<-pw.done
	pw.w.close()
}

func (pw *pollWatcher) collect(ctx context.Context) {
	defer close(pw.done)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-pw.w.fsw.Events:
			if !ok {
				pw.fail(fmt.Errorf("watch '%s': inotify instance closed", pw.w.root))
				return
			}
			pw.queue(pw.w.convert(ev))
		case err, ok := <-pw.w.fsw.Errors:
			if !ok {
				pw.fail(fmt.Errorf("watch '%s': inotify instance closed", pw.w.root))
				return
			}
			if pw.w.fatal(err) {
				pw.fail(fmt.Errorf("watch '%s': %w", pw.w.root, err))
				return
			}
		}
	}
}

func (pw *pollWatcher) queue(events []*filesystem.FilesystemEvent) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	room := max(maxQueuedEvents-len(pw.events), 0)
	if len(events) > room {
		pw.dropped += len(events) - room
		events = events[:room]
	}
	pw.events = append(pw.events, events...)
}

func (pw *pollWatcher) fail(err error) {
	pw.mu.Lock()
	pw.err = connect.NewError(connect.CodeInternal, err)
	pw.mu.Unlock()
}
