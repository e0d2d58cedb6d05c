package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

var sandboxFields = []string{"sandboxID", "templateID", "alias", "clientID", "envdVersion", "envdAccessToken", "trafficAccessToken", "domain"}

func TestCreateV2(t *testing.T) {
	e := newEnv(t, Config{})
	resp, b := e.call(t, "POST", "/v2/sandboxes", `{"templateID":"base","metadata":{"user":"x"},"envVars":{"A":"B"},"timeout":120,"unknown":1}`)
	wantStatus(t, resp, b, http.StatusCreated)
	m := asMap(t, b)
	wantKeys(t, m, sandboxFields...)
	if m["clientID"] != ClientID || m["envdVersion"] != "0.6.4" || m["domain"] != nil || m["trafficAccessToken"] != nil {
		t.Errorf("unexpected body %v", m)
	}
	if m["envdAccessToken"] != "tok-"+m["sandboxID"].(string) {
		t.Errorf("envdAccessToken = %v", m["envdAccessToken"])
	}
	req := e.fake.lastCreate
	if req.Template != "base" || req.Timeout != 120*time.Second || req.Metadata["user"] != "x" || req.EnvVars["A"] != "B" {
		t.Errorf("CreateRequest = %+v", req)
	}
	k, _ := e.keys.Verify(e.key)
	if req.OwnerKey != k.ID || req.OwnerKey == "" {
		t.Errorf("OwnerKey = %q, want key id %q", req.OwnerKey, k.ID)
	}
}

func TestCreateDefaults(t *testing.T) {
	e := newEnv(t, Config{Domain: "sandbox.example.com"})
	for _, tc := range []struct {
		path, body string
		want       time.Duration
	}{
		{"/v2/sandboxes", `{"templateID":"code-interpreter-v1"}`, 300 * time.Second},
		{"/v2/sandboxes", `{}`, 300 * time.Second},
		{"/v2/sandboxes", ``, 300 * time.Second},
		{"/sandboxes", `{"templateID":"base"}`, 15 * time.Second},
		{"/sandboxes", `{"templateID":"base","timeout":300,"secure":true,"allow_internet_access":true}`, 300 * time.Second},
		{"/v2/sandboxes", `{"templateID":"base:default","autoPause":false,"autoResume":{"enabled":false},"network":{},"volumeMounts":[],"mcp":null}`, 300 * time.Second},
	} {
		resp, b := e.call(t, "POST", tc.path, tc.body)
		wantStatus(t, resp, b, http.StatusCreated)
		if got := e.fake.lastCreate.Timeout; got != tc.want {
			t.Errorf("POST %s %s: timeout %v, want %v", tc.path, tc.body, got, tc.want)
		}
		if m := asMap(t, b); m["domain"] != "sandbox.example.com" {
			t.Errorf("domain = %v", m["domain"])
		}
	}
	if e.fake.lastCreate.Template != "base" {
		t.Errorf("template = %q, want base (\":default\" tag dropped)", e.fake.lastCreate.Template)
	}
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		body   string
		status int
		substr string
	}{
		{`{"templateID":`, 400, "invalid JSON"},
		{`[1]`, 400, "invalid JSON"},
		{`{"timeout":0}`, 400, "timeout"},
		{`{"timeout":-5}`, 400, "timeout"},
		{`{"timeout":"x"}`, 400, "invalid JSON"},
		{`{"templateID":"nope"}`, 404, "available templates: base, code-interpreter, code-interpreter-v1"},
		{`{"templateID":"desktop"}`, 400, "not installed"},
		{`{"autoPause":true}`, 400, "autoPause"},
		{`{"autoResume":{"enabled":true}}`, 400, "autoResume"},
		{`{"network":{"rules":{"x":[]}}}`, 400, "network.rules"},
		{`{"network":{"httpsPorts":[8443]}}`, 400, "httpsPorts"},
		{`{"network":{"maskRequestHost":"evil/path"}}`, 400, "maskRequestHost"},
		{`{"network":{"maskRequestHost":"a b"}}`, 400, "maskRequestHost"},
		{`{"volumeMounts":[{"name":"v","path":"/mnt"}]}`, 400, "volumeMounts"},
		{`{"mcp":{"x":{}}}`, 400, "mcp"},
	} {
		resp, b := e.call(t, "POST", "/v2/sandboxes", tc.body)
		wantError(t, resp, b, tc.status, tc.substr)
	}
	e.fake.createErr = contextDeadline()
	resp, b := e.call(t, "POST", "/v2/sandboxes", `{}`)
	wantError(t, resp, b, http.StatusGatewayTimeout, "")
	e.fake.createErr = sandbox.ErrUnsupported
	resp, b = e.call(t, "POST", "/v2/sandboxes", `{}`)
	wantError(t, resp, b, http.StatusNotImplemented, "")
}

