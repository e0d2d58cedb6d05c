package envd

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// envelope frames one Connect streaming message.
func envelope(flags byte, payload []byte) []byte {
	b := make([]byte, 5+len(payload))
	b[0] = flags
	binary.BigEndian.PutUint32(b[1:5], uint32(len(payload)))
	copy(b[5:], payload)
	return b
}

// readEnvelopes splits a Connect streaming response body into (flags, payload) pairs.
func readEnvelopes(t *testing.T, body []byte) (flags []byte, payloads []string) {
	t.Helper()
	for len(body) > 0 {
		if len(body) < 5 {
			t.Fatalf("truncated envelope header: % x", body)
		}
		n := binary.BigEndian.Uint32(body[1:5])
		if uint32(len(body)-5) < n {
			t.Fatalf("truncated envelope: want %d bytes, have %d", n, len(body)-5)
		}
		flags = append(flags, body[0])
		payloads = append(payloads, string(body[5:5+n]))
		body = body[5+n:]
	}
	return flags, payloads
}

func connectErrorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Code
}

func TestUnaryEdgeCases(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	cases := []struct {
		name, path, contentType, body string
		status                        int
		code                          string // Connect error code; "" = success
	}{
		{"bad JSON", "/filesystem.Filesystem/Stat", "application/json", `{"path":`, 400, "invalid_argument"},
		{"wrong JSON type", "/filesystem.Filesystem/Stat", "application/json", `{"path":7}`, 400, "invalid_argument"},
		{"unknown fields are ignored", "/filesystem.Filesystem/Stat", "application/json", `{"path":"` + dir + `","future":1}`, 200, ""},
		{"snake_case names are accepted", "/filesystem.Filesystem/ListDir", "application/json", `{"path":"` + dir + `","depth":1}`, 200, ""},
		{"charset in content type", "/process.Process/List", "application/json; charset=utf-8", `{}`, 200, ""},
		{"enum as number", "/process.Process/SendSignal", "application/json", `{"process":{"pid":999999},"signal":9}`, 404, "not_found"},
		{"enum as name", "/process.Process/SendSignal", "application/json", `{"process":{"pid":999999},"signal":"SIGNAL_SIGKILL"}`, 404, "not_found"},
		{"unknown method", "/process.Process/Fly", "application/json", `{}`, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, ts.URL+c.path, "", c.contentType, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, c.status)
			}
			if c.code != "" {
				if got := connectErrorCode(t, body); got != c.code {
					t.Fatalf("code %q, want %q (body %s)", got, c.code, body)
				}
			}
			if c.status == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("success Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func postStream(t *testing.T, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Protocol-Version", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// Errors on streams must arrive as HTTP 200 with an end-stream envelope: the SDK turns any other
// status into "sandbox not running".
func TestStreamEdgeCasesEndWithEndStreamError(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{})
	start := ts.URL + "/process.Process/Start"
	cases := []struct {
		name string
		body []byte
		code string
	}{
		{"bad JSON in the envelope", envelope(0, []byte(`{"process":`)), "invalid_argument"},
		{"envelope shorter than announced", envelope(0, []byte(`{"process":{"cmd":"true"}}`))[:12], "internal"},
		{"compressed envelope without an encoding", envelope(1, []byte(`{}`)), "internal"},
		{"bad cwd", envelope(0, []byte(`{"process":{"cmd":"/bin/true","cwd":"/no/such/dir"}}`)), "invalid_argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := postStream(t, start, c.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200 with an end-stream error", resp.StatusCode)
			}
			flags, payloads := readEnvelopes(t, body)
			last := len(flags) - 1
			if last < 0 || flags[last] != 2 {
				t.Fatalf("no end-stream envelope: flags % x", flags)
			}
			var end struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(payloads[last]), &end); err != nil || end.Error.Code != c.code {
				t.Fatalf("end-stream %s (%v), want error code %q", payloads[last], err, c.code)
			}
		})
	}
}

func TestStreamSuccessFraming(t *testing.T) {
	ts, _ := newTestServer(t, sandboxenv.Defaults{})
	resp, body := postStream(t, ts.URL+"/process.Process/Start",
		envelope(0, []byte(`{"process":{"cmd":"/bin/sh","args":["-c","printf hi; exit 3"]},"stdin":false}`)))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/connect+json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	flags, payloads := readEnvelopes(t, body)
	if len(flags) < 3 {
		t.Fatalf("want start, data, end and end-stream; got %q", payloads)
	}
	if !strings.HasPrefix(payloads[0], `{"event":{"start":{"pid":`) {
		t.Fatalf("first message %s, want the start event", payloads[0])
	}
	if payloads[len(payloads)-1] != "{}" || flags[len(flags)-1] != 2 {
		t.Fatalf("last envelope flags %x payload %s, want 0x02 {}", flags[len(flags)-1], payloads[len(payloads)-1])
	}
	all := strings.Join(payloads, "\n")
	for _, want := range []string{`"stdout":"aGk="`, `"exitCode":3`, `"exited":true`, `"status":"exit status 3"`, `"error":"exit status 3"`} {
		if !strings.Contains(all, want) {
			t.Errorf("stream lacks %s:\n%s", want, all)
		}
	}
}
