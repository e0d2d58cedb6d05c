package envd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

func newTestServer(t *testing.T, d sandboxenv.Defaults) (*httptest.Server, *sandboxenv.Env) {
	t.Helper()
	env := sandboxenv.New(d)
	srv := New(env, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts, env
}

func do(t *testing.T, method, url, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Access-Token", token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHealthNeedsNoToken(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{AccessToken: "secret"})
	resp, body := do(t, http.MethodGet, ts.URL+"/health", "", "", "")
	if resp.StatusCode != http.StatusNoContent || body != "" {
		t.Fatalf("GET /health = %d %q, want 204 and no body", resp.StatusCode, body)
	}
}

// unixServer serves envd on a unix socket, as the manager reaches it, and returns a client for it.
func unixServer(t *testing.T, d sandboxenv.Defaults) *http.Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "envd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(sandboxenv.New(d), slog.New(slog.NewTextHandler(io.Discard, nil)))
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestTokenGuardsRESTAndRPC(t *testing.T) {
	d := sandboxenv.Defaults{AccessToken: "secret", EnvVars: map[string]string{"A": "1"}}
	ts, _ := newTestServer(t, d)
	// Over the manager's unix socket even /envs needs the token.
	viaSocket := unixServer(t, d)
	for _, token := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, "http://envd/envs", nil)
		if token != "" {
			req.Header.Set("X-Access-Token", token)
		}
		resp, err := viaSocket.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET /envs with token %q = %d, want 401", token, resp.StatusCode)
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != 401 || !strings.Contains(e.Message, "access token") {
			t.Fatalf("401 body = %q (%v), want {code:401, message about the access token}", body, err)
		}

		// Connect clients read the error code from a string field; a numeric one would surface as
		// `unimplemented` in the SDK.
		resp, body = do(t, http.MethodPost, ts.URL+"/process.Process/List", token, "application/json", "{}")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthenticated"`) {
			t.Fatalf("RPC with token %q = %d %s, want 401 with code \"unauthenticated\"", token, resp.StatusCode, body)
		}
	}

	resp, body := do(t, http.MethodGet, ts.URL+"/envs", "secret", "", "")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"A":"1"}` {
		t.Fatalf("GET /envs with the token = %d %q, want 200 {\"A\":\"1\"}", resp.StatusCode, body)
	}
}

// Inside a sandbox (WithLoopbackEnvs) /envs needs no token from the sandbox's own loopback (the code
// interpreter), which then never has to reach the sandbox's programs; a wrong token, other routes and
// the manager's unix socket still need it.
func TestLoopbackEnvs(t *testing.T) {
	d := sandboxenv.Defaults{AccessToken: "secret", EnvVars: map[string]string{"A": "1"}}
	env := sandboxenv.New(d)
	srv := New(env, slog.New(slog.NewTextHandler(io.Discard, nil)), WithLoopbackEnvs())
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	resp, body := do(t, http.MethodGet, ts.URL+"/envs", "", "", "")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"A":"1"}` {
		t.Fatalf("GET /envs from loopback without the token = %d %q, want 200", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, ts.URL+"/envs", "wrong", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /envs with a wrong token = %d, want 401", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodGet, ts.URL+"/metrics", "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /metrics from loopback without the token = %d, want 401", resp.StatusCode)
	}
}

func TestInitConfiguresAndThenRequiresToken(t *testing.T) {
	ts, env := newTestServer(t, sandboxenv.Defaults{})

	resp, body := do(t, http.MethodPost, ts.URL+"/init", "", "application/json",
		`{"accessToken":"tok1","envVars":{"E2B_SANDBOX":"true","X":"y"},"defaultUser":"nobody","defaultWorkdir":"/tmp","timestamp":"2026-11-23T10:00:00Z"}`)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first /init = %d %s, want 204", resp.StatusCode, body)
	}
	if v := resp.Header.Get("X-Envd-Version"); v != Version {
		t.Fatalf("X-Envd-Version = %q, want %q", v, Version)
	}
	if env.AccessToken() != "tok1" || env.DefaultUserName() != "nobody" || env.DefaultWorkdir() != "/tmp" || env.EnvVars()["X"] != "y" {
		t.Fatalf("init not applied: %+v", env.Snapshot())
	}

	// Rotating the token needs the current one.
	resp, _ = do(t, http.MethodPost, ts.URL+"/init", "", "application/json", `{"accessToken":"evil"}`)
	if resp.StatusCode != http.StatusUnauthorized || env.AccessToken() != "tok1" {
		t.Fatalf("/init without token = %d, token now %q; want 401 and the token kept", resp.StatusCode, env.AccessToken())
	}
	resp, _ = do(t, http.MethodPost, ts.URL+"/init", "tok1", "application/json", `{"accessToken":"tok2","envVars":{"Z":"1"}}`)
	if resp.StatusCode != http.StatusNoContent || env.AccessToken() != "tok2" {
		t.Fatalf("/init with token = %d, token %q; want 204 and tok2", resp.StatusCode, env.AccessToken())
	}
	if got := env.EnvVars(); len(got) != 1 || got["Z"] != "1" {
		t.Fatalf("envVars after second init = %v, want replaced by {Z:1}", got)
	}
	if env.DefaultUserName() != "nobody" {
		t.Fatalf("fields absent from /init must be kept; default user = %q", env.DefaultUserName())
	}
}

