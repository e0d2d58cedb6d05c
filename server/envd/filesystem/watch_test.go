package filesystem

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// watchStream reads a WatchDir stream in the background after checking its start message.
type watchStream struct {
	msgs   chan *filesystem.WatchDirResponse
	done   chan error // the stream's final error, once it ended
	cancel context.CancelFunc
}

func startWatch(t *testing.T, h *harness, ctx context.Context, msg *filesystem.WatchDirRequest, header map[string]string) *watchStream {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	req := connect.NewRequest(msg)
	for k, v := range header {
		req.Header().Set(k, v)
	}
	stream, err := h.client.WatchDir(ctx, req)
	if err != nil {
		cancel()
		t.Fatalf("watch %s: %v", msg.GetPath(), err)
	}
	if !stream.Receive() {
		cancel()
		t.Fatalf("watch %s: stream ended before the start message: %v", msg.GetPath(), stream.Err())
	}
	if stream.Msg().GetStart() == nil {
		cancel()
		t.Fatalf("first message = %v, want start", stream.Msg())
	}
	ws := &watchStream{msgs: make(chan *filesystem.WatchDirResponse), done: make(chan error, 1), cancel: cancel}
	go func() {
		defer close(ws.msgs)
		for stream.Receive() {
			select {
			case ws.msgs <- stream.Msg():
			case <-ctx.Done():
			}
		}
		ws.done <- stream.Err()
		stream.Close()
	}()
	t.Cleanup(func() {
		cancel()
		for range ws.msgs {
		}
	})
	return ws
}

// waitEvent reads until the event name/typ arrives and returns it with the events before it.
func (ws *watchStream) waitEvent(t *testing.T, name string, typ filesystem.EventType) (*filesystem.FilesystemEvent, []*filesystem.FilesystemEvent) {
	t.Helper()
	var seen []*filesystem.FilesystemEvent
	timeout := time.After(10 * time.Second)
	for {
		select {
		case msg, ok := <-ws.msgs:
			if !ok {
				t.Fatalf("stream ended (%v) before %s %s; saw %v", <-ws.done, typ, name, seen)
			}
			ev := msg.GetFilesystem()
			if ev == nil {
				continue
			}
			if ev.GetName() == name && ev.GetType() == typ {
				return ev, seen
			}
			seen = append(seen, ev)
		case <-timeout:
			t.Fatalf("no %s %s event; saw %v", typ, name, seen)
		}
	}
}

// end waits for the stream to finish and returns its error.
func (ws *watchStream) end(t *testing.T) error {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ws.msgs:
			if !ok {
				return <-ws.done
			}
		case <-timeout:
			t.Fatal("stream did not end")
		}
	}
}

const (
	evCreate = filesystem.EventType_EVENT_TYPE_CREATE
	evWrite  = filesystem.EventType_EVENT_TYPE_WRITE
	evRemove = filesystem.EventType_EVENT_TYPE_REMOVE
	evRename = filesystem.EventType_EVENT_TYPE_RENAME
	evChmod  = filesystem.EventType_EVENT_TYPE_CHMOD
)

func TestWatchDirEvents(t *testing.T) {
	h := newHarness(t)
	ws := startWatch(t, h, context.Background(), &filesystem.WatchDirRequest{Path: h.dir}, nil)

	writeFile(t, h.path("f.txt"), "data", 0o644)
	ev, _ := ws.waitEvent(t, "f.txt", evCreate)
	if ev.Entry != nil {
		t.Errorf("entry sent without includeEntry: %v", ev.Entry)
	}
	ws.waitEvent(t, "f.txt", evWrite)
	ws.waitEvent(t, "f.txt", evChmod) // writeFile chmods after writing
	if err := os.Rename(h.path("f.txt"), h.path("g.txt")); err != nil {
		t.Fatal(err)
	}
	ws.waitEvent(t, "f.txt", evRename)
	ws.waitEvent(t, "g.txt", evCreate)
	if err := os.Remove(h.path("g.txt")); err != nil {
		t.Fatal(err)
	}
	ws.waitEvent(t, "g.txt", evRemove)
}

func TestWatchDirNotRecursive(t *testing.T) {
	h := newHarness(t)
	mkdirs(t, h.path("sub"))
	ws := startWatch(t, h, context.Background(), &filesystem.WatchDirRequest{Path: h.dir}, nil)
	writeFile(t, h.path("sub", "inner"), "", 0o644)
	writeFile(t, h.path("marker"), "", 0o644)
	// inotify keeps order within one instance: anything about sub/inner would have come first.
	_, before := ws.waitEvent(t, "marker", evCreate)
	for _, ev := range before {
		if ev.GetName() != "sub" {
			t.Errorf("non-recursive watch reported %s %s", ev.GetType(), ev.GetName())
		}
	}
}

