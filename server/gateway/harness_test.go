package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testDomain = "example.test"

// fakeBackend reaches "sandbox ports" that are real httptest servers on loopback TCP.
type fakeBackend struct {
	mu    sync.Mutex
	ports map[int]string // sandbox port → TCP address of the server playing it
	token string
	mask  string

	failDials int          // the first failDials dials fail, as a port that is still starting up
	onDial    func()       // runs at the start of every dial, when set
	dials     atomic.Int32 // dial attempts, for asserting retries
}

func (b *fakeBackend) DialPort(ctx context.Context, port int) (net.Conn, error) {
	n := b.dials.Add(1)
	b.mu.Lock()
	addr, ok := b.ports[port]
	fail := int(n) <= b.failDials
	onDial := b.onDial
	b.mu.Unlock()
	if onDial != nil {
		onDial()
	}
	if fail {
		return nil, errors.New("fake: port forwarding not ready yet")
	}
	if !ok {
		addr = closedAddr
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (b *fakeBackend) TrafficToken() string { return b.token }

// maskingBackend adds HostMasker to fakeBackend.
type maskingBackend struct{ *fakeBackend }

func (b maskingBackend) MaskRequestHost() string { return b.mask }

type fakeSandboxes struct {
	mu    sync.Mutex
	boxes map[string]Backend
}

func (s *fakeSandboxes) Lookup(id string) (Backend, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boxes[id]
	return b, ok
}

func (s *fakeSandboxes) set(id string, b Backend) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.boxes[id] = b
}

func (s *fakeSandboxes) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.boxes, id)
}

// closedAddr is a loopback address where nothing listens: dialling it is refused for real.
var closedAddr = func() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}()

type harness struct {
	t      *testing.T
	gw     *Gateway
	url    string // gateway origin, e.g. http://127.0.0.1:41234
	addr   string // gateway host:port
	boxes  *fakeSandboxes
	abc    *fakeBackend // sandbox "abc": envd on 49983, an app on 8080
	client *http.Client
	infos  chan RequestInfo
	hits   map[string]*atomic.Int32 // upstream server name → requests served
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		boxes: &fakeSandboxes{boxes: map[string]Backend{}},
		abc:   &fakeBackend{ports: map[int]string{}},
		infos: make(chan RequestInfo, 1000),
		hits:  map[string]*atomic.Int32{},
	}
	h.boxes.set("abc", h.abc)
	h.addPort(h.abc, EnvdPort, "envd", nil)
	h.addPort(h.abc, 8080, "app", nil)

	h.gw = New(Config{
		Sandboxes:   h.boxes,
		Domain:      testDomain,
		Logger:      slog.New(slog.DiscardHandler),
		OnRequest:   func(ri RequestInfo) { h.infos <- ri },
		DialBackoff: time.Millisecond,
	})
	control := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "control plane")
	})
	srv := httptest.NewServer(h.gw.Dispatch(control))
	t.Cleanup(srv.Close)
	t.Cleanup(h.gw.CloseIdleConnections)
	h.url = srv.URL
	h.addr = srv.Listener.Addr().String()

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	h.client = &http.Client{Transport: tr}
	return h
}

// addPort serves handler (nil: an echo server named name) as port of backend b.
func (h *harness) addPort(b *fakeBackend, port int, name string, handler http.Handler) {
	h.t.Helper()
	if handler == nil {
		handler = echoHandler(name)
	}
	hits := &atomic.Int32{}
	h.hits[name] = hits
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler.ServeHTTP(w, r)
	}))
	h.t.Cleanup(srv.Close)
	b.mu.Lock()
	b.ports[port] = srv.Listener.Addr().String()
	b.mu.Unlock()
}

// echo is what echoHandler reports about the request it received.
type echo struct {
	Server      string `json:"server"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	EscapedPath string `json:"escapedPath"`
	RawQuery    string `json:"rawQuery"`
	Host        string `json:"host"`
	SandboxID   string `json:"sandboxId"`
	SandboxPort string `json:"sandboxPort"`
	Forwarded   string `json:"forwardedFor"`
	AccessToken string `json:"accessToken"`
	Body        string `json:"body"`
}

func echoHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{
			Server:      name,
			Method:      r.Method,
			Path:        r.URL.Path,
			EscapedPath: r.URL.EscapedPath(),
			RawQuery:    r.URL.RawQuery,
			Host:        r.Host,
			SandboxID:   r.Header.Get(HeaderSandboxID),
			SandboxPort: r.Header.Get(HeaderSandboxPort),
			Forwarded:   r.Header.Get("X-Forwarded-For"),
			AccessToken: r.Header.Get("X-Access-Token"),
			Body:        string(body),
		})
	})
}

// request builds a request to the gateway. A host of "" keeps the gateway's IP address as Host
// (header routing, like E2B_SANDBOX_URL); headers are added as given.
func (h *harness) request(method, target, host string, headers map[string]string, body io.Reader) *http.Request {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.url+target, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("read body of %s %s: %v", req.Method, req.URL, err)
	}
	return res, body
}

func (h *harness) echo(req *http.Request) echo {
	h.t.Helper()
	res, body := h.do(req)
	if res.StatusCode != http.StatusOK {
		h.t.Fatalf("%s %s: status %d, body %s", req.Method, req.URL, res.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		h.t.Fatalf("decode echo %q: %v", body, err)
	}
	return e
}

// nextInfo returns the next request the gateway reported. OnRequest runs after the response is
// complete, which may be just after the client saw it, hence the wait.
func (h *harness) nextInfo() RequestInfo {
	h.t.Helper()
	select {
	case ri := <-h.infos:
		return ri
	case <-time.After(10 * time.Second):
		h.t.Fatal("OnRequest was not called")
		return RequestInfo{}
	}
}

func routing(id, port string) map[string]string {
	return map[string]string{HeaderSandboxID: id, HeaderSandboxPort: port}
}