func TestInitRejectsBadInput(t *testing.T) {
	ts, env := newTestServer(t, sandboxenv.Defaults{})
	for _, body := range []string{`{"defaultUser":"no-such-user-here"}`, `{"envVars":`, `[]`} {
		resp, _ := do(t, http.MethodPost, ts.URL+"/init", "", "application/json", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("/init %s = %d, want 400", body, resp.StatusCode)
		}
	}
	if env.DefaultUserName() != sandboxenv.FallbackUser {
		t.Fatalf("a rejected /init changed the default user to %q", env.DefaultUserName())
	}
}

func TestMetricsShape(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{})
	resp, body := do(t, http.MethodGet, ts.URL+"/metrics", "", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ts", "cpu_count", "cpu_used_pct", "mem_total", "mem_used", "mem_cache", "mem_total_mib", "mem_used_mib", "disk_used", "disk_total"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metrics lacks %q: %s", k, body)
		}
	}
	if m["mem_total"].(float64) <= 0 || m["disk_total"].(float64) <= 0 || m["cpu_count"].(float64) < 1 {
		t.Fatalf("metrics not measured: %s", body)
	}
}

// connectVia opens a CONNECT tunnel through envd to target and returns the raw connection.
func connectVia(t *testing.T, envdURL, target, token string) (net.Conn, *bufio.Reader, int) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(envdURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if token != "" {
		req += "X-Access-Token: " + token + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp.StatusCode
}

func TestPortForwardReachesLoopbackOnlyServices(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{AccessToken: "secret"})

	// A service that listens only on the sandbox's loopback.
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	go func() {
		for {
			c, err := inner.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "echo:"+line)
			}()
		}
	}()
	target := inner.Addr().String()

	if _, _, code := connectVia(t, ts.URL, target, ""); code != http.StatusUnauthorized {
		t.Fatalf("CONNECT without token = %d, want 401", code)
	}
	c, br, code := connectVia(t, ts.URL, target, "secret")
	if code != http.StatusOK {
		t.Fatalf("CONNECT with token = %d, want 200", code)
	}
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	got, err := br.ReadString('\n')
	if err != nil || got != "echo:ping\n" {
		t.Fatalf("through the tunnel got %q (%v), want echo:ping", got, err)
	}

	if _, _, code := connectVia(t, ts.URL, "192.0.2.1:80", "secret"); code != http.StatusForbidden {
		t.Fatalf("CONNECT to a non-loopback address = %d, want 403", code)
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	if _, _, code := connectVia(t, ts.URL, closedAddr, "secret"); code != http.StatusBadGateway {
		t.Fatalf("CONNECT to a closed port = %d, want 502", code)
	}
}

func TestForwardCarriesHTTP(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{AccessToken: "secret"})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello from "+r.URL.Path)
	}))
	defer app.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(app.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	envdAddr := strings.TrimPrefix(ts.URL, "http://")

	// The gateway's way in: an HTTP client whose every connection is a tunnel through envd.
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", envdAddr)
			if err != nil {
				return nil, err
			}
			return Forward(ctx, c, port, "secret")
		},
	}}
	for i := range 3 { // several requests over kept-alive tunnels
		resp, err := client.Get(fmt.Sprintf("http://sandbox/path%d", i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("hello from /path%d", i); string(body) != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}

	c, err := net.Dial("tcp", envdAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = Forward(context.Background(), c, port, "wrong")
	var fe *ForwardError
	if !errors.As(err, &fe) || fe.Status != http.StatusUnauthorized {
		t.Fatalf("Forward with a wrong token = %v, want a ForwardError with status 401", err)
	}
}
