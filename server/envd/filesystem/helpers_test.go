package filesystem

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem/filesystemconnect"
)

// harness serves one Service over real HTTP and talks to it with the JSON codec, as the SDK does.
type harness struct {
	svc    *Service
	env    *sandboxenv.Env
	me     *user.User
	client filesystemconnect.FilesystemClient
	url    string
	dir    string // a fresh directory, symlinks resolved, that is also the default workdir
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := sandboxenv.New(sandboxenv.Defaults{DefaultUser: me.Username, DefaultWorkdir: dir})
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := NewService(env, log)
	mux := http.NewServeMux()
	mux.Handle(filesystemconnect.NewFilesystemHandler(svc))
	srv := httptest.NewServer(mux)
	// Cleanups run last-in first-out: the server (and any stream still open) goes before the watchers.
	t.Cleanup(svc.Close)
	t.Cleanup(srv.Close)
	return &harness{
		svc:    svc,
		env:    env,
		me:     me,
		client: filesystemconnect.NewFilesystemClient(srv.Client(), srv.URL, connect.WithProtoJSON()),
		url:    srv.URL,
		dir:    dir,
	}
}

// path joins elements under the harness directory.
func (h *harness) path(elem ...string) string {
	return filepath.Join(append([]string{h.dir}, elem...)...)
}

// testWriter sends service logs to the test log, so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// asUser makes req act as name through Basic auth, as the SDK's `user:` option does.
func asUser[T any](req *connect.Request[T], name string) *connect.Request[T] {
	req.Header().Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(name+":")))
	return req
}

func wantCode(t *testing.T, err error, want connect.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if got := connect.CodeOf(err); got != want {
		t.Fatalf("got code %v (%v), want %v", got, err, want)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // the umask may have narrowed it
		t.Fatal(err)
	}
}

func mkdirs(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// xattrDir returns a directory whose filesystem takes user xattrs: /tmp may be a tmpfs without them.
func xattrDir(t *testing.T) string {
	t.Helper()
	for _, base := range []string{t.TempDir(), "/var/tmp"} {
		dir, err := os.MkdirTemp(base, "xattr")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		probe := filepath.Join(dir, "probe")
		if err := os.WriteFile(probe, nil, 0o644); err != nil {
			continue
		}
		if err := unix.Lsetxattr(probe, sandboxenv.MetadataPrefix+"probe", []byte("1"), 0); err == nil {
			os.Remove(probe)
			return dir
		}
	}
	t.Fatal("no directory with user xattr support (tried the test temp dir and /var/tmp)")
	return ""
}

// inotifyInstances counts this process's inotify file descriptors: a watch that outlives its stream
// or watcher shows up here.
func inotifyInstances(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("list fds: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

// eventually polls cond until it holds, failing the test after a generous timeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
