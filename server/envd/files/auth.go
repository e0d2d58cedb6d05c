package files

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// unauthorizedMessage is E2B's wording; users search for it.
const unauthorizedMessage = "unauthorized access, please provide a valid access token or method signing if supported"

var errUnauthorized = errors.New(unauthorizedMessage)

// authorize admits r for op when the sandbox has no token, when X-Access-Token carries it, or, only
// without that header, when the URL carries a valid signature. /files is exempt from envd's global
// token check precisely so that signed URLs (usable from a browser, without headers) work.
func authorize(r *http.Request, op, token string) error {
	if token == "" {
		return nil
	}
	if got := r.Header.Get("X-Access-Token"); got != "" {
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return withStatus(http.StatusUnauthorized, errUnauthorized)
		}
		return nil
	}
	return checkSignature(r.URL.Query(), op, token, time.Now())
}

// checkSignature validates the `signature` query param against the request's own `path` (as given,
// unresolved), `username` ("" when absent) and `signature_expiration`.
func checkSignature(q url.Values, op, token string, now time.Time) error {
	got := q.Get("signature")
	if got == "" {
		return withStatus(http.StatusUnauthorized, errUnauthorized)
	}
	var expiration int64
	if q.Has("signature_expiration") {
		var err error
		expiration, err = strconv.ParseInt(q.Get("signature_expiration"), 10, 64)
		if err != nil {
			return statusf(http.StatusUnauthorized, "invalid signature_expiration: %w", err)
		}
	}
	want := Signature(q.Get("path"), op, q.Get("username"), token, expiration)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return withStatus(http.StatusUnauthorized, errUnauthorized)
	}
	// Signature hashes an expiration of 0 as if it were absent; such a URL is long expired anyway.
	if q.Has("signature_expiration") && expiration < now.Unix() {
		return statusf(http.StatusUnauthorized, "signature is already expired")
	}
	return nil
}
