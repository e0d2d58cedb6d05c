package files

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	encodingGzip     = "gzip"
	encodingIdentity = "identity"
)

// accepted is what a client's Accept-Encoding allows (RFC 9110 §12.5.3).
type accepted struct {
	gzip, identity bool
	// identityFirst: the client explicitly ranked identity above gzip.
	identityFirst bool
}

// parseAcceptEncoding reads the Accept-Encoding header lines; no header accepts identity only.
func parseAcceptEncoding(lines []string) accepted {
	if len(lines) == 0 {
		return accepted{identity: true}
	}
	var (
		gzipQ, identityQ, starQ       float64
		gzipSet, identitySet, starSet bool
	)
	for _, line := range lines {
		for item := range strings.SplitSeq(line, ",") {
			name, q, valid := parseCoding(item)
			if !valid {
				continue
			}
			switch name {
			case encodingGzip, "x-gzip":
				gzipQ, gzipSet = q, true
			case encodingIdentity:
				identityQ, identitySet = q, true
			case "*":
				starQ, starSet = q, true
			}
		}
	}
	if !gzipSet && starSet {
		gzipQ = starQ
	}
	if !identitySet {
		// identity is acceptable unless excluded, explicitly or through "*;q=0".
		identityQ = 1
		if starSet {
			identityQ = starQ
		}
	}
	return accepted{gzip: gzipQ > 0, identity: identityQ > 0, identityFirst: identitySet && identityQ > gzipQ}
}

// pick chooses the response coding: gzip whenever the client accepts it (undici always sends
// "gzip, deflate", and E2B's envd gzips every download to Node clients) unless it ranks identity
// higher or the caller needs identity and the client allows it. ok is false when the client forbids
// both (406).
func (a accepted) pick(needIdentity bool) (coding string, ok bool) {
	switch {
	case a.identity && (needIdentity || !a.gzip || a.identityFirst):
		return encodingIdentity, true
	case a.gzip:
		return encodingGzip, true
	default:
		return "", false
	}
}

// parseCoding splits one Accept-Encoding element into its lower-cased coding and q-value.
func parseCoding(item string) (name string, q float64, valid bool) {
	name, params, _ := strings.Cut(item, ";")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", 0, false
	}
	q = 1
	for param := range strings.SplitSeq(params, ";") {
		key, value, found := strings.Cut(strings.TrimSpace(param), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(key), "q") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 || v > 1 {
			return "", 0, false
		}
		q = v
	}
	return name, q, true
}

// decodedBody returns the request body with its Content-Encoding removed: the SDK gzips octet-stream
// uploads when asked to, and nothing but gzip and identity is ever sent.
func decodedBody(r *http.Request) (io.ReadCloser, error) {
	coding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch coding {
	case "", encodingIdentity:
		return r.Body, nil
	case encodingGzip, "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, statusf(http.StatusBadRequest, "decompress request body: %w", err)
		}
		return zr, nil
	default:
		return nil, statusf(http.StatusBadRequest, "unsupported Content-Encoding %q, supported: gzip, identity", coding)
	}
}
