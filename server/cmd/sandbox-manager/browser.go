package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/gateway"
)

// defaultCDPPort is where browser templates run Chrome's DevTools endpoint.
const defaultCDPPort = 9222

// browserVersion serves GET /browser/{id}/json/version (API key required): Chrome's answer from the
// sandbox, with webSocketDebuggerUrl pointing at the sandbox's CDP port through this manager, so that
// Playwright's connectOverCDP and Puppeteer can dial it. `?cdpPort=` picks another port.
//
// With --domain the URL is host-routed (`ws[s]://<port>-<id>.<domain>`); without one it is this
// listener's address, and the client sends `E2b-Sandbox-Id` and `E2b-Sandbox-Port` headers on the
// websocket (connectOverCDP's `headers` option), as every SDK request to a bare address does.
type browserVersion struct {
	keys     *apikey.Store
	backends backends
	domain   string
}

func (b browserVersion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := b.keys.Verify(r.Header.Get("X-API-Key")); !ok {
		writeJSONError(w, http.StatusUnauthorized, "Invalid API key, it must start with 'e2b_'")
		return
	}
	id := r.PathValue("id")
	port := defaultCDPPort
	if s := r.URL.Query().Get("cdpPort"); s != "" {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("cdpPort %q is not a port number", s))
			return
		}
		port = int(p)
	}
	backend, ok := b.backends.Lookup(id)
	if !ok {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("sandbox %q not found", id))
		return
	}
	body, err := fetchCDPVersion(r.Context(), backend, port)
	if err != nil {
		writeJSONError(w, http.StatusBadGateway, fmt.Sprintf("sandbox %s: no CDP endpoint on port %d: %v", id, port, err))
		return
	}
	rewritten, err := gateway.RewriteCDPVersion(body, b.publicBase(r, id, port))
	if err != nil {
		writeJSONError(w, http.StatusBadGateway, fmt.Sprintf("sandbox %s: %v", id, err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(rewritten)
}

// publicBase is the websocket origin clients reach the sandbox's port at.
func (b browserVersion) publicBase(r *http.Request, id string, port int) string {
	scheme := "ws"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "wss"
	}
	if b.domain == "" {
		return scheme + "://" + r.Host
	}
	host := strconv.Itoa(port) + "-" + id + "." + b.domain
	if _, listenPort, err := net.SplitHostPort(r.Host); err == nil {
		host = net.JoinHostPort(host, listenPort)
	}
	return scheme + "://" + host
}

// fetchCDPVersion asks Chrome inside the sandbox for /json/version. Chrome only answers requests whose
// Host is an IP address or localhost, hence the explicit Host.
func fetchCDPVersion(ctx context.Context, backend gateway.Backend, port int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return backend.DialPort(ctx, port) },
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/json/version", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /json/version answered %d", resp.StatusCode)
	}
	return body, nil
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": msg})
}
