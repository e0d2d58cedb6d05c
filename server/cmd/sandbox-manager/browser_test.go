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

// TestBrowserEndpointOfAPublicSandbox serves a CDP-shaped /json/version from inside a sandbox (on its
// loopback only) and reads it through the control plane, as Playwright's connectOverCDP does.
func TestBrowserEndpointOfAPublicSandbox(t *testing.T) {
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

	get := func(path string, hdr http.Header) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+path, nil)
		for k, v := range hdr {
			req.Header[k] = v
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
	prefix := "/browser/" + sb.SandboxID
	// A public sandbox's endpoint needs nothing but its URL, with or without the trailing slash
	// Playwright adds; the websocket URL is the manager's own /browser/<id>/devtools route.
	for _, path := range []string{"/json/version", "/json/version/"} {
		status, body := get(prefix+path, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: status %d: %v", path, status, body)
		}
		if want := "ws://" + host + prefix + "/devtools/browser/abc?x=1"; body["webSocketDebuggerUrl"] != want {
			t.Fatalf("GET %s: webSocketDebuggerUrl = %v, want %s", path, body["webSocketDebuggerUrl"], want)
		}
		if body["Browser"] != "Chrome/140" || body["Protocol-Version"] != "1.3" {
			t.Fatalf("other fields not kept: %v", body)
		}
	}
	// ?cdpPort= is carried into the websocket URL, so that the websocket reaches the same port.
	if status, body := get(prefix+"/json/version?cdpPort=9333", nil); status != http.StatusOK ||
		body["webSocketDebuggerUrl"] != "ws://"+host+prefix+"/devtools/browser/abc?cdpPort=9333&x=1" {
		t.Fatalf("cdpPort=9333: %d %v", status, body)
	}
	if status, _ := get("/browser/nosuchsandbox/json/version", nil); status != http.StatusNotFound {
		t.Fatalf("unknown sandbox: %d, want 404", status)
	}
	if status, body := get(prefix+"/json/version?cdpPort=9444", nil); status != http.StatusBadGateway {
		t.Fatalf("closed CDP port: %d %v, want 502", status, body)
	}
	if status, body := get(prefix+"/json/version?cdpPort=x", nil); status != http.StatusBadRequest {
		t.Fatalf("cdpPort=x: %d %v, want 400", status, body)
	}
}

