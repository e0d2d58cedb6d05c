package files

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

const testToken = "tok-0123456789abcdef"

// testServer is an envd /files handler behind a real HTTP server.
type testServer struct {
	t      *testing.T
	env    *sandboxenv.Env
	url    string
	client *http.Client
}

func newTestServer(t *testing.T, d sandboxenv.Defaults) *testServer {
	t.Helper()
	env := sandboxenv.New(d)
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(NewHandler(env, log))
	t.Cleanup(srv.Close)
	// DisableCompression: the tests look at the Content-Encoding the server really sent.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	return &testServer{t: t, env: env, url: srv.URL + "/files", client: client}
}

// filesURL builds /files?k=v&… from alternating keys and values.
func (s *testServer) filesURL(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	if len(q) == 0 {
		return s.url
	}
	return s.url + "?" + q.Encode()
}

func (s *testServer) do(method, u string, header http.Header, body io.Reader) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, u, err)
	}
	s.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// upload posts data as a single-part multipart body to /files?path=p.
func (s *testServer) upload(p string, data []byte, header http.Header) *http.Response {
	s.t.Helper()
	body, ct := multipartBody(s.t, map[string][]byte{p: data})
	h := http.Header{"Content-Type": {ct}}
	for k, v := range header {
		h[k] = v
	}
	return s.do(http.MethodPost, s.filesURL("path", p), h, body)
}

func (s *testServer) download(p string, header http.Header) *http.Response {
	s.t.Helper()
	return s.do(http.MethodGet, s.filesURL("path", p), header, nil)
}

// multipartBody builds a multipart body with one `file` part per entry, filename = the key, in a
// stable order (sorted by key).
func multipartBody(t *testing.T, files map[string][]byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantStatus fails unless resp has the status, showing the body otherwise.
func wantStatus(t *testing.T, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, readAll(t, resp.Body))
	}
}

// wantError checks envd's REST error shape and returns its message.
func wantError(t *testing.T, resp *http.Response, status int) string {
	t.Helper()
	wantStatus(t, resp, status)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("error Content-Type %q", ct)
	}
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	raw := readAll(t, resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("error body %q: %v", raw, err)
	}
	if body.Code != status || body.Message == "" {
		t.Errorf("error body %s, want code %d and a message", raw, status)
	}
	return body.Message
}

// wantEntries decodes a successful upload response.
func wantEntries(t *testing.T, resp *http.Response) []entry {
	t.Helper()
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("upload Content-Type %q", ct)
	}
	var entries []entry
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("upload returned an empty array")
	}
	return entries
}

func wantFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s holds %d bytes %.40q, want %d bytes %.40q", path, len(got), got, len(want), want)
	}
}

// homeDir makes a scratch directory inside the home of the default user (root), for tests of
// relative paths, which always resolve against the home.
func homeDir(t *testing.T, env *sandboxenv.Env) (abs, rel string) {
	t.Helper()
	u, err := env.LookupUser("")
	if err != nil {
		t.Fatal(err)
	}
	abs, err = os.MkdirTemp(u.Home, "files-test-")
	if err != nil {
		t.Skipf("cannot write to %s: %v", u.Home, err)
	}
	t.Cleanup(func() { os.RemoveAll(abs) })
	return abs, filepath.Base(abs)
}
