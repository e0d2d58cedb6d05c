// Package gateway routes sandbox traffic (E2B's `<port>-<id>.<domain>` hosts and E2b-Sandbox-*
// headers) to ports inside sandboxes, and answers the way E2B's proxy does when it cannot: the
// SDKs read a 502 as "the sandbox is not running".
//
// The manager serves the gateway and the control plane on one listener; Gateway.Dispatch splits
// the traffic with Route. The gateway keeps no state of its own beyond an upstream connection
// pool: where a sandbox lives is asked of Sandboxes on every request.
package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// Sandboxes finds running sandboxes.
type Sandboxes interface {
	// Lookup returns how to reach a running sandbox, or ok=false when it is unknown or not running.
	Lookup(id string) (Backend, bool)
}

// Backend reaches the ports of one running sandbox.
type Backend interface {
	// DialPort opens a connection to port inside the sandbox. ctx bounds the dial only: the
	// returned connection must stay usable after ctx is done, since it is pooled for later requests.
	DialPort(ctx context.Context, port int) (net.Conn, error)
	// TrafficToken is the token required on non-envd ports ("" = none required).
	TrafficToken() string
}

// HostMasker is optionally implemented by a Backend whose sandbox was created with
// network.maskRequestHost, or whose template has a default mask (the browser template's, see
// builtin.MaskRequestHost). For non-envd ports the upstream Host header becomes the mask with
// `${PORT}` replaced by the port, for in-sandbox servers that only answer to a fixed name
// (Chrome's DevTools endpoint refuses non-local Host headers, for one).
type HostMasker interface {
	MaskRequestHost() string
}

// Config configures a Gateway. Only Sandboxes is required.
type Config struct {
	Sandboxes Sandboxes
	// Domain is the sandbox domain: hosts `<port>-<id>.<Domain>` are sandbox traffic. Empty accepts
	// `<port>-<id>.<anything>`, which only suits single-machine setups (see Route).
	Domain string
	// Logger receives errors and refusals; nil logs to slog.Default(). Tokens, query strings and
	// headers are never logged (download URLs carry signatures in their query).
	Logger *slog.Logger
	// OnRequest, when set, is called once per request when its response is complete, e.g. to count
	// requests by outcome for Prometheus. It runs on the request's goroutine and must be quick.
	OnRequest func(RequestInfo)

	// DialAttempts is how often a port is dialled before answering "port is not open" (default 4):
	// a service that just started listening may take a moment to become reachable (envd's
	// port forwarding polls), and E2B's proxy retries the same way.
	DialAttempts int
	// DialBackoff is the pause before the second attempt; it grows linearly (default 100ms).
	DialBackoff time.Duration
	// DialTimeout bounds one attempt (default 10s).
	DialTimeout time.Duration
}

// Gateway is the http.Handler for sandbox traffic.
type Gateway struct {
	sandboxes Sandboxes
	domain    string
	log       *slog.Logger
	onRequest func(RequestInfo)

	dialAttempts int
	dialBackoff  time.Duration
	dialTimeout  time.Duration

	transport    *http.Transport
	reverseProxy *httputil.ReverseProxy
}

// New builds a Gateway. It panics when cfg.Sandboxes is nil, a wiring mistake no request can fix.
func New(cfg Config) *Gateway {
	if cfg.Sandboxes == nil {
		panic("gateway: Config.Sandboxes is required")
	}
	g := &Gateway{
		sandboxes:    cfg.Sandboxes,
		domain:       normalizeDomain(cfg.Domain),
		log:          cfg.Logger,
		onRequest:    cfg.OnRequest,
		dialAttempts: cfg.DialAttempts,
		dialBackoff:  cfg.DialBackoff,
		dialTimeout:  cfg.DialTimeout,
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.dialAttempts <= 0 {
		g.dialAttempts = 4
	}
	if g.dialBackoff <= 0 {
		g.dialBackoff = 100 * time.Millisecond
	}
	if g.dialTimeout <= 0 {
		g.dialTimeout = 10 * time.Second
	}
	g.transport = g.newTransport()
	g.reverseProxy = g.newReverseProxy()
	return g
}

// Dispatch returns the manager's root handler: sandbox traffic (and anything that tries to be, such
// as a request with only one routing header) goes to the gateway, the rest to controlPlane.
// CONNECT always goes to the gateway, which refuses it: neither plane is a forward proxy.
func (g *Gateway) Dispatch(controlPlane http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			g.ServeHTTP(w, r)
			return
		}
		target, ok, err := Route(r, g.domain)
		if !ok && err == nil {
			controlPlane.ServeHTTP(w, r)
			return
		}
		g.serve(w, r, target, err)
	})
}

// ServeHTTP routes r with Route and proxies it to the sandbox port. A request that addresses no
// sandbox is answered with 400; use Dispatch to send those to the control plane instead.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, ok, err := Route(r, g.domain)
	if !ok && err == nil {
		err = errNotSandbox
	}
	g.serve(w, r, target, err)
}

// CloseIdleConnections drops pooled upstream connections, e.g. on shutdown.
func (g *Gateway) CloseIdleConnections() {
	g.transport.CloseIdleConnections()
}
