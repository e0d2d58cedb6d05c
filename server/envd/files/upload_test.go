package files

import (
	"bytes"
	"compress/gzip"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

func TestUploadMultipartSeveralFiles(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	files := map[string][]byte{
		filepath.Join(dir, "x/y/1.txt"): []byte("one"),
		filepath.Join(dir, "x/z/1.txt"): []byte("same base name, other dir"),
		filepath.Join(dir, "2.txt"):     []byte("two"),
	}
	body, ct := multipartBody(t, files)
	entries := wantEntries(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {ct}}, body))
	if len(entries) != len(files) {
		t.Fatalf("%d entries for %d files: %+v", len(entries), len(files), entries)
	}
	// multipartBody writes parts sorted by filename; the response keeps the order.
	for i, want := range []string{filepath.Join(dir, "2.txt"), filepath.Join(dir, "x/y/1.txt"), filepath.Join(dir, "x/z/1.txt")} {
		if e := entries[i]; e.Path != want || e.Name != filepath.Base(want) || e.Type != "file" || e.Metadata != nil {
			t.Errorf("entry %d: %+v, want path %s", i, e, want)
		}
	}
	for p, data := range files {
		wantFile(t, p, data)
	}
}

func TestUploadMultipartPathQueryWins(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	target := filepath.Join(dir, "target.txt")
	body, ct := multipartBody(t, map[string][]byte{filepath.Join(dir, "ignored.txt"): []byte("data")})
	entries := wantEntries(t, s.do(http.MethodPost, s.filesURL("path", target), http.Header{"Content-Type": {ct}}, body))
	if len(entries) != 1 || entries[0].Path != target {
		t.Fatalf("entries %+v", entries)
	}
	wantFile(t, target, []byte("data"))
	if _, err := os.Stat(filepath.Join(dir, "ignored.txt")); err == nil {
		t.Fatal("the part's filename was used although path was given")
	}
}

func TestUploadMultipartGzipBody(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	p := filepath.Join(t.TempDir(), "gz-multipart.txt")
	body, ct := multipartBody(t, map[string][]byte{p: []byte("compressed multipart")})
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	io.Copy(zw, body)
	zw.Close()
	wantEntries(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {ct}, "Content-Encoding": {"gzip"}}, &zbuf))
	wantFile(t, p, []byte("compressed multipart"))
}

func TestUploadMultipartIgnoresOtherFields(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("comment", "not a file")
	other, _ := mw.CreateFormFile("attachment", filepath.Join(dir, "other.txt"))
	other.Write([]byte("ignored"))
	fw, _ := mw.CreateFormFile("file", filepath.Join(dir, "real.txt"))
	fw.Write([]byte("kept"))
	mw.Close()
	entries := wantEntries(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {mw.FormDataContentType()}}, &buf))
	if len(entries) != 1 || entries[0].Path != filepath.Join(dir, "real.txt") {
		t.Fatalf("entries %+v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.txt")); err == nil {
		t.Fatal("a part named attachment was written")
	}
}

func TestUploadMultipartErrors(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()

	t.Run("duplicate target", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, name := range []string{filepath.Join(dir, "dup.txt"), filepath.Join(dir, "sub/../dup.txt")} {
			fw, _ := mw.CreateFormFile("file", name)
			fw.Write([]byte(name))
		}
		mw.Close()
		msg := wantError(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {mw.FormDataContentType()}}, &buf), http.StatusBadRequest)
		if !strings.Contains(msg, "same path") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("duplicate through the path query", func(t *testing.T) {
		body, ct := multipartBody(t, map[string][]byte{"a": []byte("a"), "b": []byte("b")})
		wantError(t, s.do(http.MethodPost, s.filesURL("path", filepath.Join(dir, "q.txt")), http.Header{"Content-Type": {ct}}, body), http.StatusBadRequest)
	})
	t.Run("no file part", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("comment", "x")
		mw.Close()
		wantError(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {mw.FormDataContentType()}}, &buf), http.StatusBadRequest)
	})
	t.Run("no filename and no path", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"`}}
		pw, _ := mw.CreatePart(h)
		pw.Write([]byte("x"))
		mw.Close()
		wantError(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {mw.FormDataContentType()}}, &buf), http.StatusBadRequest)
	})
	t.Run("malformed body", func(t *testing.T) {
		wantError(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {"multipart/form-data; boundary=xyz"}}, strings.NewReader("garbage")), http.StatusBadRequest)
	})
	t.Run("no boundary", func(t *testing.T) {
		wantError(t, s.do(http.MethodPost, s.filesURL("path", filepath.Join(dir, "nb")), http.Header{"Content-Type": {"multipart/form-data"}}, strings.NewReader("x")), http.StatusBadRequest)
	})
	t.Run("directory target", func(t *testing.T) {
		wantError(t, s.upload(dir, []byte("x"), nil), http.StatusBadRequest)
	})
	t.Run("parent is a file", func(t *testing.T) {
		file := filepath.Join(dir, "plain")
		os.WriteFile(file, nil, 0o644)
		wantError(t, s.upload(filepath.Join(file, "child"), []byte("x"), nil), http.StatusBadRequest)
	})
	t.Run("bad path", func(t *testing.T) {
		wantError(t, s.upload("~other/x", []byte("x"), nil), http.StatusBadRequest)
	})
}