// TestBrowserEndpointOfAPrivateSandbox: /browser/{id} of a sandbox created with
// network.allowPublicTraffic=false answers only with its traffic token or an API key, and its
// websocket URL is the /browser route even with a domain (its host route accepts only the token).
func TestBrowserEndpointOfAPrivateSandbox(t *testing.T) {
	const domain = "sbx.test"
	owner, otherTeam := managerharness.NewAPIKey(), managerharness.NewAPIKey()
	adminKey := "admin-" + managerharness.NewAPIKey()
	m := managerharness.Start(t, managerharness.Options{
		APIKey:   owner,
		AdminKey: adminKey,
		// Later entries win: both teams' keys are accepted, the harness's client uses the owner's.
		Env: []string{"SANDBOX_DOMAIN=" + domain, "SANDBOX_API_KEYS=" + owner + "," + otherTeam},
	})
	c := m.Client()
	private := false
	sb, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 120, Network: &managerharness.Network{AllowPublicTraffic: &private}})
	if err != nil {
		t.Fatal(err)
	}
	if sb.TrafficAccessToken == "" {
		t.Fatal("a private sandbox's create answer has no trafficAccessToken")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serve := `mkdir -p /tmp/cdp/json
	printf '{"Browser":"Chrome/140","webSocketDebuggerUrl":"ws://127.0.0.1:9222/devtools/browser/abc"}' > /tmp/cdp/json/version
	(cd /tmp/cdp && setsid python3 -m http.server 9222 --bind 127.0.0.1 >/dev/null 2>&1 &)
	for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/9222) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`
	if r, err := c.Run(ctx, sb.SandboxID, sb.EnvdAccessToken, serve); err != nil || r.ExitCode != 0 {
		t.Fatalf("start the CDP stand-in: %+v %v", r, err)
	}
	get := func(host string, path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+path, nil)
		if host != "" {
			req.Host = host
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	path := "/browser/" + sb.SandboxID + "/json/version"
	for name, hdr := range map[string]map[string]string{
		"no header":              nil,
		"a wrong token":          {"E2b-Traffic-Access-Token": "wrong"},
		"the envd token":         {"E2b-Traffic-Access-Token": sb.EnvdAccessToken},
		"a wrong API key":        {"X-API-Key": "e2b_0000000000000000000000000000000000000000"},
		"another team's API key": {"X-API-Key": otherTeam},
	} {
		if status, body := get("", path, hdr); status != http.StatusUnauthorized || strings.Contains(body, "Chrome/140") {
			t.Errorf("%s: %d %s, want 401", name, status, body)
		}
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL(), "http://"))
	for name, hdr := range map[string]map[string]string{
		"the traffic token":   {"E2b-Traffic-Access-Token": sb.TrafficAccessToken},
		"the owner's API key": {"X-API-Key": m.APIKey},
		"the admin key":       {"X-API-Key": adminKey},
	} {
		status, body := get("api."+domain+":"+port, path, hdr)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, status, body)
		}
		if want := `"ws://api.` + domain + ":" + port + "/browser/" + sb.SandboxID + `/devtools/browser/abc"`; !strings.Contains(body, want) {
			t.Errorf("%s: %s, want webSocketDebuggerUrl %s", name, body, want)
		}
	}
	// The port's host route takes the traffic token and nothing else.
	host := "9222-" + sb.SandboxID + "." + domain + ":" + port
	if status, body := get(host, "/json/version", map[string]string{"X-API-Key": m.APIKey}); status != http.StatusForbidden {
		t.Errorf("host route with an API key: %d %s, want 403", status, body)
	}
	if status, body := get(host, "/json/version", map[string]string{"E2b-Traffic-Access-Token": sb.TrafficAccessToken}); status != http.StatusOK {
		t.Errorf("host route with the traffic token: %d %s", status, body)
	}
	// envd is exempt from the traffic token: it has its own.
	if err := c.EnvdHealth(ctx, sb.SandboxID, sb.EnvdAccessToken); err != nil {
		t.Errorf("envd of a private sandbox: %v", err)
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
	t.Run("path route, no headers", func(t *testing.T) {
		product := cdpCall(ctx, t, managerAddr, managerAddr, "/browser/"+sb.SandboxID+ws.RequestURI(), nil, `{"id":1,"method":"Browser.getVersion"}`)
		if !strings.Contains(product, `"product":"Chrome/`) {
			t.Fatalf("Browser.getVersion = %s", product)
		}
	})

	// As browser-use does with the guide's cdp_url: the URL and nothing else.
	serveSite(ctx, t, c, sb, "Public page")
	t.Run("browser-use, public", func(t *testing.T) {
		browserUse(ctx, t, managerAddr, "http://api."+domain+":"+port+"/browser/"+sb.SandboxID, nil, "Public page")
	})

	// A private sandbox: the same calls fail without its traffic token and work with it.
	private := false
	psb, err := c.Create(managerharness.CreateOptions{Template: "browser", Timeout: 120, Network: &managerharness.Network{AllowPublicTraffic: &private}})
	if err != nil {
		t.Fatal(err)
	}
	serveSite(ctx, t, c, psb, "Private page")
	t.Run("browser-use, private", func(t *testing.T) {
		cdpURL := "http://api." + domain + ":" + port + "/browser/" + psb.SandboxID
		if status, _ := devtoolsGet(ctx, t, managerAddr, cdpURL+"/json/version", nil); status != http.StatusUnauthorized {
			t.Fatalf("without the token: %d, want 401", status)
		}
		if status, _ := devtoolsGet(ctx, t, managerAddr, cdpURL+"/json/list", nil); status != http.StatusUnauthorized {
			t.Fatalf("/json/list without the token: %d, want 401", status)
		}
		hdr := http.Header{"E2b-Traffic-Access-Token": {psb.TrafficAccessToken}}
		wsURL := browserUse(ctx, t, managerAddr, cdpURL, hdr, "Private page")
		// The websocket itself refuses a client without the token.
		u, _ := url.Parse(wsURL)
		conn, err := net.Dial("tcp", managerAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", u.RequestURI(), u.Host)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("websocket without the token: %s, want 401", resp.Status)
		}
	})
}

// serveSite serves a page titled title on the sandbox's loopback port 8000.
func serveSite(ctx context.Context, t *testing.T, c *managerharness.Client, sb *managerharness.Sandbox, title string) {
	t.Helper()
	script := `mkdir -p /tmp/site && printf '<!doctype html><title>` + title + `</title><body style="background:#e8f0ff"><h1>` + title + `</h1>' > /tmp/site/index.html
	(cd /tmp/site && setsid python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &)
	for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/8000) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`
	if r, err := c.Run(ctx, sb.SandboxID, sb.EnvdAccessToken, script); err != nil || r.ExitCode != 0 {
		t.Fatalf("serve a page in %s: %+v %v", sb.SandboxID, r, err)
	}
}

// devtoolsGet GETs rawURL from the manager at addr (the URL's host is sent as Host, as DNS would).
func devtoolsGet(ctx context.Context, t *testing.T, addr, rawURL string, hdr http.Header) (int, []byte) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+u.RequestURI(), nil)
	req.Host = u.Host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// browserUse drives the browser behind cdpURL as browser-use does: /json/version, the websocket it
