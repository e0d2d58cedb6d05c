package process

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

func TestDisconnectKeepsProcessAndConnectAttaches(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	startCtx, disconnect := context.WithCancel(testCtx(t))
	es := h.start(t, startCtx, connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{Cmd: "cat"}, Tag: ptr("bg"), Stdin: ptr(true),
	}))
	pid := es.expectStart(t)
	disconnect()

	// Once the Start handler has let go of the process, it must still be running.
	p := h.svc.reg.byPID(pid)
	eventually(t, "the Start stream to detach", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.subs) == 0
	})
	if h.listed(t, pid) == nil {
		t.Fatal("process gone after the client disconnected")
	}

	ctx := testCtx(t)
	byPID := h.connect(t, ctx, pidSel(pid))
	if got := byPID.expectStart(t); got != pid {
		t.Fatalf("Connect start pid %d, want %d", got, pid)
	}
	byTag := h.connect(t, ctx, tagSel("bg"))
	if got := byTag.expectStart(t); got != pid {
		t.Fatalf("Connect by tag start pid %d, want %d", got, pid)
	}

	if _, err := h.client.SendInput(ctx, connect.NewRequest(&rpc.SendInputRequest{Process: tagSel("bg"), Input: stdin("live\n")})); err != nil {
		t.Fatalf("SendInput: %v", err)
	}
	o1, o2 := &outcome{}, &outcome{}
	byPID.until(t, o1, "live output", func() bool { return o1.stdout.String() == "live\n" })
	byTag.until(t, o2, "live output", func() bool { return o2.stdout.String() == "live\n" })

	if _, err := h.client.CloseStdin(ctx, connect.NewRequest(&rpc.CloseStdinRequest{Process: pidSel(pid)})); err != nil {
		t.Fatalf("CloseStdin: %v", err)
	}
	byPID.rest(t, o1)
	byTag.rest(t, o2)
	wantEnd(t, o1, 0, "exit status 0", nil)
	wantEnd(t, o2, 0, "exit status 0", nil)
}

func TestConnectReplaysRecentEnd(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	pid, o := h.run(t, connect.NewRequest(&rpc.StartRequest{Process: shell("exit 4"), Tag: ptr("done"), Stdin: ptr(false)}))
	wantEnd(t, o, 4, "exit status 4", ptr("exit status 4"))

	for _, sel := range []*rpc.ProcessSelector{pidSel(pid), tagSel("done")} {
		es := h.connect(t, testCtx(t), sel)
		if got := es.expectStart(t); got != pid {
			t.Errorf("replayed start pid %d, want %d", got, pid)
		}
		o := &outcome{}
		es.rest(t, o)
		wantEnd(t, o, 4, "exit status 4", ptr("exit status 4"))
	}
	if h.listed(t, pid) != nil {
		t.Error("finished process still listed")
	}
	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("SendSignal to a finished process: %v, want not_found", err)
	}
}

func TestConnectForgetsAfterRetention(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	h.svc.retention = time.Millisecond
	pid, _ := h.run(t, connect.NewRequest(&rpc.StartRequest{Process: shell("true"), Stdin: ptr(false)}))
	eventually(t, "the finished process to be forgotten", func() bool { return h.svc.reg.byPID(pid) == nil })
}

func TestConnectUnknown(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	for _, sel := range []*rpc.ProcessSelector{pidSel(1 << 30), tagSel("nope")} {
		s, err := h.client.Connect(testCtx(t), connect.NewRequest(&rpc.ConnectRequest{Process: sel}))
		if err == nil {
			for s.Receive() {
				t.Errorf("unexpected event %v", s.Msg())
			}
			err = s.Err()
		}
		wantCode(t, err, connect.CodeNotFound)
	}
}

func TestConnectDeadlineEndsStreamOnly(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	es := h.start(t, testCtx(t), connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)}))
	pid := es.expectStart(t)

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	c := h.connect(t, ctx, pidSel(pid))
	c.expectStart(t)
	o := &outcome{}
	c.rest(t, o)
	wantCode(t, o.err, connect.CodeDeadlineExceeded)

	if h.listed(t, pid) == nil {
		t.Fatal("Connect's deadline killed the process")
	}
	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
		t.Fatal(err)
	}
	o = &outcome{}
	es.rest(t, o)
	wantEnd(t, o, -1, "signal: killed", ptr("signal: killed"))
}

func TestList(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	es := h.start(t, testCtx(t), connect.NewRequest(&rpc.StartRequest{
		Process: &rpc.ProcessConfig{Cmd: "sleep", Args: []string{"100"}, Envs: map[string]string{"A": "b"}, Cwd: ptr(dir)},
		Tag:     ptr("sleeper"),
		Stdin:   ptr(false),
	}))
	pid := es.expectStart(t)
	untagged := h.start(t, testCtx(t), connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)}))
	pid2 := untagged.expectStart(t)

	info := h.listed(t, pid)
	if info == nil {
		t.Fatal("running process not listed")
	}
	cfg := info.GetConfig()
	if info.GetTag() != "sleeper" || cfg.GetCmd() != "sleep" || !slices.Equal(cfg.GetArgs(), []string{"100"}) ||
		!maps.Equal(cfg.GetEnvs(), map[string]string{"A": "b"}) || cfg.GetCwd() != dir {
		t.Errorf("listed %v", info)
	}
	info2 := h.listed(t, pid2)
	if info2 == nil || info2.Tag != nil || info2.GetConfig() == nil {
		t.Errorf("untagged process listed as %v", info2)
	}

	for _, pid := range []uint32{pid, pid2} {
		if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	es.rest(t, &outcome{})
	untagged.rest(t, &outcome{})
	if h.listed(t, pid) != nil || h.listed(t, pid2) != nil {
		t.Error("killed processes still listed")
	}
}

func TestKeepalive(t *testing.T) {
	h := newHarness(t, sandboxenv.Defaults{})
	req := connect.NewRequest(&rpc.StartRequest{Process: shell("sleep 100"), Stdin: ptr(false)})
	req.Header().Set("Keepalive-Ping-Interval", "1")
	es := h.start(t, testCtx(t), req)
	pid := es.expectStart(t)
	o := &outcome{}
	es.until(t, o, "a keepalive", func() bool { return o.keepalives > 0 })

	c := connect.NewRequest(&rpc.ConnectRequest{Process: pidSel(pid)})
	c.Header().Set("Keepalive-Ping-Interval", "1")
	cs, err := h.client.Connect(testCtx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ces := &eventStream{receive: cs.Receive, event: func() *rpc.ProcessEvent { return cs.Msg().GetEvent() }, err: cs.Err}
	ces.expectStart(t)
	co := &outcome{}
	ces.until(t, co, "a keepalive on Connect", func() bool { return co.keepalives > 0 })

	if err := h.kill(t, pid, rpc.Signal_SIGNAL_SIGKILL); err != nil {
		t.Fatal(err)
	}
	es.rest(t, o)
	wantEnd(t, o, -1, "signal: killed", ptr("signal: killed"))
}
