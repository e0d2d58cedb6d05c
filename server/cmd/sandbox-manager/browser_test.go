package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
)

// TestBrowserVersionRewritesTheCDPURL serves a CDP-shaped /json/version from inside a sandbox (on its
// loopback only) and reads it through the control plane, as Playwright's connectOverCDP does.
func TestBrowserVersionRewritesTheCDPURL(t *testing.T) {
	m := managerharness.Start(t, managerharness.Options{})
	c := m.Client()
	sb, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 120})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Two stand-ins for Chrome's DevTools endpoint, on 9222 and 9333, bound to the sandbox's loopback.
	serve := `for p in 9222 9333; do
	  mkdir -p /tmp/cdp$p/json
	  printf '{"Browser":"Chrome/140","Protocol-Version":"1.3","webSocketDebuggerUrl":"ws://127.0.0.1:%s/devtools/browser/abc?x=1"}' $p > /tmp/cdp$p/json/version
	  (cd /tmp/cdp$p && setsid python3 -m http.server $p --bind 127.0.0.1 >/dev/null 2>&1 &)
	done
	for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/9222 && echo > /dev/tcp/127.0.0.1/9333) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`
	if r, err := c.Run(ctx, sb.SandboxID, sb.EnvdAccessToken, serve); err != nil || r.ExitCode != 0 {
		t.Fatalf("start the CDP stand-ins: %+v %v", r, err)
	}

	get := func(path, key string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+path, nil)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("GET %s: %d %q is not JSON", path, resp.StatusCode, body)
		}
		return resp.StatusCode, out
	}

	host := strings.TrimPrefix(m.URL(), "http://")
	status, body := get("/browser/"+sb.SandboxID+"/json/version", m.APIKey)
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}
	if want := "ws://" + host + "/devtools/browser/abc?x=1"; body["webSocketDebuggerUrl"] != want {
		t.Fatalf("webSocketDebuggerUrl = %v, want %s", body["webSocketDebuggerUrl"], want)
	}
	if body["Browser"] != "Chrome/140" || body["Protocol-Version"] != "1.3" {
		t.Fatalf("other fields not kept: %v", body)
	}

	if status, body := get("/browser/"+sb.SandboxID+"/json/version?cdpPort=9333", m.APIKey); status != http.StatusOK ||
		body["webSocketDebuggerUrl"] != "ws://"+host+"/devtools/browser/abc?x=1" {
		t.Fatalf("cdpPort=9333: %d %v", status, body)
	}
	if status, _ := get("/browser/"+sb.SandboxID+"/json/version", ""); status != http.StatusUnauthorized {
		t.Fatalf("without an API key: %d, want 401", status)
	}
	if status, _ := get("/browser/nosuchsandbox/json/version", m.APIKey); status != http.StatusNotFound {
		t.Fatalf("unknown sandbox: %d, want 404", status)
	}
	if status, body := get("/browser/"+sb.SandboxID+"/json/version?cdpPort=9444", m.APIKey); status != http.StatusBadGateway {
		t.Fatalf("closed CDP port: %d %v, want 502", status, body)
	}
}
