package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Upstream pool bounds. One Transport serves every sandbox; its pool is keyed by the synthetic
// address `<id>:<port>`, so connections are pooled per (sandbox, port). Idle connections to a
// sandbox that died do not pile up: a closed peer is noticed by the idle connection's reader and
// dropped at once, anything else expires after upstreamIdleTimeout, and the totals are capped.
// The idle timeout stays below envd's own (640s) so the gateway never reuses a connection envd is
// about to close.
const (
	upstreamMaxIdle        = 512
	upstreamMaxIdlePerPort = 16
	upstreamIdleTimeout    = 90 * time.Second
)

func (g *Gateway) newTransport() *http.Transport {
	return &http.Transport{
		Proxy:       nil, // sandbox ports are reached through Backend.DialPort, never via HTTP_PROXY
		DialContext: g.dial,
		// Sandboxes speak plain HTTP/1.1 (no h2c), like E2B's proxy expects.
		ForceAttemptHTTP2: false,
		// Pass Accept-Encoding and compressed bodies through untouched instead of having the
		// transport ask for gzip and inflate it.
		DisableCompression:  true,
		MaxIdleConns:        upstreamMaxIdle,
		MaxIdleConnsPerHost: upstreamMaxIdlePerPort,
		IdleConnTimeout:     upstreamIdleTimeout,
		// No ResponseHeaderTimeout: long polls and streams may legitimately wait before answering.
	}
}

// upstreamAddr is the transport-level address of a sandbox port. It is never resolved; dial maps
// it back to the sandbox.
func upstreamAddr(t Target) string {
	return net.JoinHostPort(t.SandboxID, strconv.Itoa(t.Port))
}

// dialError marks failures to connect to a sandbox port, which the client hears as "port is not
// open", unlike failures after connecting.
type dialError struct {
	sandboxID string
	port      int
	attempts  int
	err       error
}

func (e *dialError) Error() string {
	return fmt.Sprintf("dial sandbox %s port %d (%d attempts): %v", e.sandboxID, e.port, e.attempts, e.err)
}

func (e *dialError) Unwrap() error { return e.err }

var errSandboxGone = errors.New("sandbox not running")

// dial connects to the sandbox port named by addr. The backend normally comes with the request
// (the transport keeps the request's context values for dials); a dial started for another
// request of the same pool key, or a missing value, falls back to a fresh lookup.
func (g *Gateway) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	id, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: bad upstream address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("gateway: bad upstream port %q: %w", addr, err)
	}
	var backend Backend
	if ex := exchangeFrom(ctx); ex != nil && ex.target.SandboxID == id && ex.target.Port == port {
		backend = ex.backend
	} else if b, ok := g.sandboxes.Lookup(id); ok {
		backend = b
	} else {
		return nil, &dialError{sandboxID: id, port: port, err: errSandboxGone}
	}
	return g.dialRetry(ctx, backend, id, port)
}

// dialRetry dials with a linear backoff. A port that was just bound inside the sandbox can take a
// moment to become reachable (envd forwards loopback-only listeners after it notices them), and a
// 502 for that would make every "start a server, then fetch it" script flaky.
func (g *Gateway) dialRetry(ctx context.Context, b Backend, id string, port int) (net.Conn, error) {
	var lastErr error
	for attempt := 1; attempt <= g.dialAttempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, g.dialTimeout)
		conn, err := b.DialPort(actx, port)
		cancel()
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if attempt == g.dialAttempts {
			break
		}
		t := time.NewTimer(time.Duration(attempt) * g.dialBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &dialError{sandboxID: id, port: port, attempts: attempt, err: ctx.Err()}
		case <-t.C:
		}
	}
	return nil, &dialError{sandboxID: id, port: port, attempts: g.dialAttempts, err: lastErr}
}