// TestCreateNetwork passes allow_internet_access and network.allowOut/denyOut to the manager, and
// reports the policy in force.
func TestCreateNetwork(t *testing.T) {
	e := newEnv(t, Config{})
	resp, b := e.call(t, "POST", "/v2/sandboxes", `{"templateID":"base","allow_internet_access":false,"network":{"allowOut":["198.51.100.7"],"denyOut":["10.0.0.0/8"]}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	want := sandbox.Network{Disabled: true, AllowOut: []string{"198.51.100.7"}, DenyOut: []string{"10.0.0.0/8"}}
	if got := e.fake.lastCreate.Network; !reflect.DeepEqual(got, want) {
		t.Fatalf("network passed to the manager: %+v, want %+v", got, want)
	}
	var created struct{ SandboxID string }
	if err := json.Unmarshal(b, &created); err != nil {
		t.Fatal(err)
	}
	resp, b = e.call(t, "GET", "/sandboxes/"+created.SandboxID, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get: %d %s", resp.StatusCode, b)
	}
	var detail struct {
		AllowInternetAccess *bool `json:"allowInternetAccess"`
		Network             struct {
			AllowOut []string `json:"allowOut"`
			DenyOut  []string `json:"denyOut"`
		} `json:"network"`
	}
	if err := json.Unmarshal(b, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.AllowInternetAccess == nil || *detail.AllowInternetAccess || !reflect.DeepEqual(detail.Network.AllowOut, want.AllowOut) || !reflect.DeepEqual(detail.Network.DenyOut, want.DenyOut) {
		t.Errorf("detail reports %s", b)
	}
}

// TestChunkedBody sends a create body with Transfer-Encoding: chunked (no Content-Length), as the
// SDK does (Appendix A).
func TestChunkedBody(t *testing.T) {
	e := newEnv(t, Config{})
	var seen []string
	h := New(Config{Sandboxes: e.fake, Keys: e.keys})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.TransferEncoding
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		for _, part := range []string{`{"templateID":`, `"base",`, `"timeout":42}`} {
			_, _ = pw.Write([]byte(part))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/v2/sandboxes", pr)
	req.Header.Set("X-API-Key", e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(seen) != 1 || seen[0] != "chunked" {
		t.Fatalf("request was not chunked: %v", seen)
	}
	wantStatus(t, resp, b, http.StatusCreated)
	if e.fake.lastCreate.Timeout != 42*time.Second {
		t.Fatalf("timeout = %v", e.fake.lastCreate.Timeout)
	}
}

func TestConnect(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", nil, e.fake.now)
	for _, tc := range []struct {
		path, body string
		want       time.Duration
	}{
		{"/v2/sandboxes/abc123/connect", ``, 300 * time.Second},
		{"/v2/sandboxes/abc123/connect", `{}`, 300 * time.Second},
		{"/v2/sandboxes/abc123/connect", `{"timeout":30}`, 30 * time.Second},
		{"/v2/sandboxes/abc123/connect", `{"memory":false}`, 300 * time.Second},
		{"/sandboxes/abc123/connect", `{"timeout":60}`, 60 * time.Second},
		{"/sandboxes/abc123-6532622b/connect", `{"timeout":61}`, 61 * time.Second},
	} {
		resp, b := e.call(t, "POST", tc.path, tc.body)
		wantStatus(t, resp, b, http.StatusOK)
		m := asMap(t, b)
		wantKeys(t, m, sandboxFields...)
		if m["sandboxID"] != "abc123" || m["envdAccessToken"] != "tok-abc123" {
			t.Errorf("body %v", m)
		}
		if e.fake.lastConnect != tc.want {
			t.Errorf("%s %s: timeout %v, want %v", tc.path, tc.body, e.fake.lastConnect, tc.want)
		}
	}
	resp, b := e.call(t, "POST", "/v2/sandboxes/missing1/connect", `{}`)
	wantError(t, resp, b, http.StatusNotFound, "missing1")
	resp, b = e.call(t, "POST", "/v2/sandboxes/abc123/connect", `{"timeout":0}`)
	wantError(t, resp, b, http.StatusBadRequest, "timeout")
}

func TestGetInfo(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", map[string]string{"a": "b"}, e.fake.now)
	resp, b := e.call(t, "GET", "/sandboxes/abc123", "")
	wantStatus(t, resp, b, http.StatusOK)
	m := asMap(t, b)
	wantKeys(t, m, "sandboxID", "templateID", "alias", "clientID", "startedAt", "endAt", "state", "cpuCount",
		"memoryMB", "diskSizeMB", "envdVersion", "metadata", "volumeMounts", "envdAccessToken", "domain",
		"allowInternetAccess", "network", "lifecycle")
	if m["startedAt"] != "2026-08-22T10:00:00.123456Z" || m["endAt"] != "2026-08-22T10:05:00.123456Z" {
		t.Errorf("times %v %v", m["startedAt"], m["endAt"])
	}
	if m["state"] != "running" || m["cpuCount"] != 2.0 || m["envdAccessToken"] != "tok-abc123" {
		t.Errorf("body %v", m)
	}
	if lc := m["lifecycle"].(map[string]any); lc["onTimeout"] != "kill" || lc["autoResume"] != false {
		t.Errorf("lifecycle %v", lc)
	}
	if vm, ok := m["volumeMounts"].([]any); !ok || len(vm) != 0 {
		t.Errorf("volumeMounts %v", m["volumeMounts"])
	}
	resp, b = e.call(t, "GET", "/sandboxes/nothere", "")
	wantError(t, resp, b, http.StatusNotFound, `"nothere"`)
}

func TestKill(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", nil, e.fake.now)
	resp, b := e.call(t, "DELETE", "/sandboxes/abc123", "")
	wantStatus(t, resp, b, http.StatusNoContent)
	if len(b) != 0 {
		t.Errorf("204 with body %q", b)
	}
	resp, b = e.call(t, "DELETE", "/sandboxes/abc123", "")
	wantError(t, resp, b, http.StatusNotFound, "abc123")
	resp, b = e.call(t, "DELETE", "/sandboxes/missing", "")
	wantError(t, resp, b, http.StatusNotFound, "missing")
}

func TestLegacyIDs(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", nil, e.fake.now)
	resp, b := e.call(t, "GET", "/sandboxes/abc123-6532622b", "")
	wantStatus(t, resp, b, http.StatusOK)
	if asMap(t, b)["sandboxID"] != "abc123" {
		t.Errorf("suffix not stripped: %s", b)
	}
	for _, bad := range []string{"a-b-c", "ABC123", "abc_123", "-x"} {
		resp, b := e.call(t, "DELETE", "/sandboxes/"+bad, "")
		wantError(t, resp, b, http.StatusBadRequest, "invalid sandbox ID")
	}
}

func TestSetTimeoutAndRefresh(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", nil, e.fake.now)
	resp, b := e.call(t, "POST", "/sandboxes/abc123/timeout", `{"timeout":60}`)
	wantStatus(t, resp, b, http.StatusNoContent)
	if e.fake.lastTimeout != time.Minute {
		t.Errorf("timeout %v", e.fake.lastTimeout)
	}
	resp, b = e.call(t, "POST", "/sandboxes/abc123/timeout", `{"timeout":-3}`)
	wantStatus(t, resp, b, http.StatusNoContent)
	if e.fake.lastTimeout != 0 {
		t.Errorf("negative timeout passed as %v, want 0", e.fake.lastTimeout)
	}
	resp, b = e.call(t, "POST", "/sandboxes/abc123/timeout", `{}`)
	wantError(t, resp, b, http.StatusBadRequest, "timeout")
	resp, b = e.call(t, "POST", "/sandboxes/abc123/timeout", ``)
	wantError(t, resp, b, http.StatusBadRequest, "body")
	resp, b = e.call(t, "POST", "/sandboxes/gone/timeout", `{"timeout":60}`)
	wantError(t, resp, b, http.StatusNotFound, "gone")

	resp, b = e.call(t, "POST", "/sandboxes/abc123/refreshes", `{"duration":120}`)
	wantStatus(t, resp, b, http.StatusNoContent)
	if e.fake.lastConnect != 2*time.Minute {
		t.Errorf("refresh extended by %v", e.fake.lastConnect)
	}
	resp, b = e.call(t, "POST", "/sandboxes/abc123/refreshes", ``)
	wantStatus(t, resp, b, http.StatusNoContent)
	if e.fake.lastConnect != defaultRefresh {
		t.Errorf("default refresh %v", e.fake.lastConnect)
	}
	resp, b = e.call(t, "POST", "/sandboxes/gone/refreshes", `{}`)
	wantError(t, resp, b, http.StatusNotFound, "gone")
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", nil, e.fake.now)
	resp, b := e.call(t, "GET", "/sandboxes/abc123/metrics", "")
	wantStatus(t, resp, b, http.StatusOK)
	l := asList(t, b)
	if len(l) != 2 {
		t.Fatalf("metrics %s", b)
	}
	wantKeys(t, l[0], "timestamp", "timestampUnix", "cpuUsedPct", "cpuCount", "memUsed", "memTotal", "memCache", "diskUsed", "diskTotal")
	if l[0]["timestamp"] != "1970-01-01T00:01:40Z" || l[0]["timestampUnix"] != 100.0 || l[0]["cpuUsedPct"] != 12.5 {
		t.Errorf("metric %v", l[0])
	}
	resp, b = e.call(t, "GET", "/sandboxes/abc123/metrics?start=150&end=250", "")
	wantStatus(t, resp, b, http.StatusOK)
	if l := asList(t, b); len(l) != 1 || l[0]["timestampUnix"] != 200.0 {
		t.Errorf("filtered metrics %s", b)
	}
	resp, b = e.call(t, "GET", "/sandboxes/abc123/metrics?start=0&end=5", "")
	wantStatus(t, resp, b, http.StatusOK)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("empty metrics = %s, want []", b)
	}
	resp, b = e.call(t, "GET", "/sandboxes/abc123/metrics?start=x", "")
	wantError(t, resp, b, http.StatusBadRequest, "start")
	resp, b = e.call(t, "GET", "/sandboxes/nope/metrics", "")
	wantError(t, resp, b, http.StatusNotFound, "nope")

	resp, b = e.call(t, "GET", "/sandboxes/metrics?sandbox_ids=abc123,nope", "")
	wantStatus(t, resp, b, http.StatusOK)
	m := asMap(t, b)
	wantKeys(t, m, "sandboxes")
	sbs := m["sandboxes"].(map[string]any)
	if len(sbs) != 1 || sbs["abc123"].(map[string]any)["timestampUnix"] != 200.0 {
		t.Errorf("metrics by id %s", b)
	}
}

func TestUnsupportedFeatures(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.add("abc123", nil, e.fake.now)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/sandboxes/%s/pause", `{}`},
		{"POST", "/sandboxes/%s/resume", `{}`},
		{"PUT", "/sandboxes/%s/network", `{"allowOut":["8.8.8.8"]}`},
		{"POST", "/sandboxes/%s/fork", `{"count":2}`},
		{"POST", "/sandboxes/%s/snapshots", `{"name":"snap"}`},
		{"GET", "/v2/sandboxes/%s/logs", ``},
		{"GET", "/sandboxes/%s/logs", ``},
	} {
		resp, b := e.call(t, c.method, strings.Replace(c.path, "%s", "abc123", 1), c.body)
		wantError(t, resp, b, http.StatusNotImplemented, "not")
		resp, b = e.call(t, c.method, strings.Replace(c.path, "%s", "gone", 1), c.body)
		wantError(t, resp, b, http.StatusNotFound, "gone")
	}
	resp, b := e.call(t, "GET", "/snapshots?sandboxID=abc123", "")
	wantStatus(t, resp, b, http.StatusOK)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("snapshots = %s", b)
	}
	resp, b = e.call(t, "DELETE", "/templates/snap1", "")
	wantError(t, resp, b, http.StatusNotFound, "snap1")
	resp, b = e.call(t, "POST", "/v3/templates", `{"name":"x"}`)
	wantError(t, resp, b, http.StatusNotImplemented, "templates")
}

func TestTemplates(t *testing.T) {
	e := newEnv(t, Config{})
	resp, b := e.call(t, "GET", "/templates", "")
	wantStatus(t, resp, b, http.StatusOK)
	l := asList(t, b)
	if len(l) != 3 {
		t.Fatalf("templates %s", b)
	}
	wantKeys(t, l[2], "templateID", "buildID", "aliases", "names", "cpuCount", "memoryMB", "public", "buildStatus", "available", "reason")
	if l[2]["available"] != false || l[2]["reason"] != "image sandbox-desktop not installed" {
		t.Errorf("desktop %v", l[2])
	}
	if l[0]["available"] != true || l[0]["aliases"] == nil {
		t.Errorf("base %v", l[0])
	}
	resp, b = e.call(t, "GET", "/templates/aliases/code-interpreter", "")
	wantStatus(t, resp, b, http.StatusOK)
	if asMap(t, b)["templateID"] != "code-interpreter-v1" {
		t.Errorf("alias lookup %s", b)
	}
	resp, b = e.call(t, "GET", "/templates/aliases/nope", "")
	wantError(t, resp, b, http.StatusNotFound, "nope")
}

// The admin API lists the same templates for tools that hold only the admin key (the provider).
func TestAdminTemplates(t *testing.T) {
	e := newEnv(t, Config{AdminKey: testAdminKey})
	_, public := e.call(t, "GET", "/templates", "")
	resp, b := e.admin(t, "GET", "/admin/templates", "")
	wantStatus(t, resp, b, http.StatusOK)
	if string(b) != string(public) {
		t.Fatalf("GET /admin/templates = %s, want what GET /templates answers: %s", b, public)
	}
	resp, b = e.call(t, "GET", "/admin/templates", "")
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET /admin/templates with an API key only = %d %s, want 401 or 403", resp.StatusCode, b)
	}
}

func TestHealthAndUnknownRoute(t *testing.T) {
	e := newEnv(t, Config{})
	resp, b := e.call(t, "GET", "/health", "", "X-API-Key", "")
	wantStatus(t, resp, b, http.StatusOK)
	wantKeys(t, asMap(t, b), "status")
	resp, b = e.call(t, "GET", "/nope", "")
	wantError(t, resp, b, http.StatusNotFound, "/nope")
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.observed) != 2 || e.observed[0] != "GET /health OK" || e.observed[1] != "/ Not Found" {
		t.Errorf("observed %v", e.observed)
	}
}

func TestUnknownTemplateMessageNotDoubled(t *testing.T) {
	e := newEnv(t, Config{})
	e.fake.createErr = fmt.Errorf("template %q (available: base): %w", "x", sandbox.ErrUnknownTemplate)
	resp, b := e.call(t, "POST", "/v2/sandboxes", `{"templateID":"x"}`)
	wantError(t, resp, b, http.StatusNotFound, "(available: base)")
	if strings.Count(string(b), "available") != 1 {
		t.Errorf("message lists templates twice: %s", b)
	}
}

// TestPrivateSandbox: network.allowPublicTraffic=false gives the sandbox a traffic access token, in the
// create and connect answers (where @e2b/code-interpreter reads it) and nowhere else; maskRequestHost
// is passed on and reported.
func TestPrivateSandbox(t *testing.T) {
	e := newEnv(t, Config{})
	resp, b := e.call(t, "POST", "/v2/sandboxes", `{"templateID":"base","network":{"allowPublicTraffic":false,"maskRequestHost":"${PORT}-app.local"}}`)
	wantStatus(t, resp, b, http.StatusCreated)
	m := asMap(t, b)
	id := m["sandboxID"].(string)
	want := sandbox.TrafficToken("tok-" + id)
	if m["trafficAccessToken"] != want || want == "" {
		t.Fatalf("trafficAccessToken = %v, want %q", m["trafficAccessToken"], want)
	}
	if n := e.fake.lastCreate.Inbound; !n.Private || n.MaskRequestHost != "${PORT}-app.local" {
		t.Errorf("CreateRequest.Network = %+v", n)
	}

	resp, b = e.call(t, "POST", "/v2/sandboxes/"+id+"/connect", `{}`)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("connect: %d %s", resp.StatusCode, b)
	}
	if got := asMap(t, b)["trafficAccessToken"]; got != want {
		t.Errorf("connect trafficAccessToken = %v, want %q", got, want)
	}

	resp, b = e.call(t, "GET", "/sandboxes/"+id, "")
	wantStatus(t, resp, b, http.StatusOK)
	network, _ := asMap(t, b)["network"].(map[string]any)
	if network["allowPublicTraffic"] != false || network["maskRequestHost"] != "${PORT}-app.local" {
		t.Errorf("detail network = %v", network)
	}
	if strings.Contains(string(b), want) {
		t.Errorf("GET /sandboxes/{id} reveals the traffic token: %s", b)
	}

	// allowPublicTraffic:true (or absent) is a public sandbox: no token.
	resp, b = e.call(t, "POST", "/v2/sandboxes", `{"network":{"allowPublicTraffic":true}}`)
	wantStatus(t, resp, b, http.StatusCreated)
	if m := asMap(t, b); m["trafficAccessToken"] != nil || e.fake.lastCreate.Inbound.Private {
		t.Errorf("public sandbox: %v, %+v", m, e.fake.lastCreate.Network)
	}
}
