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
	base, err := wsBase(publicWSBase)
	if err != nil {
		return nil, fmt.Errorf("rewrite CDP version: %w", err)
	}

	members, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("rewrite CDP version: %w", err)
	}
	found := false
	for _, m := range members {
		found = found || m.key == cdpWSField
	}
	if !found {
		return nil, fmt.Errorf("rewrite CDP version: no %s in Chrome's answer", cdpWSField)
	}
	if err := rebaseMembers(members, base); err != nil {
		return nil, fmt.Errorf("rewrite CDP version: %w", err)
	}
	return encodeObject(members)
}

// cdpFrontendField is the member of Chrome's /json/list targets that opens DevTools' own front end
// for the target; its ws= (or wss=) parameter names the target's websocket without a scheme.
const cdpFrontendField = "devtoolsFrontendUrl"

// RewriteDevToolsJSON rewrites every answer of Chrome's DevTools HTTP endpoint (/json/version, one
// object; /json, /json/list, arrays of targets; /json/new, one target) so that its websocket URLs
// point at publicWSBase, as RewriteCDPVersion does for /json/version. In each object
// webSocketDebuggerUrl is rebased and the ws= parameter of devtoolsFrontendUrl follows it (as wss=
// for a wss base). Answers that are not JSON objects or arrays of objects (/json/activate answers
// text) and objects without those members are returned unchanged.
func RewriteDevToolsJSON(body []byte, publicWSBase string) ([]byte, error) {
	base, err := wsBase(publicWSBase)
	if err != nil {
		return nil, fmt.Errorf("rewrite DevTools answer: %w", err)
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		members, err := decodeObject(trimmed)
		if err != nil {
			return body, nil
		}
		if err := rebaseMembers(members, base); err != nil {
			return nil, fmt.Errorf("rewrite DevTools answer: %w", err)
		}
		return encodeObject(members)
	case bytes.HasPrefix(trimmed, []byte("[")):
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return body, nil
		}
		out := make([]json.RawMessage, len(items))
		for i, item := range items {
			out[i] = item
			members, err := decodeObject(item)
			if err != nil {
				continue
			}
			if err := rebaseMembers(members, base); err != nil {
				return nil, fmt.Errorf("rewrite DevTools answer: %w", err)
			}
			if out[i], err = encodeObject(members); err != nil {
				return nil, err
			}
		}
		return marshalNoEscape(out)
	}
	return body, nil
}

func wsBase(publicWSBase string) (*url.URL, error) {
	base, err := url.Parse(publicWSBase)
	if err != nil {
		return nil, fmt.Errorf("public websocket base: %w", err)
	}
	if (base.Scheme != "ws" && base.Scheme != "wss") || base.Host == "" {
		return nil, fmt.Errorf("public websocket base %q must be ws:// or wss:// with a host", publicWSBase)
	}
	return base, nil
}

// rebaseMembers rewrites webSocketDebuggerUrl and devtoolsFrontendUrl in one object's members.
func rebaseMembers(members []member, base *url.URL) error {
	for i, m := range members {
		if m.key != cdpWSField && m.key != cdpFrontendField {
			continue
		}
		var orig string
		if err := json.Unmarshal(m.value, &orig); err != nil {
			return fmt.Errorf("%s is not a string: %w", m.key, err)
		}
		var rewritten string
		var err error
		if m.key == cdpWSField {
			rewritten, err = rebaseWSURL(orig, base)
		} else {
			rewritten, err = rebaseFrontendURL(orig, base)
		}
		if err != nil {
			return err
		}
		if members[i].value, err = marshalNoEscape(rewritten); err != nil {
			return err
		}
	}
	return nil
}

// rebaseWSURL puts Chrome's websocket path under base: base's scheme and host, base's path before
// Chrome's, base's query parameters (the gateway's ?cdpPort=) before Chrome's.
func rebaseWSURL(orig string, base *url.URL) (string, error) {
	u, err := url.Parse(orig)
	if err != nil {
		return "", fmt.Errorf("parse %s %q: %w", cdpWSField, orig, err)
	}
	query := base.RawQuery
	if u.RawQuery != "" {
		if query != "" {
			query += "&"
		}
		query += u.RawQuery
	}
	out := url.URL{
		Scheme:   base.Scheme,
		Host:     base.Host,
		Path:     strings.TrimSuffix(base.Path, "/") + "/" + strings.TrimPrefix(u.Path, "/"),
		RawQuery: query,
	}
	return out.String(), nil
}

// rebaseFrontendURL rewrites the ws= parameter of a devtoolsFrontendUrl (`/devtools/inspector.html?
// ws=127.0.0.1:9222/devtools/page/<id>`) to the rebased websocket, scheme dropped, as wss= when the
// base is wss. A URL without the parameter is kept.
func rebaseFrontendURL(orig string, base *url.URL) (string, error) {
	u, err := url.Parse(orig)
	if err != nil {
		return "", fmt.Errorf("parse %s %q: %w", cdpFrontendField, orig, err)
	}
	q := u.Query()
	target := q.Get("ws")
	if target == "" {
		target = q.Get("wss")
	}
	if target == "" {
		return orig, nil
	}
	ws, err := rebaseWSURL("ws://"+target, base)
	if err != nil {
		return "", err
	}
	q.Del("ws")
	q.Del("wss")
	q.Set(base.Scheme, strings.TrimPrefix(ws, base.Scheme+"://"))
	u.RawQuery = q.Encode()
	return u.String(), nil
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
