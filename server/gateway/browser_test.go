package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fakeChrome answers like Chrome's DevTools HTTP endpoint on port 9222 of a sandbox; every other path
// (the /devtools websockets) is echoed.
func fakeChrome(port string) http.Handler {
	echo := echoHandler("chrome-" + port)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		switch r.URL.Path {
		case "/json/version":
			_, _ = io.WriteString(w, `{"Browser":"Chrome/140","Protocol-Version":"1.3","webSocketDebuggerUrl":"ws://127.0.0.1:`+port+`/devtools/browser/u1"}`)
		case "/json", "/json/list":
			_, _ = io.WriteString(w, `[{"id":"P1","type":"page","url":"about:blank",`+
				`"devtoolsFrontendUrl":"/devtools/inspector.html?ws=127.0.0.1:`+port+`/devtools/page/P1",`+
				`"webSocketDebuggerUrl":"ws://127.0.0.1:`+port+`/devtools/page/P1"},{"id":"P2","type":"page","url":"about:blank"}]`)
		case "/json/protocol":
			_, _ = io.WriteString(w, `{"domains":[{"domain":"Page","webSocketDebuggerUrl":"not rewritten"}]}`)
		case "/devtools/browser/headers":
			_ = json.NewEncoder(w).Encode(r.Header)
		case "/json/activate/P1":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "Target activated")
		default:
			echo.ServeHTTP(w, r)
		}
	})
}

// browserHarness is the gateway harness with the /browser route on its control plane. The test
// authorizer accepts the traffic token or the header X-Test-Owner: yes (standing for the owner's key).
func browserHarness(t *testing.T) (*harness, string) {
	h := newHarness(t)
	h.addPort(h.abc, 9222, "chrome-9222", fakeChrome("9222"))
	h.addPort(h.abc, 9333, "chrome-9333", fakeChrome("9333"))
	authorize := func(r *http.Request, b Backend) bool {
		return b.TrafficToken() == "" || TrafficTokenValid(r, b.TrafficToken()) || r.Header.Get("X-Test-Owner") == "yes"
	}
	mux := http.NewServeMux()
	mux.Handle("/browser/{id}/", h.gw.Browser(authorize))
	srv := httptest.NewServer(h.gw.Dispatch(mux))
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func getJSON(t *testing.T, h *harness, req *http.Request, want int, v any) []byte {
	t.Helper()
	res, body := h.do(req)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL, res.StatusCode, body, want)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v: %s", req.URL, err, body)
		}
	}
	return body
}

func TestBrowserEndpointPublic(t *testing.T) {
	h, base := browserHarness(t)
	get := func(path string, hdr map[string]string) *http.Request {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return req
	}
	host := strings.TrimPrefix(base, "http://")
	_, port, _ := strings.Cut(host, ":")

	// A public sandbox with a domain: the websocket is the port's host route. No header needed, with
	// or without the trailing slash Playwright sends.
	for _, path := range []string{"/browser/abc/json/version", "/browser/abc/json/version/"} {
		var v map[string]string
		getJSON(t, h, get(path, nil), http.StatusOK, &v)
		if want := "ws://9222-abc." + testDomain + ":" + port + "/devtools/browser/u1"; v["webSocketDebuggerUrl"] != want || v["Browser"] != "Chrome/140" {
			t.Errorf("GET %s: %v, want webSocketDebuggerUrl %s", path, v, want)
		}
	}
	var v map[string]string
	getJSON(t, h, get("/browser/abc/json/version", map[string]string{"X-Forwarded-Proto": "https"}), http.StatusOK, &v)
	if !strings.HasPrefix(v["webSocketDebuggerUrl"], "wss://9222-abc.") {
		t.Errorf("behind TLS: %s, want wss://", v["webSocketDebuggerUrl"])
	}

	// Target lists: every target's websocket and front-end URL follow; targets without them are kept.
	for _, path := range []string{"/browser/abc/json", "/browser/abc/json/list", "/browser/abc/json/list/"} {
		var targets []map[string]string
		getJSON(t, h, get(path, nil), http.StatusOK, &targets)
		wantWS := "ws://9222-abc." + testDomain + ":" + port + "/devtools/page/P1"
		frontend, _ := url.Parse(targets[0]["devtoolsFrontendUrl"])
		if len(targets) != 2 || targets[0]["webSocketDebuggerUrl"] != wantWS || frontend == nil || frontend.Path != "/devtools/inspector.html" ||
			frontend.Query().Get("ws") != strings.TrimPrefix(wantWS, "ws://") ||
			targets[1]["id"] != "P2" || targets[1]["webSocketDebuggerUrl"] != "" {
			t.Errorf("GET %s: %v", path, targets)
		}
	}
	if body := getJSON(t, h, get("/browser/abc/json/protocol", nil), http.StatusOK, nil); !strings.Contains(string(body), `"not rewritten"`) {
		t.Errorf("/json/protocol is not Chrome's: %s", body)
	}
	if body := getJSON(t, h, get("/browser/abc/json/activate/P1", nil), http.StatusOK, nil); string(body) != "Target activated" {
		t.Errorf("/json/activate: %q", body)
	}

	// The websocket route: the prefix is gone, Chrome sees a loopback Host, ?cdpPort= picks the port
	// and is not passed on.
	var e echo
	getJSON(t, h, get("/browser/abc/devtools/browser/u1?x=1", nil), http.StatusOK, &e)
	if e.Server != "chrome-9222" || e.Path != "/devtools/browser/u1" || e.RawQuery != "x=1" || e.Host != "127.0.0.1:9222" {
		t.Errorf("devtools route: %+v", e)
	}
	getJSON(t, h, get("/browser/abc/devtools/page/P1?cdpPort=9333", nil), http.StatusOK, &e)
	if e.Server != "chrome-9333" || e.Path != "/devtools/page/P1" || e.RawQuery != "" || e.Host != "127.0.0.1:9333" {
		t.Errorf("devtools route with cdpPort: %+v", e)
	}

	getJSON(t, h, get("/browser/nosuch/json/version", nil), http.StatusNotFound, nil)
	getJSON(t, h, get("/browser/abc/json/version?cdpPort=70000", nil), http.StatusBadRequest, nil)
	getJSON(t, h, get("/browser/abc/json/version?cdpPort=9444", nil), http.StatusBadGateway, nil)
	getJSON(t, h, get("/browser/abc/other", nil), http.StatusNotFound, nil)
}

