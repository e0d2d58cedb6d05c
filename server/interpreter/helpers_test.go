package interpreter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

func requireKernel(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import ipykernel, matplotlib, numpy, pandas").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import ipykernel/matplotlib/numpy/pandas (%v: %s); install them with:\n"+
			"  apt-get install -y python3-ipykernel python3-numpy python3-pandas python3-matplotlib", python, err, out)
	}
}

// fakeEnvd serves GET /envs and records the access tokens it saw.
type fakeEnvd struct {
	mu     sync.Mutex
	tokens []string
	vars   map[string]string
}

func (f *fakeEnvd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/envs" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.tokens = append(f.tokens, r.Header.Get("X-Access-Token"))
	f.mu.Unlock()
	json.NewEncoder(w).Encode(f.vars)
}

type testServer struct {
	*httptest.Server
	envd *fakeEnvd
	cwd  string
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	requireKernel(t)
	envd := &fakeEnvd{vars: map[string]string{"E2B_SANDBOX": "true", "FROM_ENVD": "envd-value"}}
	envdSrv := httptest.NewServer(envd)
	t.Cleanup(envdSrv.Close)
	cfg.Python = python
	cfg.EnvdURL = envdSrv.URL
	cfg.AccessToken = "configured-token"
	if cfg.DefaultCwd == "" {
		cfg.DefaultCwd = t.TempDir()
	}
	cfg.RuntimeDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return &testServer{Server: hs, envd: envd, cwd: cfg.DefaultCwd}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// line is one decoded NDJSON line.
type line map[string]any

func (l line) typ() string         { s, _ := l["type"].(string); return s }
func (l line) str(k string) string { s, _ := l[k].(string); return s }

// stream reads /execute output line by line.
type stream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

func (ts *testServer) start(t *testing.T, ctx context.Context, body map[string]any, header ...string) *stream {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/execute", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /execute: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /execute: status %d: %s", resp.StatusCode, msg)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	return &stream{t: t, resp: resp, sc: sc}
}

// next returns the next line, or nil at the end of the body.
func (s *stream) next() line {
	s.t.Helper()
	if !s.sc.Scan() {
		if err := s.sc.Err(); err != nil {
			s.t.Fatalf("read NDJSON: %v", err)
		}
		return nil
	}
	raw := s.sc.Bytes()
	if len(raw) == 0 {
		s.t.Fatal("blank NDJSON line")
	}
	var l line
	if err := json.Unmarshal(raw, &l); err != nil {
		s.t.Fatalf("bad NDJSON line %q: %v", raw, err)
	}
	return l
}

// until reads lines until one of type typ (returned) or fails at the end.
func (s *stream) until(typ string) line {
	s.t.Helper()
	for l := s.next(); l != nil; l = s.next() {
		if l.typ() == typ {
			return l
		}
		if l.typ() == "end_of_execution" {
			s.t.Fatalf("execution ended before a %q line", typ)
		}
	}
	s.t.Fatalf("stream ended before a %q line", typ)
	return nil
}

// execution is a whole /execute response, as the SDK assembles it.
type execution struct {
	stdout, stderr string
	results        []line
	errors         []line
	count          int
	lines          []line
}

func (e *execution) text() string {
	for _, r := range e.results {
		if r["is_main_result"] == true {
			return r.str("text")
		}
	}
	return ""
}

func (s *stream) collect() *execution {
	s.t.Helper()
	e := &execution{}
	ended := false
	for l := s.next(); l != nil; l = s.next() {
		if ended {
			s.t.Fatalf("line after end_of_execution: %v", l)
		}
		e.lines = append(e.lines, l)
		switch l.typ() {
		case "stdout":
			e.stdout += l.str("text")
		case "stderr":
			e.stderr += l.str("text")
		case "result":
			e.results = append(e.results, l)
		case "error":
			e.errors = append(e.errors, l)
		case "number_of_executions":
			e.count = int(l["execution_count"].(float64))
		case "end_of_execution":
			ended = true
		}
	}
	if !ended {
		s.t.Fatal("no end_of_execution line")
	}
	return e
}

func (ts *testServer) run(t *testing.T, body map[string]any) *execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return ts.start(t, ctx, body).collect()
}

func (ts *testServer) code(t *testing.T, code string) *execution {
	t.Helper()
	return ts.run(t, map[string]any{"code": code})
}

// do sends a JSON request and returns the status and body.
func (ts *testServer) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ts *testServer) createContext(t *testing.T, body map[string]any) Context {
	t.Helper()
	status, b := ts.do(t, http.MethodPost, "/contexts", body)
	if status != http.StatusOK {
		t.Fatalf("POST /contexts: %d %s", status, b)
	}
	var c Context
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("decode context %s: %v", b, err)
	}
	return c
}
