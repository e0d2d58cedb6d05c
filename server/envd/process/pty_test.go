package process

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

func TestPTY(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	ctx := testCtx(t)
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{
			Cmd:  "/bin/bash",
			Args: []string{"--norc", "--noprofile", "-i"},
			Envs: map[string]string{"TERM": "dumb", "PS1": "$ "},
		},
		Pty: &rpc.PTY{Size: &rpc.PTY_Size{Cols: 80, Rows: 24}},
	}))
	pid := es.expectStart(t)
	send := func(s string) {
		t.Helper()
		_, err := h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(pid), Input: ptyInput(s)}))
		if err != nil {
			t.Fatalf("SendInput %q: %v", s, err)
		}
	}
	o := &outcome{}

	// The terminal echoes the typed line; the command's output follows on a line of its own.
	send("echo hi\n")
	es.until(t, o, "echo output", func() bool { return strings.Contains(o.pty.String(), "\nhi\r\n") })

	send("stty size; echo tty=$(tty)\n")
	es.until(t, o, "initial size", func() bool { return strings.Contains(o.pty.String(), "\n24 80\r\n") })
	es.until(t, o, "tty name", func() bool { return strings.Contains(o.pty.String(), "tty=/dev/pts/") })

	_, err := h.client.Update(ctx, connect.NewRequest(&rpc.UpdateRequest{
		Process: pidSel(pid), Pty: &rpc.PTY{Size: &rpc.PTY_Size{Cols: 100, Rows: 30}},
	}))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	send("stty size\n")
	es.until(t, o, "resized", func() bool { return strings.Contains(o.pty.String(), "\n30 100\r\n") })

	// Stdin input and CloseStdin do not apply to a terminal.
	_, err = h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(pid), Input: stdin("x")}))
	wantCode(t, err, connect.CodeInternal)
	_, err = h.client.CloseStdin(ctx, connect.NewRequest(&rpc.CloseStdinRequest{Process: pidSel(pid)}))
	wantCode(t, err, connect.CodeInternal)
	if o.stdout.Len() != 0 || o.stderr.Len() != 0 {
		t.Errorf("pty process produced stdout/stderr events: %v", o)
	}

	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
		t.Fatal(err)
	}
	es.rest(t, o)
	wantEnd(t, o, -1, "signal: killed", ptr("signal: killed"))
}

func TestPTYExit(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	// Output written just before exiting must still arrive, and the end must follow.
	_, o := h.run(t, connect.NewRequest(&rpc.StartRequest{
		Process: shell("tty >/dev/null && echo is-a-tty; exit 3"),
		Pty:     &rpc.PTY{Size: &rpc.PTY_Size{Cols: 80, Rows: 24}},
	}))
	wantEnd(t, o, 3, "exit status 3", ptr("exit status 3"))
	if o.pty.String() != "is-a-tty\r\n" {
		t.Errorf("output: %v", o)
	}
}
