package filesystem

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests speak the bytes the SDK's fetch-based transport sends, without connect-go on the client
// side, so that the wire format (status codes, error JSON, enum names, stream framing) is what is checked.

func postJSON(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestWireStatNotFound(t *testing.T) {
	h := newHarness(t)
	resp, body := postJSON(t, h.url+"/filesystem.Filesystem/Stat", `{"path":"/nonexistent"}`)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d (%s), want 404", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q, want application/json", ct)
	}
	var got struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.Code != "not_found" || got.Message != "path '/nonexistent' does not exist" {
		t.Errorf("body = %s, want code not_found and message path '/nonexistent' does not exist", body)
	}
}

func TestWireStatFile(t *testing.T) {
	h := newHarness(t)
	p := h.path("a.txt")
	writeFile(t, p, "hello", 0o644)
	resp, body := postJSON(t, h.url+"/filesystem.Filesystem/Stat", `{"path":"`+p+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", resp.StatusCode, body)
	}
	var got struct {
		Entry map[string]any `json:"entry"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	e := got.Entry
	if e["type"] != "FILE_TYPE_FILE" || e["mode"] != float64(420) || e["name"] != "a.txt" || e["path"] != p || e["permissions"] != "-rw-r--r--" {
		t.Errorf("entry = %s", body)
	}
	if e["size"] != "5" && e["size"] != float64(5) { // int64 may be a string in protobuf JSON
		t.Errorf("size = %v, want 5", e["size"])
	}
	mtime, ok := e["modifiedTime"].(string)
	if !ok {
		t.Fatalf("modifiedTime missing: %s", body)
	}
	if _, err := time.Parse(time.RFC3339Nano, mtime); err != nil {
		t.Errorf("modifiedTime %q is not RFC 3339: %v", mtime, err)
	}
}

// envelope frames one Connect stream message.
func envelope(flags byte, payload string) []byte {
	b := make([]byte, 5, 5+len(payload))
	b[0] = flags
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	return append(b, payload...)
}

func TestWireWatchDirStream(t *testing.T) {
	h := newHarness(t)
	body, err := json.Marshal(map[string]string{"path": h.dir})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, h.url+"/filesystem.Filesystem/WatchDir", bytes.NewReader(envelope(0, string(body))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Connect-Timeout-Ms", "500")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/connect+json" {
		t.Fatalf("status %d, content type %q; want 200 application/connect+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	raw, err := io.ReadAll(resp.Body) // ends at the deadline
	if err != nil {
		t.Fatal(err)
	}

	type frame struct {
		flags   byte
		payload map[string]any
	}
	var frames []frame
	for len(raw) > 0 {
		if len(raw) < 5 {
			t.Fatalf("truncated envelope header: %q", raw)
		}
		n := binary.BigEndian.Uint32(raw[1:5])
		if len(raw) < 5+int(n) {
			t.Fatalf("truncated envelope: %q", raw)
		}
		var payload map[string]any
		if err := json.Unmarshal(raw[5:5+n], &payload); err != nil {
			t.Fatalf("envelope %q: %v", raw[5:5+n], err)
		}
		frames = append(frames, frame{raw[0], payload})
		raw = raw[5+n:]
	}
	if len(frames) < 2 {
		t.Fatalf("got %d envelopes, want at least start and end-stream", len(frames))
	}
	if first := frames[0]; first.flags != 0 || len(first.payload) != 1 || first.payload["start"] == nil {
		t.Errorf("first envelope = %v, want {\"start\":{}}", first)
	}
	last := frames[len(frames)-1]
	errObj, _ := last.payload["error"].(map[string]any)
	if last.flags != 2 || errObj["code"] != "deadline_exceeded" {
		t.Errorf("last envelope = %v, want end-stream (flags 2) with code deadline_exceeded", last)
	}
}
