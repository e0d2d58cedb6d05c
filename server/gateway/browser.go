package gateway

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultCDPPort is where browser templates run Chrome's DevTools endpoint; /browser/{id} fronts it
// unless the request names another port with ?cdpPort=.
const DefaultCDPPort = 9222

// BrowserAuthorizer decides whether r may use /browser/{id} of the sandbox behind b. It is asked
// for every request, the DevTools JSON and the websocket alike.
type BrowserAuthorizer func(r *http.Request, b Backend) bool

// TrafficTokenValid reports whether r carries want in the traffic token header (constant-time).
func TrafficTokenValid(r *http.Request, want string) bool {
	got := r.Header.Get(HeaderTrafficToken)
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Browser returns the handler of `/browser/{id}/…`: a complete DevTools HTTP endpoint for the
// Chrome inside sandbox {id}, so that a client given only `<manager>/browser/<id>` (browser-use's
// cdp_url, Playwright's connectOverCDP, Puppeteer's browserURL) finds everything it needs:
//
//   - `/json/version`, `/json`, `/json/list`, `/json/protocol`, `/json/new`, … (with or without a
//     trailing slash, as Playwright asks) are Chrome's own answers, with every webSocketDebuggerUrl
//     (and the ws= of devtoolsFrontendUrl) pointing at a websocket the client can dial with nothing
//     but the URL;
//   - `/devtools/…` is that websocket: proxied to Chrome's port with the prefix removed.
//
// The websocket URL is `ws[s]://<port>-<id>.<domain>/devtools/…` when the gateway has a domain and
// the sandbox is public (the host route E2B's SDKs use for every port), and otherwise
// `ws[s]://<the host the client asked>/browser/<id>/devtools/…`: without a domain there is no host
// route a client could dial without routing headers, and a private sandbox's host route accepts only
// the traffic token, while this route also accepts what authorize accepts. `?cdpPort=` picks
// another port and is carried into the path route's websocket URL.
//
// authorize is asked about every request; a refused one gets 401 and nothing from the sandbox.
func (g *Gateway) Browser(authorize BrowserAuthorizer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.serveBrowser(w, r, authorize)
	})
}

const msgBrowserPrivate = "Sandbox is private (network.allowPublicTraffic=false): send its traffic access token in the e2b-traffic-access-token header, or the API key that owns it in X-API-Key"

func (g *Gateway) serveBrowser(w http.ResponseWriter, r *http.Request, authorize BrowserAuthorizer) {
	id := r.PathValue("id")
	rest, ok := strings.CutPrefix(r.URL.Path, "/browser/"+id)
	if !ok || !ValidSandboxID(id) {
		writeError(w, r, errorBody{Message: ErrInvalidSandboxID.Error(), Code: http.StatusBadRequest})
		return
	}
	port := DefaultCDPPort
	query := r.URL.Query()
	if s := query.Get("cdpPort"); s != "" {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			writeError(w, r, errorBody{SandboxID: id, Message: fmt.Sprintf("cdpPort %q is not a port number", s), Code: http.StatusBadRequest})
			return
		}
		port = int(p)
	}
	query.Del("cdpPort")
	target := Target{SandboxID: id, Port: port}

	backend, ok := g.sandboxes.Lookup(id)
	if !ok {
		writeError(w, r, errorBody{SandboxID: id, Message: msgSandboxNotFound, Code: http.StatusNotFound})
		return
	}
	if authorize == nil || !authorize(r, backend) {
		g.log.Info("gateway: refused /browser request", "sandbox", id, "path", rest)
		writeError(w, r, errorBody{SandboxID: id, Message: msgBrowserPrivate, Code: http.StatusUnauthorized})
		return
	}

	switch {
	case rest == "/devtools" || strings.HasPrefix(rest, "/devtools/"):
		out := r.Clone(r.Context())
		out.URL.Path, out.URL.RawPath = rest, ""
		out.URL.RawQuery = query.Encode()
		out.RequestURI = ""
		// The credentials were for this route, not for whatever listens on the port: a sandbox may run
		// its own server there, and the owner's API key must never reach it.
		out.Header.Del("X-API-Key")
		out.Header.Del(HeaderTrafficToken)
		g.proxyTo(w, out, target, backend, "127.0.0.1:"+strconv.Itoa(port))
	case rest == "/json" || strings.HasPrefix(rest, "/json/"):
		g.serveDevToolsJSON(w, r, target, backend, strings.TrimSuffix(rest, "/"), query.Encode())
	default:
		writeError(w, r, errorBody{SandboxID: id, Message: "Not a DevTools endpoint: use /browser/" + id + "/json/version", Code: http.StatusNotFound})
	}
}

// serveDevToolsJSON answers one of Chrome's /json endpoints with Chrome's answer, its websocket URLs
// rewritten to the gateway's.
func (g *Gateway) serveDevToolsJSON(w http.ResponseWriter, r *http.Request, t Target, b Backend, path, rawQuery string) {
	status, ctype, body, err := devToolsRequest(r.Context(), b, t.Port, r.Method, path, rawQuery)
	if err != nil {
		if _, ok := g.sandboxes.Lookup(t.SandboxID); !ok {
			writeError(w, r, notFoundBody(t))
			return
		}
		g.log.Info("gateway: no DevTools endpoint", "sandbox", t.SandboxID, "port", t.Port, "err", err)
		writeError(w, r, errorBody{SandboxID: t.SandboxID, Message: fmt.Sprintf("No DevTools endpoint on port %d: %v", t.Port, err), Port: t.Port, Code: http.StatusBadGateway})
		return
	}
	if status == http.StatusOK && path != "/json/protocol" {
		rewrite := RewriteDevToolsJSON
		if path == "/json/version" {
			rewrite = RewriteCDPVersion // a DevTools endpoint always names its browser websocket
		}
		rewritten, err := rewrite(body, g.browserWSBase(r, t, b))
		if err != nil {
			writeError(w, r, errorBody{SandboxID: t.SandboxID, Message: err.Error(), Port: t.Port, Code: http.StatusBadGateway})
			return
		}
		body = rewritten
	}
	if ctype == "" {
		ctype = "application/json; charset=UTF-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// browserWSBase is the websocket origin (and path prefix) clients reach the sandbox's port at; see
// Browser.
func (g *Gateway) browserWSBase(r *http.Request, t Target, b Backend) string {
	scheme := "ws"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "wss"
	}
	if g.domain != "" && b.TrafficToken() == "" {
		host := strconv.Itoa(t.Port) + "-" + t.SandboxID + "." + g.domain
		if _, listenPort, err := net.SplitHostPort(r.Host); err == nil {
			host = net.JoinHostPort(host, listenPort)
		}
		return scheme + "://" + host
	}
	base := scheme + "://" + r.Host + "/browser/" + t.SandboxID
	if t.Port != DefaultCDPPort {
		base += "?cdpPort=" + strconv.Itoa(t.Port)
	}
	return base
}

// devToolsTimeout bounds one DevTools JSON request to a sandbox (Chrome answers in milliseconds).
const devToolsTimeout = 10 * time.Second

// devToolsRequest sends one request to Chrome's DevTools HTTP endpoint on port inside the sandbox.
// Chrome answers only requests whose Host is an IP address or localhost, hence the loopback Host.
func devToolsRequest(ctx context.Context, b Backend, port int, method, path, rawQuery string) (status int, ctype string, body []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, devToolsTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return b.DialPort(ctx, port) },
		DisableKeepAlives: true,
	}}
	u := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port), Path: path, RawQuery: rawQuery}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return 0, "", nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, "", nil, fmt.Errorf("read %s %s: %w", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, nil
}
