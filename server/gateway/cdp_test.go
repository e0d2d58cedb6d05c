package gateway

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// chromeVersion is Chrome's GET /json/version answer, formatted as Chrome formats it.
const chromeVersion = `{
   "Browser": "Chrome/126.0.6478.126",
   "Protocol-Version": "1.3",
   "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.6478.126 Safari/537.36",
   "V8-Version": "12.6.228.21",
   "WebKit-Version": "537.36 (@c1c2bb4c2c5bcd0c5e8e7b8d3a2f8ce0b13e7b2a)",
   "webSocketDebuggerUrl": "ws://127.0.0.1:9222/devtools/browser/2f7a5b3c-9d1e-4c7b-8f0a-1b2c3d4e5f60"
}
`

func TestRewriteCDPVersion(t *testing.T) {
	tests := []struct {
		base string
		want string
	}{
		{"wss://9222-abc.example.com", "wss://9222-abc.example.com/devtools/browser/2f7a5b3c-9d1e-4c7b-8f0a-1b2c3d4e5f60"},
		{"wss://9222-abc.example.com/", "wss://9222-abc.example.com/devtools/browser/2f7a5b3c-9d1e-4c7b-8f0a-1b2c3d4e5f60"},
		{"ws://127.0.0.1:3000", "ws://127.0.0.1:3000/devtools/browser/2f7a5b3c-9d1e-4c7b-8f0a-1b2c3d4e5f60"},
		{"ws://127.0.0.1:3000/browser/abc", "ws://127.0.0.1:3000/browser/abc/devtools/browser/2f7a5b3c-9d1e-4c7b-8f0a-1b2c3d4e5f60"},
		{"ws://[::1]:3000", "ws://[::1]:3000/devtools/browser/2f7a5b3c-9d1e-4c7b-8f0a-1b2c3d4e5f60"},
	}
	for _, tt := range tests {
		out, err := RewriteCDPVersion([]byte(chromeVersion), tt.base)
		if err != nil {
			t.Fatalf("base %s: %v", tt.base, err)
		}
		var got, orig map[string]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("base %s: output is not JSON: %v\n%s", tt.base, err, out)
		}
		_ = json.Unmarshal([]byte(chromeVersion), &orig)
		if got["webSocketDebuggerUrl"] != tt.want {
			t.Errorf("base %s: url %q, want %q", tt.base, got["webSocketDebuggerUrl"], tt.want)
		}
		if len(got) != len(orig) {
			t.Errorf("base %s: %d members, want %d", tt.base, len(got), len(orig))
		}
		for k, v := range orig {
			if k != "webSocketDebuggerUrl" && got[k] != v {
				t.Errorf("base %s: %s = %q, want %q", tt.base, k, got[k], v)
			}
		}
		// Chrome's member order is kept.
		if strings.Index(string(out), `"Browser"`) > strings.Index(string(out), `"webSocketDebuggerUrl"`) ||
			strings.Index(string(out), `"V8-Version"`) > strings.Index(string(out), `"WebKit-Version"`) {
			t.Errorf("base %s: member order changed: %s", tt.base, out)
		}
	}
}

func TestRewriteCDPVersionKeepsQueryAndOtherTypes(t *testing.T) {
	in := `{"n":1.50,"nested":{"a":[1,true,null]},"webSocketDebuggerUrl":"ws://localhost:9222/devtools/page/X?a=1&b=%20"}`
	out, err := RewriteCDPVersion([]byte(in), "wss://9222-abc.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"n":1.50,"nested":{"a":[1,true,null]},"webSocketDebuggerUrl":"wss://9222-abc.example.com/devtools/page/X?a=1&b=%20"}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestRewriteCDPVersionErrors(t *testing.T) {
	tests := []struct{ name, body, base string }{
		{"not JSON", `<html>`, "ws://h"},
		{"array", `[]`, "ws://h"},
		{"no url member", `{"Browser":"Chrome"}`, "ws://h"},
		{"url not a string", `{"webSocketDebuggerUrl":5}`, "ws://h"},
		{"trailing data", `{"webSocketDebuggerUrl":"ws://a/b"} {}`, "ws://h"},
		{"truncated", `{"webSocketDebuggerUrl":"ws://a/b"`, "ws://h"},
		{"http base", chromeVersion, "http://h"},
		{"base without host", chromeVersion, "ws:///x"},
		{"unparsable base", chromeVersion, "ws://[::1"},
	}
	for _, tt := range tests {
		if out, err := RewriteCDPVersion([]byte(tt.body), tt.base); err == nil {
			t.Errorf("%s: no error, got %s", tt.name, out)
		}
	}
}

func TestRewriteDevToolsJSON(t *testing.T) {
	list := `[{"id":"P1","devtoolsFrontendUrl":"/devtools/inspector.html?ws=127.0.0.1:9333/devtools/page/P1&x=1","webSocketDebuggerUrl":"ws://127.0.0.1:9333/devtools/page/P1"},{"id":"P2"}]`
	out, err := RewriteDevToolsJSON([]byte(list), "wss://api.example.com/browser/abc?cdpPort=9333")
	if err != nil {
		t.Fatal(err)
	}
	var targets []map[string]string
	if err := json.Unmarshal(out, &targets); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wantWS := "wss://api.example.com/browser/abc/devtools/page/P1?cdpPort=9333"
	if len(targets) != 2 || targets[0]["webSocketDebuggerUrl"] != wantWS || targets[1]["id"] != "P2" || len(targets[1]) != 1 {
		t.Fatalf("targets: %v", targets)
	}
	// The front end is told to use wss, at the same place, and keeps its other parameters.
	fe, err := url.Parse(targets[0]["devtoolsFrontendUrl"])
	if err != nil || fe.Query().Get("wss") != strings.TrimPrefix(wantWS, "wss://") || fe.Query().Has("ws") || fe.Query().Get("x") != "1" {
		t.Fatalf("devtoolsFrontendUrl = %s", targets[0]["devtoolsFrontendUrl"])
	}
	// Answers that are not JSON objects are passed on as they are.
	for _, body := range []string{"Target activated", "", "[1,2]", `{"no":"urls"}`} {
		out, err := RewriteDevToolsJSON([]byte(body), "ws://h")
		if err != nil || string(out) != body && body != "[1,2]" {
			t.Errorf("%q: %q %v", body, out, err)
		}
	}
	if _, err := RewriteDevToolsJSON([]byte(`{"webSocketDebuggerUrl":5}`), "ws://h"); err == nil {
		t.Error("a non-string webSocketDebuggerUrl was accepted")
	}
	if _, err := RewriteDevToolsJSON([]byte(`[]`), "http://h"); err == nil {
		t.Error("an http base was accepted")
	}
}
