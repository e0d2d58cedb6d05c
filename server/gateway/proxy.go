package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

var errNotSandbox = errors.New("request addresses no sandbox")

// exchange follows one request through the gateway. target and backend are set before the
// request reaches the reverse proxy and only read afterwards (also by dial goroutines); status
// and outcome are written on the request's goroutine only.
type exchange struct {
	start   time.Time
	method  string
	target  Target
	backend Backend
	host    string // upstream Host header, when the route decides it

	status  int
	outcome Outcome
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// serve answers r for target, or refuses it. The order of the checks is E2B's: refusals that need
// no sandbox (malformed routing, internal envd routes) come before the lookup, so they say nothing
// about whether a sandbox exists.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, target Target, routeErr error) {
	ex := &exchange{start: time.Now(), method: r.Method}
	defer g.finish(ex)

	// envd implements its port forwarding as CONNECT; passing a client's CONNECT on would give it a
	// raw tunnel to every loopback port of the sandbox, past the traffic token. This also refuses
	// HTTP/2 extended CONNECT (WebSockets over h2, RFC 8441), which Go's server does not offer
	// unless GODEBUG=http2xconnect=1, so browsers use the HTTP/1.1 Upgrade the gateway proxies.
	if r.Method == http.MethodConnect {
		g.refuse(w, r, ex, OutcomeForbidden, errorBody{Message: msgConnect, Code: http.StatusMethodNotAllowed})
		return
	}
	if routeErr != nil {
		msg := routeErr.Error()
		if errors.Is(routeErr, errNotSandbox) {
			msg = msgNotSandbox
		}
		g.refuse(w, r, ex, OutcomeBadRequest, errorBody{Message: msg, Code: http.StatusBadRequest})
		return
	}
	ex.target = target
	if target.Port == EnvdPort {
		if p := internalEnvdPath(r.URL.Path); p != "" {
			g.log.Warn("gateway: refused internal envd route", "sandbox", target.SandboxID, "path", p)
			g.refuse(w, r, ex, OutcomeForbidden, errorBody{Message: msgInternalRoute, Path: p, Code: http.StatusForbidden})
			return
		}
	}
	backend, ok := g.sandboxes.Lookup(target.SandboxID)
	if !ok {
		g.refuse(w, r, ex, OutcomeNotFound, notFoundBody(target))
		return
	}
	if msg := trafficTokenProblem(r, target.Port, backend.TrafficToken()); msg != "" {
		g.refuse(w, r, ex, OutcomeForbidden, errorBody{SandboxID: target.SandboxID, Message: msg, Code: http.StatusForbidden})
		return
	}
	if msg := executeTokenProblem(r, target.Port, backend); msg != "" {
		g.refuse(w, r, ex, OutcomeForbidden, errorBody{SandboxID: target.SandboxID, Message: msg, Code: http.StatusUnauthorized})
		return
	}
	g.proxy(w, r, ex, backend, "")
}

// proxyTo proxies r to target's port through backend after the caller has authorized it, with the
// upstream Host set to host. Used by the /browser route, whose path names the sandbox.
func (g *Gateway) proxyTo(w http.ResponseWriter, r *http.Request, target Target, backend Backend, host string) {
	ex := &exchange{start: time.Now(), method: r.Method, target: target}
	defer g.finish(ex)
	g.proxy(w, r, ex, backend, host)
}

// proxy hands r to the reverse proxy. host, when set, is the upstream Host header.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, ex *exchange, backend Backend, host string) {
	ex.backend, ex.host = backend, host

	// A proxy copies the request body up while it copies the response down. Without this the
	// HTTP/1 server drains the rest of the request body before the first response byte goes out,
	// which stalls any exchange where the sandbox answers while the client is still sending
	// (Connect streams, echo services, early errors on uploads). HTTP/2 is always full duplex and
	// reports "not supported".
	_ = http.NewResponseController(w).EnableFullDuplex()
	g.reverseProxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
}

func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, ex *exchange, outcome Outcome, body errorBody) {
	ex.status, ex.outcome = body.Code, outcome
	writeError(w, r, body)
}

