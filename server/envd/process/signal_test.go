package process

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

func TestSendSignal(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	for _, tc := range []struct {
		sig    rpc.Signal
		status string
	}{
		{rpc.Signal_SIGNAL_SIGKILL, "signal: killed"},
		{rpc.Signal_SIGNAL_SIGTERM, "signal: terminated"},
	} {
		es := h.start(t, testCtx(t), connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)}))
		pid := es.expectStart(t)
		if tc.sig == rpc.Signal_SIGNAL_SIGKILL {
			// Only SIGKILL and SIGTERM are supported.
			wantCode(t, h.kill(t, pid, rpc.Signal_SIGNAL_UNSPECIFIED), connect.CodeUnimplemented)
			wantCode(t, h.kill(t, pid, rpc.Signal(2)), connect.CodeUnimplemented)
		}
		if err := h.kill(t, pid, tc.sig); err != nil {
			t.Fatalf("SendSignal %v: %v", tc.sig, err)
		}
		o := &outcome{}
		es.rest(t, o)
		wantEnd(t, o, -1, tc.status, ptr(tc.status))
		if o.end.GetExited() {
			t.Error("end.exited = true for a signalled process")
		}
	}

	err := h.kill(t, 1<<30, rpc.Signal_SIGNAL_SIGKILL)
	wantCode(t, err, connect.CodeNotFound)
	if !strings.Contains(err.Error(), "process with pid 1073741824 not found") {
		t.Errorf("error %q", err)
	}
}

func TestKillReachesChildren(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	es := h.start(t, testCtx(t), connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-c", "sleep 100 & echo $!; wait"}},
		Stdin:   ptr(false),
	}))
	pid := es.expectStart(t)
	o := &outcome{}
	es.until(t, o, "the child's pid", func() bool { return strings.HasSuffix(o.stdout.String(), "\n") })
	child, err := strconv.Atoi(strings.TrimSpace(o.stdout.String()))
	if err != nil {
		t.Fatalf("child pid: %v", err)
	}
	t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) })
	if gone(child) {
		t.Fatal("child not running")
	}

	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
		t.Fatal(err)
	}
	es.rest(t, o)
	wantEnd(t, o, -1, "signal: killed", ptr("signal: killed"))
	eventually(t, "the child to die with its parent", func() bool { return gone(child) })
}

func TestStartDeadlineKillsProcess(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	// The client's timeout travels as Connect-Timeout-Ms and is the process's lifetime.
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-c", "sleep 100 & echo $!; wait"}},
		Stdin:   ptr(false),
	}))
	pid := es.expectStart(t)
	o := &outcome{}
	es.until(t, o, "the child's pid", func() bool { return strings.HasSuffix(o.stdout.String(), "\n") })
	child, err := strconv.Atoi(strings.TrimSpace(o.stdout.String()))
	if err != nil {
		t.Fatalf("child pid: %v", err)
	}
	t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) })
	es.rest(t, o)
	if o.end != nil {
		t.Fatalf("end event despite the deadline: %v", o)
	}
	wantCode(t, o.err, connect.CodeDeadlineExceeded)

	eventually(t, "the process to be killed", func() bool { return gone(int(pid)) && gone(child) })
	eventually(t, "the process to leave the list", func() bool { return h.listed(t, pid) == nil })
}

func TestDeadlineKillsAfterDisconnect(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	es := h.start(t, ctx, connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)}))
	pid := es.expectStart(t)
	// Disconnecting early leaves the process running, but its lifetime still ends at the deadline.
	cancel()
	p := h.svc.reg.byPID(pid)
	select {
	case <-p.done:
	case <-time.After(patience):
		t.Fatal("process outlived its deadline")
	}
	if got := p.end.GetStatus(); got != "signal: killed" {
		t.Errorf("status %q, want signal: killed", got)
	}
}

func TestCloseKillsEverything(t *testing.T) {
	svc := NewService(sandboxenv.New(sandboxenv.Defaults{}), slog.New(slog.DiscardHandler))
	h := serve(t, svc)
	es := h.start(t, testCtx(t), connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)}))
	pid := es.expectStart(t)

	svc.Close()
	if !gone(int(pid)) {
		t.Error("process still running after Close")
	}
	s, err := h.client.Start(testCtx(t), connect.NewRequest(&rpc.StartRequest{Process: shell("true")}))
	if err == nil {
		for s.Receive() {
			t.Errorf("unexpected event %v", s.Msg())
		}
		err = s.Err()
	}
	wantCode(t, err, connect.CodeUnavailable)
}

func TestOutputHeldByOrphanDoesNotHang(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	h.svc.outputGrace = 100 * time.Millisecond
	_, o := h.run(t, connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100 & echo $!"), Stdin: ptr(false)}))
	wantEnd(t, o, 0, "exit status 0", nil)
	orphan, err := strconv.Atoi(strings.TrimSpace(o.stdout.String()))
	if err != nil {
		t.Fatalf("orphan pid from %v: %v", o, err)
	}
	_ = unix.Kill(orphan, unix.SIGKILL)
}
