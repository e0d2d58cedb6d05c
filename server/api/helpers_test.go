package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
)

const testAdminKey = "admin-secret-for-tests"

type env struct {
	srv  *httptest.Server
	fake *fakeSandboxes
	keys *apikey.Store
	key  string

	mu       sync.Mutex
	observed []string
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	keys, err := apikey.New(filepath.Join(t.TempDir(), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := keys.Create("test")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: newFake(), keys: keys, key: plain}
	k, _ := keys.Verify(plain)
	e.fake.owner = k.ID
	cfg.Sandboxes = e.fake
	cfg.Keys = keys
	cfg.Observer = func(route string, status int, _ time.Duration) {
		e.mu.Lock()
		e.observed = append(e.observed, route+" "+http.StatusText(status))
		e.mu.Unlock()
	}
	e.srv = httptest.NewServer(New(cfg))
	t.Cleanup(e.srv.Close)
	return e
}

// call sends a request with the test API key; headers are name/value pairs that override it (an
// empty value removes the header).
func (e *env) call(t *testing.T, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (e *env) admin(t *testing.T, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	return e.call(t, method, path, body, "X-API-Key", "", "Authorization", "Bearer "+testAdminKey)
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

func asMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %s is not a JSON object: %v", b, err)
	}
	return m
}

func asList(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(b, &l); err != nil || l == nil {
		t.Fatalf("body %s is not a JSON array: %v", b, err)
	}
	return l
}

// wantKeys checks that m has exactly the given keys.
func wantKeys(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("keys = %v, want %v (body %v)", got, keys, m)
	}
}

// wantError checks an E2B error body: status, JSON, code == status, message containing substr.
func wantError(t *testing.T, resp *http.Response, b []byte, status int, substr string) {
	t.Helper()
	wantStatus(t, resp, b, status)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	m := asMap(t, b)
	wantKeys(t, m, "code", "message")
	if code, _ := m["code"].(float64); int(code) != status {
		t.Errorf("body code = %v, want %d", m["code"], status)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, substr) {
		t.Errorf("message %q does not contain %q", msg, substr)
	}
}

func contextDeadline() error { return fmt.Errorf("wait for envd: %w", context.DeadlineExceeded) }
