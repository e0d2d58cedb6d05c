package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeManager is an httptest admin API: pools and keys in memory, the admin key "adm", and the
// E2B /templates route behind X-API-Key.
type fakeManager struct {
	mu    sync.Mutex
	pools map[string]Pool
	keys  map[string]APIKey
	seq   int
}

func newFake(t *testing.T) (*fakeManager, *Client) {
	t.Helper()
	f := &fakeManager{pools: map[string]Pool{}, keys: map[string]APIKey{}}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", "adm", WithUserAgent("test-agent"))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Code: status, Message: msg})
}

func (f *fakeManager) handler() http.Handler {
	mux := http.NewServeMux()
	admin := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer adm" {
				fail(w, 401, "Invalid admin key")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /admin/pools/{name}", admin(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		p, ok := f.pools[r.PathValue("name")]
		if !ok {
			fail(w, 404, "pool not found")
			return
		}
		writeJSON(w, 200, p)
	}))
	mux.HandleFunc("PUT /admin/pools/{name}", admin(func(w http.ResponseWriter, r *http.Request) {
		var spec PoolSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			fail(w, 400, err.Error())
			return
		}
		if spec.Template != "base" {
			fail(w, 404, "template \""+spec.Template+"\" (available: base): unknown template")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		p := Pool{Name: r.PathValue("name"), Template: spec.Template, Size: spec.Size, Timeout: spec.Timeout, Resources: spec.Resources, Ready: spec.Size}
		f.pools[p.Name] = p
		writeJSON(w, 200, p)
	}))
	mux.HandleFunc("DELETE /admin/pools/{name}", admin(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.pools[r.PathValue("name")]; !ok {
			fail(w, 404, "pool not found")
			return
		}
		delete(f.pools, r.PathValue("name"))
		w.WriteHeader(204)
	}))
	mux.HandleFunc("POST /admin/keys", admin(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Name string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.seq++
		k := APIKey{ID: "k" + string(rune('0'+f.seq)), Name: body.Name, CreatedAt: "2026-01-01T00:00:00Z", Source: "store"}
		f.keys[k.ID] = k
		k.Key = "e2b_secret" + k.ID
		writeJSON(w, 201, k)
	}))
	mux.HandleFunc("DELETE /admin/keys/{id}", admin(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.keys, r.PathValue("id"))
		w.WriteHeader(204)
	}))
	mux.HandleFunc("GET /admin/templates", admin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []Template{
			{TemplateID: "base", Available: true, CPUCount: 2, MemoryMB: 512},
			{TemplateID: "browser", Aliases: []string{"chrome"}, Reason: "chromium is not installed"},
		})
	}))
	return mux
}

func TestPoolLifecycle(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t)
	if c.Endpoint() != strings.TrimSuffix(c.Endpoint(), "/") {
		t.Fatalf("endpoint %q keeps a trailing slash", c.Endpoint())
	}
	if _, err := c.GetPool(ctx, "warm"); !IsNotFound(err) {
		t.Fatalf("GetPool before create: %v, want not found", err)
	}
	p, err := c.PutPool(ctx, "warm", PoolSpec{Template: "base", Size: 2, Timeout: 60, Resources: Resources{CPUMillis: 500, MemoryMB: 256}})
	if err != nil {
		t.Fatal(err)
	}
	if p != (Pool{Name: "warm", Template: "base", Size: 2, Timeout: 60, Resources: Resources{CPUMillis: 500, MemoryMB: 256}, Ready: 2}) {
		t.Fatalf("PutPool = %+v", p)
	}
	if got, err := c.GetPool(ctx, "warm"); err != nil || got != p {
		t.Fatalf("GetPool = %+v, %v", got, err)
	}
	if err := c.DeletePool(ctx, "warm"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePool(ctx, "warm"); !IsNotFound(err) {
		t.Fatalf("second delete: %v, want not found", err)
	}
}

func TestUnknownTemplateIsAPIError(t *testing.T) {
	_, c := newFake(t)
	_, err := c.PutPool(context.Background(), "warm", PoolSpec{Template: "nope", Size: 1})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 404 || !strings.Contains(ae.Message, "available: base") {
		t.Fatalf("err = %v, want a 404 APIError naming the available templates", err)
	}
	if !strings.Contains(err.Error(), `put pool "warm"`) || !strings.Contains(err.Error(), "/admin/pools/warm") {
		t.Fatalf("err = %q, want operation and URL", err)
	}
}

func TestWrongAdminKey(t *testing.T) {
	f, good := newFake(t)
	_ = f
	c, err := New(good.Endpoint(), "wrong")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPool(context.Background(), "warm")
	if !IsUnauthorized(err) || !strings.Contains(err.Error(), "Invalid admin key") {
		t.Fatalf("err = %v, want 401 with the manager's message", err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New("http://"+addr, "adm")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPool(context.Background(), "warm")
	var re *RequestError
	if !errors.As(err, &re) || !strings.Contains(re.URL, addr) {
		t.Fatalf("err = %v, want a RequestError naming %s", err, addr)
	}
	if strings.Count(err.Error(), "http://"+addr) != 1 {
		t.Fatalf("err = %q names the URL more than once", err)
	}
}

func TestTemplates(t *testing.T) {
	_, c := newFake(t)
	ts, err := c.Templates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || !ts[0].Available || ts[1].Available || ts[1].Reason == "" || ts[1].Aliases[0] != "chrome" {
		t.Fatalf("templates = %+v", ts)
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t)
	k, err := c.CreateKey(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if k.Key == "" || k.ID == "" || k.Name != "ci" {
		t.Fatalf("CreateKey = %+v", k)
	}
	if err := c.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:3000":       "http://127.0.0.1:3000",
		"https://sbx.example.com/":    "https://sbx.example.com",
		" https://h.example/prefix/ ": "https://h.example/prefix",
	} {
		u, err := ParseEndpoint(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseEndpoint(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"", "127.0.0.1:3000", "ftp://h", "http://", "http://h?x=1", "http://h#f"} {
		if _, err := ParseEndpoint(in); err == nil {
			t.Errorf("ParseEndpoint(%q) accepted", in)
		}
	}
}