func TestUploadOctetStream(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	data := bytes.Repeat([]byte("octet stream body\n"), 5000)

	t.Run("plain", func(t *testing.T) {
		p := filepath.Join(dir, "plain/a.txt")
		resp := s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Type": {"application/octet-stream"}}, bytes.NewReader(data))
		if entries := wantEntries(t, resp); len(entries) != 1 || entries[0].Path != p || entries[0].Name != "a.txt" {
			t.Fatalf("entries %+v", entries)
		}
		wantFile(t, p, data)
	})
	t.Run("identity encoding and no content type", func(t *testing.T) {
		p := filepath.Join(dir, "identity.txt")
		wantEntries(t, s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Encoding": {"identity"}}, bytes.NewReader(data)))
		wantFile(t, p, data)
	})
	t.Run("gzip", func(t *testing.T) {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		zw.Write(data)
		zw.Close()
		p := filepath.Join(dir, "gz.txt")
		// A reader without a known length: the client sends the body chunked, as the SDK's streams do.
		body := struct{ *bytes.Reader }{bytes.NewReader(zbuf.Bytes())}
		resp := s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Type": {"application/octet-stream"}, "Content-Encoding": {"gzip"}}, body)
		wantEntries(t, resp)
		wantFile(t, p, data)
	})
	t.Run("corrupt gzip", func(t *testing.T) {
		p := filepath.Join(dir, "corrupt.txt")
		wantError(t, s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Type": {"application/octet-stream"}, "Content-Encoding": {"gzip"}}, strings.NewReader("not gzip at all")), http.StatusBadRequest)
	})
	t.Run("unsupported encoding", func(t *testing.T) {
		p := filepath.Join(dir, "br.txt")
		wantError(t, s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Type": {"application/octet-stream"}, "Content-Encoding": {"br"}}, bytes.NewReader(data)), http.StatusBadRequest)
		if _, err := os.Stat(p); err == nil {
			t.Fatal("file written despite the unsupported encoding")
		}
	})
	t.Run("path required", func(t *testing.T) {
		wantError(t, s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {"application/octet-stream"}}, bytes.NewReader(data)), http.StatusBadRequest)
	})
	t.Run("replaces existing content", func(t *testing.T) {
		p := filepath.Join(dir, "replace.txt")
		os.WriteFile(p, bytes.Repeat([]byte("old"), 1000), 0o644)
		wantEntries(t, s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("new")))
		wantFile(t, p, []byte("new"))
	})
}

func TestUploadPathResolution(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	abs, rel := homeDir(t, s.env)

	entries := wantEntries(t, s.upload(rel+"/sub/r.txt", []byte("relative"), nil))
	if want := filepath.Join(abs, "sub/r.txt"); entries[0].Path != want {
		t.Fatalf("relative path resolved to %s, want %s", entries[0].Path, want)
	}
	wantFile(t, filepath.Join(abs, "sub/r.txt"), []byte("relative"))

	// ".." is resolved lexically: "missing" does not exist, which an OS lookup would refuse.
	entries = wantEntries(t, s.upload(abs+"/missing/../lex.txt", []byte("lexical"), nil))
	if want := filepath.Join(abs, "lex.txt"); entries[0].Path != want {
		t.Fatalf("path resolved to %s, want %s", entries[0].Path, want)
	}
	if _, err := os.Stat(filepath.Join(abs, "missing")); err == nil {
		t.Fatal("the directory before .. was created")
	}
}

func TestUploadAsOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	s := newTestServer(t, sandboxenv.Defaults{})
	nobody, err := s.env.LookupUser("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	root := t.TempDir()
	for d := root; d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "home")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, int(nobody.UID), int(nobody.GID)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "made/for/nobody.txt")
	resp := s.do(http.MethodPost, s.filesURL("path", p, "username", "nobody"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("hi"))
	wantEntries(t, resp)
	for _, q := range []string{p, filepath.Join(dir, "made/for"), filepath.Join(dir, "made")} {
		info, err := os.Stat(q)
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != nobody.UID || st.Gid != nobody.GID {
			t.Errorf("%s owned by %d:%d, want %d:%d", q, st.Uid, st.Gid, nobody.UID, nobody.GID)
		}
		if info.IsDir() && info.Mode().Perm() != 0o755&^umask() {
			t.Errorf("%s mode %v", q, info.Mode())
		}
	}
	if st, _ := os.Stat(root); st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("an existing parent changed owner")
	}

	// The user's permissions hold: no file in root's directory, no write to or read of root's file,
	// and a link the user planted does not lead root's upload into root's files.
	secret := filepath.Join(root, "secret")
	if err := os.WriteFile(secret, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantError(t, s.do(http.MethodPost, s.filesURL("path", filepath.Join(root, "new"), "username", "nobody"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("x")), http.StatusForbidden)
	wantError(t, s.do(http.MethodPost, s.filesURL("path", secret, "username", "nobody"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("x")), http.StatusForbidden)
	wantError(t, s.do(http.MethodGet, s.filesURL("path", secret, "username", "nobody"), nil, nil), http.StatusForbidden)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, int(nobody.UID), int(nobody.GID)); err != nil {
		t.Fatal(err)
	}
	wantError(t, s.do(http.MethodPost, s.filesURL("path", link, "username", "root"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("x")), http.StatusForbidden)
	wantError(t, s.do(http.MethodPost, s.filesURL("path", link, "username", "nobody"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("x")), http.StatusForbidden)
	if b, _ := os.ReadFile(secret); string(b) != "root only" {
		t.Fatalf("root's file was written: %q", b)
	}

	wantError(t, s.do(http.MethodPost, s.filesURL("path", p, "username", "no-such-user-xyz"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("hi")), http.StatusUnauthorized)
	wantError(t, s.do(http.MethodGet, s.filesURL("path", p, "username", "no-such-user-xyz"), nil, nil), http.StatusUnauthorized)
}

func TestUploadNoSpace(t *testing.T) {
	// Writes to /dev/full fail with ENOSPC, like a full disk.
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	s := newTestServer(t, sandboxenv.Defaults{})
	wantError(t, s.do(http.MethodPost, s.filesURL("path", "/dev/full"), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("x")), http.StatusInsufficientStorage)
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
