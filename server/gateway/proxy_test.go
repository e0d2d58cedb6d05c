package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHeaderRoutingReachesThePort(t *testing.T) {
	h := newHarness(t)
	for _, port := range []string{"49983", "8080"} {
		target := "/files?path=%2Fhome%2Fuser%2Fa%20b.txt&username=user"
		e := h.echo(h.request(http.MethodGet, target, "", routing("abc", port), nil))
		wantServer := map[string]string{"49983": "envd", "8080": "app"}[port]
		if e.Server != wantServer || e.Path != "/files" || e.RawQuery != "path=%2Fhome%2Fuser%2Fa%20b.txt&username=user" {
			t.Errorf("port %s: upstream saw %+v", port, e)
		}
		// Routing headers stay (envd ignores them); Host is the client's; the client is named.
		if e.SandboxID != "abc" || e.SandboxPort != port || e.Host != h.addr || e.Forwarded != "127.0.0.1" {
			t.Errorf("port %s: headers upstream %+v", port, e)
		}
		ri := h.nextInfo()
		if ri.SandboxID != "abc" || port != strconv.Itoa(ri.Port) || ri.Method != "GET" || ri.Status != 200 || ri.Outcome != OutcomeProxied {
			t.Errorf("port %s: OnRequest got %+v", port, ri)
		}
	}
}

func TestHostRoutingReachesThePort(t *testing.T) {
	h := newHarness(t)
	for _, host := range []string{"8080-abc." + testDomain, "8080-abc." + testDomain + ":443", "8080-abc-legacyclient." + testDomain} {
		e := h.echo(h.request(http.MethodPost, "/a/b%2Fc/?x=1&y=%20&x=2", host, nil, strings.NewReader("payload")))
		if e.Server != "app" || e.Method != "POST" || e.EscapedPath != "/a/b%2Fc/" || e.RawQuery != "x=1&y=%20&x=2" || e.Body != "payload" {
			t.Errorf("host %s: upstream saw %+v", host, e)
		}
		if e.Host != host {
			t.Errorf("host %s: upstream Host %q, want the client's", host, e.Host)
		}
	}
}

func TestControlPlaneTraffic(t *testing.T) {
	h := newHarness(t)
	for _, host := range []string{"", "api." + testDomain, "49983-abc.elsewhere.test", "sandbox." + testDomain} {
		res, body := h.do(h.request(http.MethodGet, "/v2/sandboxes", host, nil, nil))
		if res.StatusCode != http.StatusOK || string(body) != "control plane" {
			t.Errorf("host %q: %d %q, want the control plane", host, res.StatusCode, body)
		}
	}
	select {
	case ri := <-h.infos:
		t.Errorf("control-plane request reported as gateway traffic: %+v", ri)
	default:
	}
}

func TestBadRoutingIsAnsweredByTheGateway(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name    string
		host    string
		headers map[string]string
		body    string
	}{
		{"only id header", "", map[string]string{HeaderSandboxID: "abc"}, `{"message":"Missing header: E2b-Sandbox-Port","code":400}`},
		{"only port header", "", map[string]string{HeaderSandboxPort: "49983"}, `{"message":"Missing header: E2b-Sandbox-Id","code":400}`},
		{"id with dash", "", routing("ab-c", "49983"), `{"message":"invalid sandbox id: must match ^[a-z0-9]+$: \"ab-c\"","code":400}`},
		{"uppercase id in host", "49983-ABC." + testDomain, nil, `{"message":"invalid sandbox id: must match ^[a-z0-9]+$: \"ABC\"","code":400}`},
	}
	for _, tt := range tests {
		res, body := h.do(h.request(http.MethodGet, "/health", tt.host, tt.headers, nil))
		if res.StatusCode != http.StatusBadRequest || string(body) != tt.body {
			t.Errorf("%s: %d %s, want 400 %s", tt.name, res.StatusCode, body, tt.body)
		}
	}
	if n := h.hits["envd"].Load(); n != 0 {
		t.Errorf("envd got %d requests", n)
	}
}

