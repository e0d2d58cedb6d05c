package files

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

func TestRoundTrip(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	binary := make([]byte, 300_000)
	rand.Read(binary)
	for name, data := range map[string][]byte{"text.txt": []byte("hello, sandbox\n"), "blob.bin": binary} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "nested", name)
			entries := wantEntries(t, s.upload(p, data, nil))
			if len(entries) != 1 || !reflect.DeepEqual(entries[0], entry{Path: p, Name: name, Type: "file"}) {
				t.Fatalf("entries %+v", entries)
			}
			wantFile(t, p, data)
			for _, ae := range []string{"", "gzip"} {
				h := http.Header{}
				if ae != "" {
					h.Set("Accept-Encoding", ae)
				}
				resp := s.download(p, h)
				wantStatus(t, resp, http.StatusOK)
				// Neither a 15-byte text nor random bytes shrink under gzip, so both come as identity.
				if ce := resp.Header.Get("Content-Encoding"); ce != "" {
					t.Fatalf("Accept-Encoding %q: Content-Encoding %q for data gzip cannot shrink, want identity", ae, ce)
				}
				if got := readAll(t, resp.Body); !bytes.Equal(got, data) {
					t.Fatalf("Accept-Encoding %q: downloaded %d bytes, want %d", ae, len(got), len(data))
				}
			}
		})
	}
}

func TestIncompressibleGzipsOnlyWhenIdentityIsRefused(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	data := make([]byte, 200_000)
	rand.Read(data)
	p := filepath.Join(t.TempDir(), "random.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	resp := s.download(p, http.Header{"Accept-Encoding": {"gzip, identity;q=0"}})
	wantStatus(t, resp, http.StatusOK)
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip when the client refuses identity", ce)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, zr); !bytes.Equal(got, data) {
		t.Fatalf("gunzipped %d bytes, want %d", len(got), len(data))
	}
}

func TestDownloadEncoding(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	data := bytes.Repeat([]byte("compressible "), 10_000)
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("gzip", func(t *testing.T) {
		for _, ae := range []string{"gzip", "gzip, deflate", "deflate, gzip;q=0.5", "*", "identity;q=0.5, gzip", "GZIP"} {
			resp := s.download(p, http.Header{"Accept-Encoding": {ae}})
			wantStatus(t, resp, http.StatusOK)
			if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
				t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want gzip", ae, ce)
			}
			// net/http may add the length of a small compressed body, never the file's own.
			if cl := resp.Header.Get("Content-Length"); cl == strconv.Itoa(len(data)) {
				t.Errorf("gzip response with the identity Content-Length %s", cl)
			}
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, zr); !bytes.Equal(got, data) {
				t.Fatalf("Accept-Encoding %q: gunzipped %d bytes, want %d", ae, len(got), len(data))
			}
		}
	})

	t.Run("identity", func(t *testing.T) {
		for _, ae := range []string{"", "identity", "deflate", "gzip;q=0", "identity, gzip;q=0.5", "br"} {
			h := http.Header{}
			if ae != "" {
				h.Set("Accept-Encoding", ae)
			}
			resp := s.download(p, h)
			wantStatus(t, resp, http.StatusOK)
			if ce := resp.Header.Get("Content-Encoding"); ce != "" {
				t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want identity", ae, ce)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(data)) {
				t.Fatalf("Accept-Encoding %q: Content-Length %q, want %d", ae, cl, len(data))
			}
			if got := readAll(t, resp.Body); !bytes.Equal(got, data) {
				t.Fatalf("Accept-Encoding %q: got %d bytes", ae, len(got))
			}
		}
	})

	t.Run("not acceptable", func(t *testing.T) {
		for _, ae := range []string{"identity;q=0", "br, identity;q=0", "*;q=0", "gzip;q=0, identity;q=0"} {
			wantError(t, s.download(p, http.Header{"Accept-Encoding": {ae}}), http.StatusNotAcceptable)
		}
	})

	t.Run("gzip only when identity is refused, even with a range", func(t *testing.T) {
		resp := s.download(p, http.Header{"Accept-Encoding": {"gzip, identity;q=0"}, "Range": {"bytes=0-9"}})
		wantStatus(t, resp, http.StatusOK)
		if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", ce)
		}
	})

	t.Run("range is served as identity", func(t *testing.T) {
		resp := s.download(p, http.Header{"Accept-Encoding": {"gzip, deflate"}, "Range": {"bytes=2-11"}})
		wantStatus(t, resp, http.StatusPartialContent)
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Fatalf("Content-Encoding %q on a range response", ce)
		}
		if got := readAll(t, resp.Body); !bytes.Equal(got, data[2:12]) {
			t.Fatalf("range body %q, want %q", got, data[2:12])
		}
		if cr := resp.Header.Get("Content-Range"); cr != "bytes 2-11/"+strconv.Itoa(len(data)) {
			t.Fatalf("Content-Range %q", cr)
		}
	})

	t.Run("conditional request", func(t *testing.T) {
		first := s.download(p, nil)
		wantStatus(t, first, http.StatusOK)
		lm := first.Header.Get("Last-Modified")
		if lm == "" {
			t.Fatal("no Last-Modified")
		}
		resp := s.download(p, http.Header{"Accept-Encoding": {"gzip"}, "If-Modified-Since": {lm}})
		wantStatus(t, resp, http.StatusNotModified)
	})
}

func TestDownloadEmptyFile(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	p := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Node's undici always accepts gzip; the SDK still needs "Content-Length: 0" for empty files.
	for _, ae := range []string{"", "gzip, deflate"} {
		resp := s.download(p, http.Header{"Accept-Encoding": {ae}})
		wantStatus(t, resp, http.StatusOK)
		if cl := resp.Header.Get("Content-Length"); cl != "0" {
			t.Fatalf("Accept-Encoding %q: Content-Length %q, want 0", ae, cl)
		}
		if got := readAll(t, resp.Body); len(got) != 0 {
			t.Fatalf("body %q", got)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("not found", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.txt")
		resp := s.download(missing, nil)
		raw := readAll(t, resp.Body)
		want := `{"code":404,"message":"path '` + missing + `' does not exist"}` + "\n"
		if resp.StatusCode != http.StatusNotFound || string(raw) != want {
			t.Fatalf("got %d %s, want 404 %s", resp.StatusCode, raw, want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
	})
	t.Run("below a file", func(t *testing.T) {
		wantError(t, s.download(filepath.Join(file, "x"), nil), http.StatusNotFound)
	})
	t.Run("directory", func(t *testing.T) {
		wantError(t, s.download(dir, nil), http.StatusBadRequest)
	})
	t.Run("bad path", func(t *testing.T) {
		wantError(t, s.download("~other/x", nil), http.StatusBadRequest)
	})
	t.Run("method", func(t *testing.T) {
		resp := s.do(http.MethodPut, s.filesURL("path", file), nil, nil)
		wantError(t, resp, http.StatusMethodNotAllowed)
		if allow := resp.Header.Get("Allow"); allow != "GET, POST" {
			t.Fatalf("Allow %q", allow)
		}
	})
}

func TestDownloadPathResolution(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	abs, rel := homeDir(t, s.env)
	if err := os.WriteFile(filepath.Join(abs, "r.txt"), []byte("relative"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rel + "/r.txt", "~/" + rel + "/r.txt", rel + "/nonexistent/../r.txt"} {
		resp := s.download(p, nil)
		wantStatus(t, resp, http.StatusOK)
		if got := string(readAll(t, resp.Body)); got != "relative" {
			t.Fatalf("%s: %q", p, got)
		}
	}
}