func TestWatchDirRecursive(t *testing.T) {
	h := newHarness(t)
	mkdirs(t, h.path("existing"))
	ws := startWatch(t, h, context.Background(), &filesystem.WatchDirRequest{Path: h.dir, Recursive: true}, nil)

	writeFile(t, h.path("existing", "a"), "", 0o644)
	ws.waitEvent(t, "existing/a", evCreate)

	// A directory created after the watch began is watched too.
	mkdirs(t, h.path("later"))
	ws.waitEvent(t, "later", evCreate)
	writeFile(t, h.path("later", "b"), "", 0o644)
	ws.waitEvent(t, "later/b", evCreate)

	// Nested directories made at once: the inner ones may exist before their parent is watched.
	mkdirs(t, h.path("p", "q", "r"))
	ws.waitEvent(t, "p/q/r", evCreate)
	writeFile(t, h.path("p", "q", "r", "c"), "", 0o644)
	ws.waitEvent(t, "p/q/r/c", evCreate)

	if err := os.RemoveAll(h.path("later")); err != nil {
		t.Fatal(err)
	}
	ws.waitEvent(t, "later/b", evRemove)
	ws.waitEvent(t, "later", evRemove)
}

func TestWatchDirIncludeEntry(t *testing.T) {
	h := newHarness(t)
	ws := startWatch(t, h, context.Background(), &filesystem.WatchDirRequest{Path: h.dir, IncludeEntry: true}, nil)
	writeFile(t, h.path("f"), "abc", 0o600)
	ev, _ := ws.waitEvent(t, "f", evCreate)
	if e := ev.GetEntry(); e.GetPath() != h.path("f") || e.GetName() != "f" || e.GetType() != filesystem.FileType_FILE_TYPE_FILE {
		t.Errorf("create entry = %v, want file %s", e, h.path("f"))
	}
	ev, _ = ws.waitEvent(t, "f", evChmod)
	if ev.GetEntry().GetMode() != 0o600 {
		t.Errorf("chmod entry = %v, want mode 600", ev.GetEntry())
	}
	if err := os.Remove(h.path("f")); err != nil {
		t.Fatal(err)
	}
	ev, _ = ws.waitEvent(t, "f", evRemove)
	if ev.Entry != nil {
		t.Errorf("remove event has an entry: %v", ev.Entry)
	}
}

func TestWatchDirKeepalive(t *testing.T) {
	h := newHarness(t)
	ws := startWatch(t, h, context.Background(), &filesystem.WatchDirRequest{Path: h.dir}, map[string]string{"Keepalive-Ping-Interval": "1"})
	timeout := time.After(10 * time.Second)
	for {
		select {
		case msg := <-ws.msgs:
			if msg.GetKeepalive() != nil {
				return
			}
		case <-timeout:
			t.Fatal("no keepalive with a 1 s interval")
		}
	}
}

func TestWatchDirDeadline(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ws := startWatch(t, h, ctx, &filesystem.WatchDirRequest{Path: h.dir}, nil)
	wantCode(t, ws.end(t), connect.CodeDeadlineExceeded)
}

func TestWatchDirErrors(t *testing.T) {
	h := newHarness(t)
	writeFile(t, h.path("file"), "", 0o644)
	tests := []struct {
		path string
		code connect.Code
	}{
		{h.path("missing"), connect.CodeNotFound},
		{h.path("file"), connect.CodeInvalidArgument},
		{"~nobody/x", connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		stream, err := h.client.WatchDir(context.Background(), connect.NewRequest(&filesystem.WatchDirRequest{Path: tt.path}))
		if err == nil {
			if stream.Receive() {
				t.Errorf("watch %s: got %v, want an error", tt.path, stream.Msg())
			}
			err = stream.Err()
			stream.Close()
		}
		wantCode(t, err, tt.code)
	}
}

func TestWatchDirReleasesWatches(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		mkdirs(t, h.path(fmt.Sprint("d", i), "sub"))
	}
	before := inotifyInstances(t)
	ws := startWatch(t, h, context.Background(), &filesystem.WatchDirRequest{Path: h.dir, Recursive: true}, nil)
	if got := inotifyInstances(t); got != before+1 {
		t.Errorf("open watch: %d inotify instances, want %d", got, before+1)
	}
	ws.cancel()
	ws.end(t)
	eventually(t, "the watch's inotify instance to close", func() bool { return inotifyInstances(t) == before })
}

func TestNetworkMountDetection(t *testing.T) {
	dir := t.TempDir()
	if fs, err := networkMount(dir); err != nil || fs != "" {
		t.Errorf("networkMount(%s) = %q, %v; want a local filesystem", dir, fs, err)
	}
	if typ, err := mountType("/"); err != nil || typ == "" {
		t.Errorf("mountType(/) = %q, %v; want the root filesystem's type", typ, err)
	}
	if !networkFUSE("sshfs") || networkFUSE("fuse-overlayfs") {
		t.Error("sshfs must count as a network filesystem, fuse-overlayfs must not")
	}
	if got := mountinfo.Unescape(`/mnt/with\040space`); got != "/mnt/with space" {
		t.Errorf("mountinfo.Unescape = %q", got)
	}
}
