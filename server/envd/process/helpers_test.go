package process

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process/processconnect"
)

// patience bounds every wait in these tests; generous because the test machine is small and noisy.
const patience = 20 * time.Second

type harness struct {
	svc    *Service
	client processconnect.ProcessClient
	url    string
}

// newHarness serves a fresh Service over HTTP/1.1 and talks to it the way the SDK does: Connect
// protocol with the JSON codec.
func newHarness(t *testing.T, d sandboxenv.Defaults) *harness {
	t.Helper()
	return serve(t, NewService(sandboxenv.New(d), slog.New(slog.DiscardHandler)))
}

// serve exposes svc on a test server; both are closed when the test ends.
func serve(t *testing.T, svc *Service) *harness {
	t.Helper()
	_, handler := processconnect.NewProcessHandler(svc)
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		svc.Close()
		srv.Close()
	})
	return &harness{
		svc:    svc,
		client: processconnect.NewProcessClient(srv.Client(), srv.URL, connect.WithProtoJSON()),
		url:    srv.URL,
	}
}

// testCtx bounds a call without giving it a deadline: a deadline would travel as Connect-Timeout-Ms
// and become the process's lifetime.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	stop := time.AfterFunc(patience, cancel)
	t.Cleanup(func() {
		stop.Stop()
		cancel()
	})
	return ctx
}

func shell(script string) *rpc.ProcessConfig {
	return &rpc.ProcessConfig{Cmd: "/bin/sh", Args: []string{"-c", script}}
}

func ptr[T any](v T) *T { return &v }

func basicAuth(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"))
}

// eventStream unifies Start and Connect client streams.
type eventStream struct {
	receive func() bool
	event   func() *rpc.ProcessEvent
	err     func() error
	close   func() error
}

func (h *harness) start(t *testing.T, ctx context.Context, req *connect.Request[rpc.StartRequest]) *eventStream {
	t.Helper()
	s, err := h.client.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &eventStream{receive: s.Receive, event: func() *rpc.ProcessEvent { return s.Msg().GetEvent() }, err: s.Err, close: s.Close}
}

func (h *harness) connect(t *testing.T, ctx context.Context, sel *rpc.ProcessSelector) *eventStream {
	t.Helper()
	s, err := h.client.Connect(ctx, connect.NewRequest(&rpc.ConnectRequest{Process: sel}))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &eventStream{receive: s.Receive, event: func() *rpc.ProcessEvent { return s.Msg().GetEvent() }, err: s.Err, close: s.Close}
}

// outcome accumulates what a stream delivered after its start event.
type outcome struct {
	stdout, stderr, pty strings.Builder
	end                 *rpc.ProcessEvent_EndEvent
	keepalives          int
	extraStarts         int
	err                 error
}

func (o *outcome) String() string {
	return fmt.Sprintf("stdout %q, stderr %q, pty %q, end %v, err %v", o.stdout.String(), o.stderr.String(), o.pty.String(), o.end, o.err)
}

// expectStart reads the first event, which must be start, and returns its pid.
func (es *eventStream) expectStart(t *testing.T) uint32 {
	t.Helper()
	if !es.receive() {
		t.Fatalf("stream ended before the start event: %v", es.err())
	}
	start := es.event().GetStart()
	if start == nil {
		t.Fatalf("first event is %v, want start", es.event())
	}
	if start.GetPid() == 0 {
		t.Fatal("start event without pid")
	}
	return start.GetPid()
}

// step reads one event into o and reports whether the stream goes on.
func (es *eventStream) step(o *outcome) bool {
	if !es.receive() {
		o.err = es.err()
		return false
	}
	switch ev := es.event().GetEvent().(type) {
	case *rpc.ProcessEvent_Data:
		o.stdout.Write(ev.Data.GetStdout())
		o.stderr.Write(ev.Data.GetStderr())
		o.pty.Write(ev.Data.GetPty())
	case *rpc.ProcessEvent_End:
		o.end = ev.End
	case *rpc.ProcessEvent_Keepalive:
		o.keepalives++
	case *rpc.ProcessEvent_Start:
		o.extraStarts++
	}
	return true
}

// until reads events until cond holds; the stream ending first fails the test.
func (es *eventStream) until(t *testing.T, o *outcome, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if !es.step(o) {
			t.Fatalf("stream ended before %s: %v", what, o)
		}
	}
}

// rest reads the stream to its end and checks that the end event, if any, was the last event.
func (es *eventStream) rest(t *testing.T, o *outcome) {
	t.Helper()
	for es.step(o) {
		if o.end != nil {
			if es.receive() {
				t.Fatalf("event after end: %v", es.event())
			}
			o.err = es.err()
			break
		}
	}
	if o.extraStarts != 0 {
		t.Errorf("%d start events after the first", o.extraStarts)
	}
}

// run starts req, checks the start event and reads the stream to its end.
func (h *harness) run(t *testing.T, req *connect.Request[rpc.StartRequest]) (uint32, *outcome) {
	t.Helper()
	es := h.start(t, testCtx(t), req)
	pid := es.expectStart(t)
	o := &outcome{}
	es.rest(t, o)
	return pid, o
}

func wantCode(t *testing.T, err error, code connect.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("error %v has code %v, want %v", err, got, code)
	}
}

func wantEnd(t *testing.T, o *outcome, code int32, status string, errMsg *string) {
	t.Helper()
	if o.err != nil {
		t.Fatalf("stream error: %v (%v)", o.err, o)
	}
	if o.end == nil {
		t.Fatalf("no end event: %v", o)
	}
	if o.end.GetExitCode() != code || o.end.GetStatus() != status {
		t.Errorf("end = %v, want exit code %d status %q", o.end, code, status)
	}
	switch {
	case errMsg == nil && o.end.Error != nil:
		t.Errorf("end error = %q, want none", o.end.GetError())
	case errMsg != nil && o.end.GetError() != *errMsg:
		t.Errorf("end error = %v, want %q", o.end.Error, *errMsg)
	}
}

// eventually polls cond until it holds or patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gone reports whether pid no longer runs: it does not exist or is a zombie nobody reaped yet (an
// orphan reparented to an init that does not reap).
func gone(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func (h *harness) listed(t *testing.T, pid uint32) *rpc.ProcessInfo {
	t.Helper()
	res, err := h.client.List(testCtx(t), connect.NewRequest(&rpc.ListRequest{}))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, p := range res.Msg.GetProcesses() {
		if p.GetPid() == pid {
			return p
		}
	}
	return nil
}

func (h *harness) kill(t *testing.T, pid uint32, sig rpc.Signal) error {
	t.Helper()
	_, err := h.client.SendSignal(testCtx(t), connect.NewRequest(&rpc.SendSignalRequest{
		Process: &rpc.ProcessSelector{Selector: &rpc.ProcessSelector_Pid{Pid: pid}},
		Signal:  sig,
	}))
	return err
}

func pidSel(pid uint32) *rpc.ProcessSelector {
	return &rpc.ProcessSelector{Selector: &rpc.ProcessSelector_Pid{Pid: pid}}
}

func tagSel(tag string) *rpc.ProcessSelector {
	return &rpc.ProcessSelector{Selector: &rpc.ProcessSelector_Tag{Tag: tag}}
}

func stdin(b string) *rpc.ProcessInput {
	return &rpc.ProcessInput{Input: &rpc.ProcessInput_Stdin{Stdin: []byte(b)}}
}

func ptyInput(b string) *rpc.ProcessInput {
	return &rpc.ProcessInput{Input: &rpc.ProcessInput_Pty{Pty: []byte(b)}}
}
