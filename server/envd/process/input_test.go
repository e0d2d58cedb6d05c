package process

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

func TestStdinSendAndClose(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	ctx := testCtx(t)
	// stdin absent means enabled, as for pty.create and older SDKs.
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{Process: &rpc.ProcessConfig{Cmd: "cat"}}))
	pid := es.expectStart(t)

	_, err := h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(pid), Input: stdin("hello\n")}))
	if err != nil {
		t.Fatalf("SendInput: %v", err)
	}
	o := &outcome{}
	es.until(t, o, "echoed input", func() bool { return o.stdout.String() == "hello\n" })

	// Input of the wrong kind is refused.
	_, err = h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(pid), Input: ptyInput("x")}))
	wantCode(t, err, connect.CodeInternal)
	// A pipe process has no terminal to resize.
	_, err = h.client.Update(ctx, connect.NewRequest(&rpc.UpdateRequest{
		Process: pidSel(pid), Pty: &rpc.PTY{Size: &rpc.PTY_Size{Cols: 10, Rows: 10}},
	}))
	wantCode(t, err, connect.CodeInternal)

	if _, err := h.client.CloseStdin(ctx, connect.NewRequest(&rpc.CloseStdinRequest{Process: pidSel(pid)})); err != nil {
		t.Fatalf("CloseStdin: %v", err)
	}
	es.rest(t, o)
	wantEnd(t, o, 0, "exit status 0", nil)
}

func TestStdinAfterCloseIsRefused(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	ctx := testCtx(t)
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{Process: shell("exec 0<&-; sleep 100"), Stdin: ptr(true)}))
	pid := es.expectStart(t)
	if _, err := h.client.CloseStdin(ctx, connect.NewRequest(&rpc.CloseStdinRequest{Process: pidSel(pid)})); err != nil {
		t.Fatalf("CloseStdin: %v", err)
	}
	_, err := h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(pid), Input: stdin("x")}))
	wantCode(t, err, connect.CodeInternal)
	if !strings.Contains(err.Error(), "stdin not enabled or closed") {
		t.Errorf("error %q", err)
	}
	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
		t.Fatal(err)
	}
	o := &outcome{}
	es.rest(t, o)
}

func TestStdinDisabledIsDevNull(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	// cat sees EOF at once instead of waiting for input that can never come.
	_, o := h.run(t, connect.NewRequest(&rpc.StartRequest{Process: shell("cat; echo done"), Stdin: ptr(false)}))
	wantEnd(t, o, 0, "exit status 0", nil)
	if o.stdout.String() != "done\n" {
		t.Errorf("output: %v", o)
	}

	ctx := testCtx(t)
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)}))
	pid := es.expectStart(t)
	_, err := h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(pid), Input: stdin("x")}))
	wantCode(t, err, connect.CodeInternal)
	if !strings.Contains(err.Error(), "stdin not enabled or closed") {
		t.Errorf("error %q", err)
	}
	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
		t.Fatal(err)
	}
	o = &outcome{}
	es.rest(t, o)
	wantEnd(t, o, -1, "signal: killed", ptr("signal: killed"))
}

func TestInputToUnknownProcess(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	ctx := testCtx(t)
	_, err := h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: pidSel(1 << 30), Input: stdin("x")}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = h.client.CloseStdin(ctx, connect.NewRequest(&rpc.CloseStdinRequest{Process: tagSel("nope")}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Input: stdin("x")}))
	wantCode(t, err, connect.CodeInvalidArgument)
}

func TestStreamInput(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	ctx := testCtx(t)
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{Process: &rpc.ProcessConfig{Cmd: "cat"}, Tag: ptr("cat"), Stdin: ptr(true)}))
	es.expectStart(t)

	in := h.client.StreamInput(ctx)
	msgs := []*rpc.StreamInputRequest{
		{Event: &rpc.StreamInputRequest_Start{Start: &rpc.StreamInputRequest_StartEvent{Process: tagSel("cat")}}},
		{Event: &rpc.StreamInputRequest_Keepalive{Keepalive: &rpc.StreamInputRequest_KeepAlive{}}},
		{Event: &rpc.StreamInputRequest_Data{Data: &rpc.StreamInputRequest_DataEvent{Input: stdin("one ")}}},
		{Event: &rpc.StreamInputRequest_Data{Data: &rpc.StreamInputRequest_DataEvent{Input: stdin("two\n")}}},
	}
	for _, m := range msgs {
		if err := in.Send(m); err != nil {
			t.Fatalf("StreamInput send: %v", err)
		}
	}
	if _, err := in.CloseAndReceive(); err != nil {
		t.Fatalf("StreamInput: %v", err)
	}
	o := &outcome{}
	es.until(t, o, "streamed input", func() bool { return o.stdout.String() == "one two\n" })

	// Input before start is a protocol error.
	bad := h.client.StreamInput(ctx)
	_ = bad.Send(msgs[2])
	_, err := bad.CloseAndReceive()
	wantCode(t, err, connect.CodeInvalidArgument)
}
