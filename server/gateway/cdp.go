package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// cdpWSField is the member of Chrome's /json/version answer that CDP clients (Playwright's
// connectOverCDP, Puppeteer) dial next.
const cdpWSField = "webSocketDebuggerUrl"

// RewriteCDPVersion rewrites webSocketDebuggerUrl in the body of Chrome's GET /json/version so that
// clients outside the sandbox dial the gateway instead of Chrome's own loopback address. Chrome
// answers e.g. `ws://127.0.0.1:9222/devtools/browser/<uuid>`; with publicWSBase
// `wss://9222-<id>.<domain>` that becomes `wss://9222-<id>.<domain>/devtools/browser/<uuid>`, and
// with `ws://127.0.0.1:3000/prefix` it becomes `ws://127.0.0.1:3000/prefix/devtools/browser/<uuid>`.
// The scheme and host come from the base, its path is prepended, Chrome's path and query are kept.
//
// Every other member is kept as Chrome sent it, in Chrome's order; only the URL value is re-encoded.
func RewriteCDPVersion(body []byte, publicWSBase string) ([]byte, error) {
	base, err := url.Parse(publicWSBase)
	if err != nil {
		return nil, fmt.Errorf("rewrite CDP version: public websocket base: %w", err)
	}
	if (base.Scheme != "ws" && base.Scheme != "wss") || base.Host == "" {
		return nil, fmt.Errorf("rewrite CDP version: public websocket base %q must be ws:// or wss:// with a host", publicWSBase)
	}

	members, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("rewrite CDP version: %w", err)
	}
	found := false
	for i, m := range members {
		if m.key != cdpWSField {
			continue
		}
		var orig string
		if err := json.Unmarshal(m.value, &orig); err != nil {
			return nil, fmt.Errorf("rewrite CDP version: %s is not a string: %w", cdpWSField, err)
		}
		rewritten, err := rebaseWSURL(orig, base)
		if err != nil {
			return nil, fmt.Errorf("rewrite CDP version: %w", err)
		}
		if members[i].value, err = marshalNoEscape(rewritten); err != nil {
			return nil, fmt.Errorf("rewrite CDP version: %w", err)
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("rewrite CDP version: no %s in Chrome's answer", cdpWSField)
	}
	return encodeObject(members)
}

func rebaseWSURL(orig string, base *url.URL) (string, error) {
	u, err := url.Parse(orig)
	if err != nil {
		return "", fmt.Errorf("parse %s %q: %w", cdpWSField, orig, err)
	}
	out := url.URL{
		Scheme:   base.Scheme,
		Host:     base.Host,
		Path:     strings.TrimSuffix(base.Path, "/") + "/" + strings.TrimPrefix(u.Path, "/"),
		RawQuery: u.RawQuery,
	}
	return out.String(), nil
}

type member struct {
	key   string
	value json.RawMessage
}

// decodeObject reads one JSON object into its members, in order. A map would lose Chrome's order,
// which is harmless to clients but makes the answer needlessly different from Chrome's.
func decodeObject(body []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("answer is not a JSON object")
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read member name: %w", err)
		}
		key, _ := tok.(string) // inside an object the decoder only yields string keys here
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("read member %q: %w", key, err)
		}
		members = append(members, member{key: key, value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read end of object: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("trailing data after the JSON object")
	}
	return members, nil
}

func encodeObject(members []member) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoEscape(m.key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(m.value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalNoEscape encodes v without turning `&` into `\u0026`: query strings in URLs stay readable.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
