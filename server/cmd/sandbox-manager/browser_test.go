package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
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

// TestBrowserTemplateCDP drives the real Chromium of a `browser` sandbox: /json/version through the
// control plane, then the websocket it names, by host routing (the URL's own <port>-<id>.<domain>
// name, which Chrome refuses unless the gateway masks the Host) and by header routing, each answering
// a CDP command.
func TestBrowserTemplateCDP(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("the browser template needs Debian's Chromium: install it with `apt-get install -y --no-install-recommends chromium fonts-dejavu-core`")
	}
	const domain = "sbx.test"
	m := managerharness.Start(t, managerharness.Options{Env: []string{"SANDBOX_DOMAIN=" + domain}})
	c := m.Client()
	sb, err := c.Create(managerharness.CreateOptions{Template: "browser", Timeout: 120})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/browser/"+sb.SandboxID+"/json/version", nil)
	req.Header.Set("X-API-Key", m.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var version struct {
		Browser string
		WS      string `json:"webSocketDebuggerUrl"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &version) != nil {
		t.Fatalf("GET /browser/{id}/json/version: %d %s", resp.StatusCode, raw)
	}
	if !strings.HasPrefix(version.Browser, "Chrome/") {
		t.Errorf("Browser = %q, want Chrome/…", version.Browser)
	}
	ws, err := url.Parse(version.WS)
	if err != nil {
		t.Fatal(err)
	}
	managerAddr := strings.TrimPrefix(m.URL(), "http://")
	_, port, _ := net.SplitHostPort(managerAddr)
	if want := "9222-" + sb.SandboxID + "." + domain + ":" + port; ws.Scheme != "ws" || ws.Host != want || !strings.HasPrefix(ws.Path, "/devtools/browser/") {
		t.Fatalf("webSocketDebuggerUrl = %s, want ws://%s/devtools/browser/…", version.WS, want)
	}

	// No DNS here for sbx.test: dial the manager and send the URL's host name, as a resolver would.
	t.Run("host routing", func(t *testing.T) {
		product := cdpCall(ctx, t, managerAddr, ws.Host, ws.RequestURI(), nil, `{"id":1,"method":"Browser.getVersion"}`)
		if !strings.Contains(product, `"product":"Chrome/`) {
			t.Fatalf("Browser.getVersion = %s", product)
		}
	})
	t.Run("header routing", func(t *testing.T) {
		hdr := http.Header{"E2b-Sandbox-Id": {sb.SandboxID}, "E2b-Sandbox-Port": {"9222"}}
		product := cdpCall(ctx, t, managerAddr, managerAddr, ws.RequestURI(), hdr, `{"id":1,"method":"Browser.getVersion"}`)
		if !strings.Contains(product, `"product":"Chrome/`) {
			t.Fatalf("Browser.getVersion = %s", product)
		}
	})
}

// cdpCall opens a websocket to path at addr with the given Host and headers, sends one text message
// and returns the first text message that answers it (by its "id").
func cdpCall(ctx context.Context, t *testing.T, addr, host, path string, hdr http.Header, msg string) string {
	t.Helper()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	keyRaw := make([]byte, 16)
	_, _ = rand.Read(keyRaw)
	key := base64.StdEncoding.EncodeToString(keyRaw)
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", path, host, key)
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("websocket handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("websocket handshake (Host %s): %s %s", host, resp.Status, body)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}

	// One masked text frame from the client (RFC 6455 §5.2).
	payload := []byte(msg)
	frame := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	default:
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	frame = append(frame, mask...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}

	var id struct{ ID int }
	_ = json.Unmarshal(payload, &id)
	for {
		head := make([]byte, 2)
		if _, err := io.ReadFull(br, head); err != nil {
			t.Fatalf("read frame: %v", err)
		}
		n := uint64(head[1] & 0x7f)
		switch n {
		case 126:
			ext := make([]byte, 2)
			if _, err := io.ReadFull(br, ext); err != nil {
				t.Fatal(err)
			}
			n = uint64(binary.BigEndian.Uint16(ext))
		case 127:
			ext := make([]byte, 8)
			if _, err := io.ReadFull(br, ext); err != nil {
				t.Fatal(err)
			}
			n = binary.BigEndian.Uint64(ext)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			t.Fatal(err)
		}
		if head[0]&0x0f != 0x1 {
			continue // not a text frame
		}
		var got struct{ ID int }
		if json.Unmarshal(data, &got) == nil && got.ID == id.ID {
			return string(data)
		}
	}
}