func TestBrowserEndpointPrivate(t *testing.T) {
	h, base := browserHarness(t)
	h.abc.token = "traffic-secret"
	get := func(path string, hdr map[string]string) *http.Request {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return req
	}
	before := h.hits["chrome-9222"].Load()
	for _, path := range []string{"/browser/abc/json/version", "/browser/abc/json/list", "/browser/abc/devtools/browser/u1"} {
		for _, hdr := range []map[string]string{nil, {"E2b-Traffic-Access-Token": "wrong"}, {"X-Test-Owner": "no"}} {
			body := getJSON(t, h, get(path, hdr), http.StatusUnauthorized, nil)
			if strings.Contains(string(body), "traffic-secret") {
				t.Errorf("refusal leaks the token: %s", body)
			}
		}
	}
	if n := h.hits["chrome-9222"].Load(); n != before {
		t.Errorf("refused requests reached Chrome %d times", n-before)
	}

	// With the token or the owner's key: the websocket is the /browser route on the host the client
	// asked (a private sandbox's host route would take only the token).
	host := strings.TrimPrefix(base, "http://")
	for _, hdr := range []map[string]string{{"E2b-Traffic-Access-Token": "traffic-secret"}, {"X-Test-Owner": "yes"}} {
		var v map[string]string
		getJSON(t, h, get("/browser/abc/json/version", hdr), http.StatusOK, &v)
		if want := "ws://" + host + "/browser/abc/devtools/browser/u1"; v["webSocketDebuggerUrl"] != want {
			t.Errorf("%v: %s, want %s", hdr, v["webSocketDebuggerUrl"], want)
		}
		getJSON(t, h, get("/browser/abc/json/version?cdpPort=9333", hdr), http.StatusOK, &v)
		if want := "ws://" + host + "/browser/abc/devtools/browser/u1?cdpPort=9333"; v["webSocketDebuggerUrl"] != want {
			t.Errorf("%v: %s, want %s", hdr, v["webSocketDebuggerUrl"], want)
		}
		var e echo
		getJSON(t, h, get("/browser/abc/devtools/browser/u1", hdr), http.StatusOK, &e)
		if e.Server != "chrome-9222" {
			t.Errorf("%v: devtools route reached %+v", hdr, e)
		}
		// The credentials stay with the gateway: whatever listens on the port never sees them.
		var seen http.Header
		getJSON(t, h, get("/browser/abc/devtools/browser/headers", map[string]string{"X-API-Key": "e2b_secret", "E2b-Traffic-Access-Token": "traffic-secret"}), http.StatusOK, &seen)
		if seen.Get("X-API-Key") != "" || seen.Get(HeaderTrafficToken) != "" {
			t.Errorf("credentials reached the sandbox port: %v", seen)
		}
	}
}