func (g *Gateway) finish(ex *exchange) {
	if g.onRequest == nil {
		return
	}
	g.onRequest(RequestInfo{
		SandboxID: ex.target.SandboxID,
		Port:      ex.target.Port,
		Method:    ex.method,
		Status:    ex.status,
		Outcome:   ex.outcome,
		Duration:  time.Since(ex.start),
	})
}

func notFoundBody(t Target) errorBody {
	return errorBody{SandboxID: t.SandboxID, Message: msgSandboxNotFound, Code: http.StatusBadGateway}
}

func (g *Gateway) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:   g.rewrite,
		Transport: g.transport,
		// Flush every write: Connect server streams, NDJSON from /execute, SSE and noVNC must reach
		// the client message by message, never sit in a buffer.
		FlushInterval:  -1,
		ModifyResponse: g.upstreamAnswered,
		ErrorHandler:   g.upstreamFailed,
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// rewrite points the outbound request at the sandbox port. The path and query stay byte for byte
// as the client sent them (no SetURL, which would join base paths). The Host header stays the
// client's, as on E2B, so in-sandbox servers see the public name.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeFrom(pr.In.Context())
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = upstreamAddr(ex.target)
	pr.Out.URL.User = nil
	pr.Out.Host = pr.In.Host
	if ex.target.Port != EnvdPort {
		// envd's token is for envd: a process that took over another port of the sandbox (sandbox
		// code can stop the code interpreter and listen on 49999) must not collect it from the
		// requests clients send there.
		pr.Out.Header.Del(HeaderAccessToken)
	}
	if ex.host != "" {
		pr.Out.Host = ex.host
	} else if m, ok := ex.backend.(HostMasker); ok && ex.target.Port != EnvdPort {
		if mask := m.MaskRequestHost(); mask != "" {
			pr.Out.Host = strings.ReplaceAll(mask, "${PORT}", strconv.Itoa(ex.target.Port))
		}
	}
	// Only the immediate peer: ReverseProxy already dropped client-supplied forwarding headers,
	// and X-Forwarded-Proto/Host are left out because a TLS terminator in front of the manager
	// would make them wrong.
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		pr.Out.Header.Set("X-Forwarded-For", ip)
	}
}

func (g *Gateway) upstreamAnswered(res *http.Response) error {
	if ex := exchangeFrom(res.Request.Context()); ex != nil {
		ex.status, ex.outcome = res.StatusCode, OutcomeProxied
	}
	return nil
}

// upstreamFailed answers when no response came from the sandbox port.
func (g *Gateway) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r.Context())
	if ex == nil { // cannot happen: serve always attaches one
		http.Error(w, "gateway: request lost its route", http.StatusInternalServerError)
		return
	}
	t := ex.target
	var de *dialError
	switch {
	case r.Context().Err() != nil:
		ex.status, ex.outcome = statusClientClosed, OutcomeCanceled
		g.log.Debug("gateway: client left before the sandbox answered", "sandbox", t.SandboxID, "port", t.Port, "err", err)
		w.WriteHeader(http.StatusBadGateway) // nobody reads it; keeps the server from sending 200
	case errors.As(err, &de):
		// The sandbox may have gone away between lookup and dial; say which of the two it is.
		if _, ok := g.sandboxes.Lookup(t.SandboxID); !ok {
			g.refuse(w, r, ex, OutcomeNotFound, notFoundBody(t))
			return
		}
		g.log.Info("gateway: sandbox port not open", "sandbox", t.SandboxID, "port", t.Port, "err", err)
		g.refuse(w, r, ex, OutcomePortClosed, errorBody{SandboxID: t.SandboxID, Message: msgPortClosed, Port: t.Port, Code: http.StatusBadGateway})
	default:
		g.log.Warn("gateway: sandbox port failed", "sandbox", t.SandboxID, "port", t.Port, "method", r.Method, "path", r.URL.Path, "err", err)
		g.refuse(w, r, ex, OutcomeUpstreamError, errorBody{SandboxID: t.SandboxID, Message: msgUpstreamFailed, Port: t.Port, Code: http.StatusBadGateway})
	}
}