// names, a new target, a navigation to the sandbox's own page and a screenshot. It returns the
// websocket URL.
func browserUse(ctx context.Context, t *testing.T, addr, cdpURL string, hdr http.Header, title string) string {
	t.Helper()
	status, body := devtoolsGet(ctx, t, addr, cdpURL+"/json/version", hdr)
	var version struct {
		WS string `json:"webSocketDebuggerUrl"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &version) != nil {
		t.Fatalf("GET %s/json/version: %d %s", cdpURL, status, body)
	}
	ws, err := url.Parse(version.WS)
	if err != nil {
		t.Fatal(err)
	}
	c := cdpDial(ctx, t, addr, ws.Host, ws.RequestURI(), hdr)
	var created struct{ TargetID string }
	_ = json.Unmarshal(c.call(t, "Target.createTarget", map[string]any{"url": "about:blank"}, ""), &created)
	var attached struct{ SessionID string }
	_ = json.Unmarshal(c.call(t, "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, ""), &attached)
	if created.TargetID == "" || attached.SessionID == "" {
		t.Fatalf("createTarget/attachToTarget: %+v %+v", created, attached)
	}
	c.call(t, "Page.navigate", map[string]any{"url": "http://127.0.0.1:8000/"}, attached.SessionID)
	got := ""
	for i := 0; i < 100 && got != title; i++ {
		var eval struct{ Result struct{ Value string } }
		_ = json.Unmarshal(c.call(t, "Runtime.evaluate", map[string]any{"expression": "document.readyState === 'complete' ? document.title : ''"}, attached.SessionID), &eval)
		got = eval.Result.Value
		if got != title {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got != title {
		t.Fatalf("the page's title = %q, want %q", got, title)
	}
	var shot struct{ Data string }
	_ = json.Unmarshal(c.call(t, "Page.captureScreenshot", map[string]any{"format": "png"}, attached.SessionID), &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) < 24 || string(png[1:4]) != "PNG" {
		t.Fatalf("Page.captureScreenshot: %d bytes, %v", len(png), err)
	}
	if w, h := binary.BigEndian.Uint32(png[16:20]), binary.BigEndian.Uint32(png[20:24]); w < 100 || h < 100 {
		t.Fatalf("screenshot is %dx%d", w, h)
	}
	c.call(t, "Target.closeTarget", map[string]any{"targetId": created.TargetID}, "")
	return version.WS
}

// cdpCall opens a websocket to path at addr with the given Host and headers, sends one text message
// and returns the first text message that answers it (by its "id").
func cdpCall(ctx context.Context, t *testing.T, addr, host, path string, hdr http.Header, msg string) string {
	t.Helper()
	c := cdpDial(ctx, t, addr, host, path, hdr)
	defer c.conn.Close()
	var id struct{ ID int }
	_ = json.Unmarshal([]byte(msg), &id)
	c.send(t, []byte(msg))
	return string(c.await(t, id.ID))
}

// cdpConn is a minimal RFC 6455 client of a CDP websocket.
type cdpConn struct {
	conn net.Conn
	br   *bufio.Reader
	next int
}

// cdpDial opens a websocket to path at addr with the given Host and headers.
func cdpDial(ctx context.Context, t *testing.T, addr, host, path string, hdr http.Header) *cdpConn {
	t.Helper()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
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
		t.Fatalf("websocket handshake (Host %s, %s): %s %s", host, path, resp.Status, body)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	return &cdpConn{conn: conn, br: br, next: 100}
}

// call sends one CDP command (to a target's session when sessionID is set) and returns its result,
// failing the test on a CDP error.
func (c *cdpConn) call(t *testing.T, method string, params map[string]any, sessionID string) json.RawMessage {
	t.Helper()
	c.next++
	msg := map[string]any{"id": c.next, "method": method, "params": params}
	if sessionID != "" {
		msg["sessionId"] = sessionID
	}
	raw, _ := json.Marshal(msg)
	c.send(t, raw)
	var answer struct {
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	if err := json.Unmarshal(c.await(t, c.next), &answer); err != nil {
		t.Fatal(err)
	}
	if answer.Error != nil {
		t.Fatalf("%s: %s", method, answer.Error.Message)
	}
	return answer.Result
}

// send writes one masked text frame (RFC 6455 §5.2).
func (c *cdpConn) send(t *testing.T, payload []byte) {
	t.Helper()
	frame := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	case n < 1<<16:
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	default:
		frame = append(frame, 0x80|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := c.conn.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// await reads messages until the one answering id (events and other answers are skipped).
// Chrome sends whole messages in single frames.
func (c *cdpConn) await(t *testing.T, id int) []byte {
	t.Helper()
	for {
		head := make([]byte, 2)
		if _, err := io.ReadFull(c.br, head); err != nil {
			t.Fatalf("read frame: %v", err)
		}
		n := uint64(head[1] & 0x7f)
		switch n {
		case 126:
			ext := make([]byte, 2)
			if _, err := io.ReadFull(c.br, ext); err != nil {
				t.Fatal(err)
			}
			n = uint64(binary.BigEndian.Uint16(ext))
		case 127:
			ext := make([]byte, 8)
			if _, err := io.ReadFull(c.br, ext); err != nil {
				t.Fatal(err)
			}
			n = binary.BigEndian.Uint64(ext)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(c.br, data); err != nil {
			t.Fatal(err)
		}
		if head[0]&0x0f != 0x1 {
			continue // not a text frame
		}
		var got struct{ ID int }
		if json.Unmarshal(data, &got) == nil && got.ID == id {
			return data
		}
	}
}
