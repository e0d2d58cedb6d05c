package files

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

func TestSignatureFormula(t *testing.T) {
	// Values computed independently (Python hashlib/base64) from the formula in the spec.
	if got, want := Signature("/home/user/a.txt", "read", "", "tok123", 0), "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M"; got != want {
		t.Errorf("without expiration: %s, want %s", got, want)
	}
	if got, want := Signature("/home/user/a.txt", "write", "root", "tok123", 1795423045), "v1_mhTcLFjywoGaGDREJXlSZxmVOD3oaGGoLnigSKiadqc"; got != want {
		t.Errorf("with expiration: %s, want %s", got, want)
	}
	sum := sha256.Sum256([]byte("p:read:u:t:42"))
	if got, want := Signature("p", "read", "u", "t", 42), "v1_"+base64.RawStdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAuthToken(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{AccessToken: testToken})
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(p, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}

	wantStatus(t, s.download(p, http.Header{"X-Access-Token": {testToken}}), http.StatusOK)
	wantEntries(t, s.upload(filepath.Join(dir, "up.txt"), []byte("x"), http.Header{"X-Access-Token": {testToken}}))

	for name, h := range map[string]http.Header{"wrong": {"X-Access-Token": {"wrong"}}, "absent": nil} {
		msg := wantError(t, s.download(p, h), http.StatusUnauthorized)
		if !strings.Contains(msg, "unauthorized access") {
			t.Errorf("%s token: message %q", name, msg)
		}
		wantError(t, s.upload(filepath.Join(dir, name+".txt"), []byte("x"), h), http.StatusUnauthorized)
		if _, err := os.Stat(filepath.Join(dir, name+".txt")); err == nil {
			t.Errorf("%s token: file written", name)
		}
	}

	// A wrong header is refused even with a valid signature: the header, when present, decides.
	u := s.filesURL("path", p, "signature", Signature(p, "read", "", testToken, 0))
	wantError(t, s.do(http.MethodGet, u, http.Header{"X-Access-Token": {"wrong"}}, nil), http.StatusUnauthorized)
	wantStatus(t, s.do(http.MethodGet, u, nil, nil), http.StatusOK)
}

func TestAuthNoToken(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	p := filepath.Join(t.TempDir(), "open.txt")
	wantEntries(t, s.upload(p, []byte("open"), http.Header{"X-Access-Token": {"anything"}}))
	wantStatus(t, s.do(http.MethodGet, s.filesURL("path", p, "signature", "v1_garbage"), nil, nil), http.StatusOK)
}

func TestAuthSignature(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{AccessToken: testToken})
	dir := t.TempDir()
	p := filepath.Join(dir, "signed.txt")
	if err := os.WriteFile(p, []byte("signed"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).Unix()
	past := time.Now().Add(-time.Minute).Unix()
	exp := func(e int64) string { return strconv.FormatInt(e, 10) }
	get := func(kv ...string) *http.Response { return s.do(http.MethodGet, s.filesURL(kv...), nil, nil) }
	post := func(kv ...string) *http.Response {
		return s.do(http.MethodPost, s.filesURL(kv...), http.Header{"Content-Type": {"application/octet-stream"}}, strings.NewReader("uploaded"))
	}

	t.Run("read without expiration", func(t *testing.T) {
		wantStatus(t, get("path", p, "signature", Signature(p, "read", "", testToken, 0)), http.StatusOK)
	})
	t.Run("read with expiration", func(t *testing.T) {
		wantStatus(t, get("path", p, "signature", Signature(p, "read", "", testToken, future), "signature_expiration", exp(future)), http.StatusOK)
	})
	t.Run("read with username", func(t *testing.T) {
		wantStatus(t, get("path", p, "username", "root", "signature", Signature(p, "read", "root", testToken, 0)), http.StatusOK)
		// The username is part of the signed string: "" and "root" are different signatures.
		wantError(t, get("path", p, "username", "root", "signature", Signature(p, "read", "", testToken, 0)), http.StatusUnauthorized)
	})
	t.Run("signed path is the unresolved one", func(t *testing.T) {
		rel := p + "/../signed.txt"
		wantStatus(t, get("path", rel, "signature", Signature(rel, "read", "", testToken, 0)), http.StatusOK)
		wantError(t, get("path", rel, "signature", Signature(p, "read", "", testToken, 0)), http.StatusUnauthorized)
	})
	t.Run("write", func(t *testing.T) {
		w := filepath.Join(dir, "w1.txt")
		wantEntries(t, post("path", w, "signature", Signature(w, "write", "", testToken, 0)))
		wantFile(t, w, []byte("uploaded"))
		w = filepath.Join(dir, "w2.txt")
		wantEntries(t, post("path", w, "signature", Signature(w, "write", "", testToken, future), "signature_expiration", exp(future)))
		wantFile(t, w, []byte("uploaded"))
	})
	t.Run("write several files without path", func(t *testing.T) {
		// The SDK signs the absent path as "".
		body, ct := multipartBody(t, map[string][]byte{filepath.Join(dir, "m1"): []byte("1"), filepath.Join(dir, "m2"): []byte("2")})
		resp := s.do(http.MethodPost, s.filesURL("signature", Signature("", "write", "", testToken, future), "signature_expiration", exp(future)), http.Header{"Content-Type": {ct}}, body)
		if entries := wantEntries(t, resp); len(entries) != 2 {
			t.Fatalf("entries %+v", entries)
		}
	})
	t.Run("operation is signed", func(t *testing.T) {
		w := filepath.Join(dir, "w3.txt")
		wantError(t, post("path", w, "signature", Signature(w, "read", "", testToken, 0)), http.StatusUnauthorized)
		wantError(t, get("path", p, "signature", Signature(p, "write", "", testToken, 0)), http.StatusUnauthorized)
	})
	t.Run("wrong", func(t *testing.T) {
		wantError(t, get("path", p, "signature", Signature(p, "read", "", "other-token", 0)), http.StatusUnauthorized)
		wantError(t, get("path", p, "signature", "v1_garbage"), http.StatusUnauthorized)
		wantError(t, get("path", p), http.StatusUnauthorized)
		// The expiration is signed too: it cannot be extended or dropped.
		sig := Signature(p, "read", "", testToken, future)
		wantError(t, get("path", p, "signature", sig, "signature_expiration", exp(future+1)), http.StatusUnauthorized)
		wantError(t, get("path", p, "signature", sig), http.StatusUnauthorized)
		wantError(t, get("path", p, "signature", sig, "signature_expiration", "soon"), http.StatusUnauthorized)
	})
	t.Run("expired", func(t *testing.T) {
		msg := wantError(t, get("path", p, "signature", Signature(p, "read", "", testToken, past), "signature_expiration", exp(past)), http.StatusUnauthorized)
		if !strings.Contains(msg, "expired") {
			t.Errorf("message %q", msg)
		}
		w := filepath.Join(dir, "expired.txt")
		wantError(t, post("path", w, "signature", Signature(w, "write", "", testToken, past), "signature_expiration", exp(past)), http.StatusUnauthorized)
		if _, err := os.Stat(w); err == nil {
			t.Error("expired signature wrote a file")
		}
		wantError(t, get("path", p, "signature", Signature(p, "read", "", testToken, 0), "signature_expiration", "0"), http.StatusUnauthorized)
	})
}
