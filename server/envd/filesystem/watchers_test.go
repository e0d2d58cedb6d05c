package filesystem

import (
	"context"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

func createWatcher(t *testing.T, h *harness, msg *filesystem.CreateWatcherRequest) string {
	t.Helper()
	res, err := h.client.CreateWatcher(context.Background(), connect.NewRequest(msg))
	if err != nil {
		t.Fatalf("create watcher on %s: %v", msg.GetPath(), err)
	}
	if res.Msg.GetWatcherId() == "" {
		t.Fatal("empty watcher id")
	}
	return res.Msg.GetWatcherId()
}

func getEvents(h *harness, id string) ([]*filesystem.FilesystemEvent, error) {
	res, err := h.client.GetWatcherEvents(context.Background(), connect.NewRequest(&filesystem.GetWatcherEventsRequest{WatcherId: id}))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetEvents(), nil
}

// pollFor polls the watcher until the event arrives and returns everything collected meanwhile.
func pollFor(t *testing.T, h *harness, id, name string, typ filesystem.EventType) []*filesystem.FilesystemEvent {
	t.Helper()
	var all []*filesystem.FilesystemEvent
	eventually(t, typ.String()+" "+name, func() bool {
		events, err := getEvents(h, id)
		if err != nil {
			t.Fatalf("get events: %v", err)
		}
		all = append(all, events...)
		for _, ev := range events {
			if ev.GetName() == name && ev.GetType() == typ {
				return true
			}
		}
		return false
	})
	return all
}

func TestPollingWatcher(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mkdirs(t, h.path("sub"))
	before := inotifyInstances(t)
	id := createWatcher(t, h, &filesystem.CreateWatcherRequest{Path: h.dir, Recursive: true, IncludeEntry: true})
	other := createWatcher(t, h, &filesystem.CreateWatcherRequest{Path: h.dir})
	if id == other {
		t.Fatalf("two watchers share the id %q", id)
	}

	writeFile(t, h.path("sub", "f"), "x", 0o644)
	events := pollFor(t, h, id, "sub/f", evCreate)
	for _, ev := range events {
		if ev.GetName() == "sub/f" && ev.GetType() == evCreate && ev.GetEntry().GetPath() != h.path("sub", "f") {
			t.Errorf("create event entry = %v, want %s", ev.GetEntry(), h.path("sub", "f"))
		}
	}
	// Taken events are gone: with nothing new, the next poll is empty.
	writeFile(t, h.path("marker"), "", 0o644)
	pollFor(t, h, id, "marker", evCreate)
	if err := os.Remove(h.path("marker")); err != nil {
		t.Fatal(err)
	}
	for _, ev := range pollFor(t, h, id, "marker", evRemove) {
		if ev.GetName() == "sub/f" {
			t.Errorf("event delivered twice: %v", ev)
		}
	}

	for _, w := range []string{id, other} {
		if _, err := h.client.RemoveWatcher(ctx, connect.NewRequest(&filesystem.RemoveWatcherRequest{WatcherId: w})); err != nil {
			t.Fatalf("remove watcher: %v", err)
		}
	}
	if got := inotifyInstances(t); got != before {
		t.Errorf("%d inotify instances after removing the watchers, want %d", got, before)
	}
	_, err := getEvents(h, id)
	wantCode(t, err, connect.CodeNotFound)
	_, err = h.client.RemoveWatcher(ctx, connect.NewRequest(&filesystem.RemoveWatcherRequest{WatcherId: id}))
	wantCode(t, err, connect.CodeNotFound)
}

func TestPollingWatcherErrors(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	writeFile(t, h.path("file"), "", 0o644)
	_, err := h.client.CreateWatcher(ctx, connect.NewRequest(&filesystem.CreateWatcherRequest{Path: h.path("missing")}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = h.client.CreateWatcher(ctx, connect.NewRequest(&filesystem.CreateWatcherRequest{Path: h.path("file")}))
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = getEvents(h, "no-such-watcher")
	wantCode(t, err, connect.CodeNotFound)
	_, err = h.client.RemoveWatcher(ctx, connect.NewRequest(&filesystem.RemoveWatcherRequest{WatcherId: "no-such-watcher"}))
	wantCode(t, err, connect.CodeNotFound)
}

func TestPollingWatcherIdleDropped(t *testing.T) {
	h := newHarness(t)
	h.svc.watchers.idle = 200 * time.Millisecond
	before := inotifyInstances(t)
	id := createWatcher(t, h, &filesystem.CreateWatcherRequest{Path: h.dir})
	eventually(t, "the idle watcher to be dropped", func() bool { return h.svc.watchers.get(id) == nil })
	// It leaves the registry before its inotify instance is closed.
	eventually(t, "the dropped watcher's inotify instance to close", func() bool { return inotifyInstances(t) == before })
	_, err := getEvents(h, id)
	wantCode(t, err, connect.CodeNotFound)
}

func TestServiceCloseStopsWatchers(t *testing.T) {
	h := newHarness(t)
	before := inotifyInstances(t)
	createWatcher(t, h, &filesystem.CreateWatcherRequest{Path: h.dir})
	createWatcher(t, h, &filesystem.CreateWatcherRequest{Path: h.dir, Recursive: true})
	h.svc.Close()
	if got := inotifyInstances(t); got != before {
		t.Errorf("%d inotify instances after Close, want %d", got, before)
	}
}
