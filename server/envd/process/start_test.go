package process

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

func TestStartOutputAndExitCode(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})

	_, o := h.run(t, connect.NewRequest(&rpc.StartRequest{
		Process: shell("echo out; echo err >&2"),
		Stdin:   ptr(false),
	}))
	wantEnd(t, o, 0, "exit status 0", nil)
	if !o.end.GetExited() {
		t.Error("end.exited = false for a normal exit")
	}
	if o.stdout.String() != "out\n" || o.stderr.String() != "err\n" {
		t.Errorf("output: %v", o)
	}

	_, o = h.run(t, connect.NewRequest(&rpc.StartRequest{Process: shell("echo failing >&2; exit 2"), Stdin: ptr(false)}))
	wantEnd(t, o, 2, "exit status 2", ptr("exit status 2"))
	if o.stderr.String() != "failing\n" {
		t.Errorf("output: %v", o)
	}
}

func TestStartLargeOutputIsComplete(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	// Several pipe buffers' worth, written right before exiting: all of it must precede the end event.
	_, o := h.run(t, connect.NewRequest(&rpc.StartRequest{
		Process: shell("head -c 1000000 /dev/zero | tr '\\0' x"),
		Stdin:   ptr(false),
	}))
	wantEnd(t, o, 0, "exit status 0", nil)
	if got := o.stdout.Len(); got != 1000000 || strings.Trim(o.stdout.String(), "x") != "" {
		t.Errorf("got %d bytes of stdout, want 1000000 x", got)
	}
}

func TestStartEnvAndCwd(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{EnvVars: map[string]string{"E2B_SANDBOX": "true", "FOO": "default"}})
	dir := t.TempDir()

	_, o := h.run(t, connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{
			Cmd:  "/bin/sh",
			Args: []string{"-c", `echo "$FOO $E2B_SANDBOX $USER $HOME"; pwd`},
			Envs: map[string]string{"FOO": "bar"},
			Cwd:  ptr(dir),
		},
		Stdin: ptr(false),
	}))
	wantEnd(t, o, 0, "exit status 0", nil)
	// envd takes HOME from the password database, as a login does, not from its own environment.
	root, err := user.Lookup("root")
	if err != nil {
		t.Fatal(err)
	}
	want := "bar true root " + root.HomeDir + "\n" + dir + "\n"
	if o.stdout.String() != want {
		t.Errorf("stdout %q, want %q", o.stdout.String(), want)
	}
}

func TestStartBadCwd(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cwd := range []string{"/does/not/exist", file} {
		s, err := h.client.Start(testCtx(t), connect.NewRequest(&rpc.StartRequest{
			Process: &rpc.ProcessConfig{Cmd: "/bin/true", Cwd: ptr(cwd)},
		}))
		if err == nil {
			for s.Receive() {
				t.Errorf("cwd %s: unexpected event %v", cwd, s.Msg())
			}
			err = s.Err()
		}
		wantCode(t, err, connect.CodeInvalidArgument)
		if want := "cwd '" + cwd + "' does not exist"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestStartUnknownUser(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	req := connect.NewRequest(&rpc.StartRequest{Process: &rpc.ProcessConfig{Cmd: "/bin/true"}})
	req.Header().Set("Authorization", basicAuth("no-such-user"))
	s, err := h.client.Start(testCtx(t), req)
	if err == nil {
		for s.Receive() {
			t.Errorf("unexpected event %v", s.Msg())
		}
		err = s.Err()
	}
	wantCode(t, err, connect.CodeUnauthenticated)
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Message() != "invalid username: 'no-such-user'" {
		t.Errorf("error message %q", err)
	}
}

func TestStartAsOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	h := newHarness(t, sandboxenv.Defaults{})
	req := connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{Cmd: "/bin/sh", Args: []string{"-c", `id -un; echo "$HOME"`}, Cwd: ptr("/tmp")},
		Stdin:   ptr(false),
	})
	req.Header().Set("Authorization", basicAuth("nobody"))
	es := h.start(t, testCtx(t), req)
	es.expectStart(t)
	o := &outcome{}
	es.rest(t, o)
	wantEnd(t, o, 0, "exit status 0", nil)
	if o.stdout.String() != "nobody\n/nonexistent\n" {
		t.Errorf("output: %v", o)
	}
}

func TestStartUnknownCommand(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	s, err := h.client.Start(testCtx(t), connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{Cmd: "/no/such/binary", Cwd: ptr("/")},
	}))
	if err == nil {
		for s.Receive() {
			t.Errorf("unexpected event %v", s.Msg())
		}
		err = s.Err()
	}
	wantCode(t, err, connect.CodeInternal)
}