func TestUnknownSandboxIs502JSON(t *testing.T) {
	h := newHarness(t)
	for _, req := range []*http.Request{
		h.request(http.MethodGet, "/health", "", routing("nosuch", "49983"), nil),
		h.request(http.MethodGet, "/health", "49983-nosuch."+testDomain, nil, nil),
	} {
		req.Header.Set("User-Agent", "e2b-js-sdk/2.51.0")
		res, body := h.do(req)
		want := `{"sandboxId":"nosuch","message":"The sandbox was not found","code":502}`
		if res.StatusCode != http.StatusBadGateway || string(body) != want {
			t.Errorf("got %d %s, want 502 %s", res.StatusCode, body, want)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if ri := h.nextInfo(); ri.Outcome != OutcomeNotFound || ri.Status != 502 || ri.SandboxID != "nosuch" {
			t.Errorf("OnRequest got %+v", ri)
		}
	}
}

func TestClosedPortIs502JSONAfterRetries(t *testing.T) {
	h := newHarness(t)
	res, body := h.do(h.request(http.MethodGet, "/", "", routing("abc", "9999"), nil))
	want := `{"sandboxId":"abc","message":"The sandbox is running but port is not open","port":9999,"code":502}`
	if res.StatusCode != http.StatusBadGateway || string(body) != want {
		t.Fatalf("got %d %s, want 502 %s", res.StatusCode, body, want)
	}
	if n := h.abc.dials.Load(); n != 4 {
		t.Errorf("dialled %d times, want 4 (default attempts)", n)
	}
	if ri := h.nextInfo(); ri.Outcome != OutcomePortClosed || ri.Port != 9999 {
		t.Errorf("OnRequest got %+v", ri)
	}
}

func TestDialRetriesUntilThePortIsUp(t *testing.T) {
	h := newHarness(t)
	h.abc.failDials = 2
	if e := h.echo(h.request(http.MethodGet, "/", "", routing("abc", "8080"), nil)); e.Server != "app" {
		t.Fatalf("reached %q", e.Server)
	}
	if n := h.abc.dials.Load(); n != 3 {
		t.Errorf("dialled %d times, want 3", n)
	}
}

func TestSandboxGoneBeforeDialIsNotFound(t *testing.T) {
	h := newHarness(t)
	h.abc.onDial = func() { h.boxes.remove("abc") }
	h.abc.failDials = 100
	res, body := h.do(h.request(http.MethodGet, "/health", "", routing("abc", "49983"), nil))
	want := `{"sandboxId":"abc","message":"The sandbox was not found","code":502}`
	if res.StatusCode != http.StatusBadGateway || string(body) != want {
		t.Fatalf("got %d %s, want 502 %s", res.StatusCode, body, want)
	}
}

func TestBrowserNavigationGetsHTML(t *testing.T) {
	h := newHarness(t)
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	tests := []struct {
		name    string
		headers map[string]string
		html    bool
	}{
		{"tab navigation", map[string]string{"User-Agent": chrome, "Accept": "text/html,*/*", "Sec-Fetch-Mode": "navigate"}, true},
		{"old browser without fetch metadata", map[string]string{"User-Agent": chrome, "Accept": "text/html"}, true},
		{"fetch from a page", map[string]string{"User-Agent": chrome, "Sec-Fetch-Mode": "cors"}, false},
		{"asks for JSON", map[string]string{"User-Agent": chrome, "Accept": "application/json"}, false},
		{"undici", map[string]string{"User-Agent": "node", "Sec-Fetch-Mode": "cors"}, false},
		{"curl", map[string]string{"User-Agent": "curl/8.5.0"}, false},
	}
	for _, tt := range tests {
		req := h.request(http.MethodGet, "/vnc.html", "6080-nosuch."+testDomain, tt.headers, nil)
		res, body := h.do(req)
		isHTML := strings.HasPrefix(res.Header.Get("Content-Type"), "text/html")
		if res.StatusCode != http.StatusBadGateway || isHTML != tt.html {
			t.Errorf("%s: %d %s %q", tt.name, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if tt.html && !strings.Contains(string(body), "<code>nosuch</code>") {
			t.Errorf("%s: page does not name the sandbox: %s", tt.name, body)
		}
	}
}

func TestInternalEnvdRoutesAreRefusedBeforeLookup(t *testing.T) {
	h := newHarness(t)
	paths := []string{"/init", "/freeze", "/unfreeze", "/fsfreeze", "/fsthaw", "/collapse", "/upgrade", "/files/compose",
		"//init", "/init/", "/INIT", "/./init", "/%69nit", "/x/../init", "/files/../files/compose"}
	for _, id := range []string{"abc", "nosuch"} {
		for _, p := range paths {
			res, body := h.do(h.request(http.MethodPost, p, "", routing(id, "49983"), strings.NewReader("{}")))
			if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"code":403`) || strings.Contains(string(body), id) {
				t.Errorf("sandbox %s, POST %s: %d %s, want 403 naming no sandbox", id, p, res.StatusCode, body)
			}
		}
	}
	if n := h.hits["envd"].Load(); n != 0 {
		t.Fatalf("envd got %d requests", n)
	}
	// The same paths on other ports are the user's own routes; ordinary envd routes pass.
	if e := h.echo(h.request(http.MethodPost, "/init", "", routing("abc", "8080"), nil)); e.Server != "app" || e.Path != "/init" {
		t.Errorf("app /init: %+v", e)
	}
	if e := h.echo(h.request(http.MethodGet, "/files?path=init", "", routing("abc", "49983"), nil)); e.Server != "envd" {
		t.Errorf("envd /files: %+v", e)
	}
}

func TestConnectIsRefused(t *testing.T) {
	h := newHarness(t)
	for _, raw := range []string{
		// The tunnel envd itself offers, asked for through header routing...
		"CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nE2b-Sandbox-Id: abc\r\nE2b-Sandbox-Port: 49983\r\n\r\n",
		// ...through host routing...
		"CONNECT 49983-abc." + testDomain + ":443 HTTP/1.1\r\nHost: 49983-abc." + testDomain + ":443\r\n\r\n",
		// ...and as a plain forward-proxy request.
		"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard, not an assertion
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatalf("read CONNECT answer: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(string(body), msgConnect) {
			t.Errorf("%q: %d %s", strings.SplitN(raw, "\r\n", 2)[0], res.StatusCode, body)
		}
	}
	if n := h.hits["envd"].Load() + h.hits["app"].Load(); n != 0 {
		t.Fatalf("sandbox got %d requests", n)
	}
}

func TestTrafficTokenOnNonEnvdPortsOnly(t *testing.T) {
	h := newHarness(t)
	h.abc.token = "s3cret-token"
	tests := []struct {
		name   string
		port   string
		token  string
		status int
		msg    string
	}{
		{"missing on app port", "8080", "", 403, "Token header 'e2b-traffic-access-token' is missing"},
		{"wrong on app port", "8080", "s3cret-tokeX", 403, "Provided token in header 'e2b-traffic-access-token' is invalid"},
		{"prefix on app port", "8080", "s3cret", 403, "is invalid"},
		{"right on app port", "8080", "s3cret-token", 200, ""},
		{"none needed on envd", "49983", "", 200, ""},
		{"ignored on envd", "49983", "wrong", 200, ""},
	}
	for _, tt := range tests {
		hdr := routing("abc", tt.port)
		if tt.token != "" {
			hdr["e2b-traffic-access-token"] = tt.token
		}
		res, body := h.do(h.request(http.MethodGet, "/", "", hdr, nil))
		if res.StatusCode != tt.status || !strings.Contains(string(body), tt.msg) {
			t.Errorf("%s: %d %s", tt.name, res.StatusCode, body)
		}
		if tt.status == 403 && strings.Contains(string(body), "s3cret") {
			t.Errorf("%s: body leaks the token: %s", tt.name, body)
		}
	}
	// By host as well (how a browser reaches the port).
	req := h.request(http.MethodGet, "/", "8080-abc."+testDomain, nil, nil)
	if res, _ := h.do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("host-routed without token: %d", res.StatusCode)
	}
}

// envd's token goes to envd only: whatever listens on another port of the sandbox (sandbox code can
// take a port over) never sees it, even from clients that send it there (the code-interpreter SDK does).
func TestEnvdTokenReachesEnvdOnly(t *testing.T) {
	h := newHarness(t)
	for port, want := range map[string]string{"49983": "envd-token", "8080": ""} {
		hdr := routing("abc", port)
		hdr["X-Access-Token"] = "envd-token"
		if e := h.echo(h.request(http.MethodGet, "/", "", hdr, nil)); e.AccessToken != want {
			t.Errorf("port %s saw X-Access-Token %q, want %q", port, e.AccessToken, want)
		}
	}
}

// tokenBackend is a sandbox whose envd access token the gateway knows.
type tokenBackend struct {
	*fakeBackend
	access string
}

func (b tokenBackend) AccessToken() string { return b.access }

// The code interpreter's /execute runs only for the sandbox's envd access token, which the gateway
// checks and then keeps from the interpreter's port; its other routes are left to the traffic token.
func TestExecuteNeedsTheAccessToken(t *testing.T) {
	h := newHarness(t)
	sb := tokenBackend{fakeBackend: &fakeBackend{ports: map[int]string{}}, access: "envd-token"}
	h.boxes.set("interp", sb)
	h.addPort(sb.fakeBackend, InterpreterPort, "interpreter", nil)
	execute := func(token, path string) *http.Request {
		hdr := routing("interp", "49999")
		if token != "" {
			hdr[HeaderAccessToken] = token
		}
		return h.request(http.MethodPost, path, "", hdr, strings.NewReader(`{"code":"1"}`))
	}
	for _, token := range []string{"", "wrong", "envd-toke"} {
		for _, path := range []string{"/execute", "//execute", "/./execute"} {
			if res, body := h.do(execute(token, path)); res.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "interpreter") {
				t.Errorf("%s with token %q: %d %s, want 401", path, token, res.StatusCode, body)
			}
		}
	}
	if e := h.echo(execute("envd-token", "/execute")); e.Server != "interpreter" || e.AccessToken != "" {
		t.Errorf("right token: reached %q, which saw X-Access-Token %q; want the interpreter, without it", e.Server, e.AccessToken)
	}
	if e := h.echo(execute("", "/contexts")); e.Server != "interpreter" {
		t.Errorf("/contexts without the token reached %q", e.Server)
	}
}

func TestMaskRequestHost(t *testing.T) {
	h := newHarness(t)
	b := &fakeBackend{ports: map[int]string{}, mask: "localhost:${PORT}"}
	h.addPort(b, 9222, "chrome", nil)
	h.addPort(b, EnvdPort, "envd2", nil)
	h.boxes.set("brw", maskingBackend{b})
	if e := h.echo(h.request(http.MethodGet, "/json/version", "9222-brw."+testDomain, nil, nil)); e.Host != "localhost:9222" {
		t.Errorf("port 9222 saw Host %q, want the mask", e.Host)
	}
	if e := h.echo(h.request(http.MethodGet, "/health", "49983-brw."+testDomain, nil, nil)); e.Host != "49983-brw."+testDomain {
		t.Errorf("envd saw Host %q, want the client's", e.Host)
	}
}

func TestUpstreamThatHangsUpIs502(t *testing.T) {
	h := newHarness(t)
	h.addPort(h.abc, 5000, "rude", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	res, body := h.do(h.request(http.MethodGet, "/", "", routing("abc", "5000"), nil))
	want := `{"sandboxId":"abc","message":"The sandbox port did not answer the request","port":5000,"code":502}`
	if res.StatusCode != http.StatusBadGateway || string(body) != want {
		t.Fatalf("got %d %s, want 502 %s", res.StatusCode, body, want)
	}
	if ri := h.nextInfo(); ri.Outcome != OutcomeUpstreamError {
		t.Errorf("OnRequest got %+v", ri)
	}
}
