package gateway

import "time"

// Outcome says how the gateway disposed of a request; it is meant as a low-cardinality metric label.
type Outcome string

const (
	OutcomeProxied       Outcome = "proxied"           // the sandbox answered (any status, including 101)
	OutcomeBadRequest    Outcome = "bad_request"       // routing headers or host malformed, or no sandbox addressed
	OutcomeForbidden     Outcome = "forbidden"         // internal envd route, CONNECT, or traffic token missing/wrong
	OutcomeNotFound      Outcome = "sandbox_not_found" // unknown or no longer running sandbox
	OutcomePortClosed    Outcome = "port_closed"       // sandbox running, nothing accepted on the port
	OutcomeUpstreamError Outcome = "upstream_error"    // connected, but no usable answer
	OutcomeCanceled      Outcome = "canceled"          // the client went away before an answer
)

// statusClientClosed is recorded (never sent) when the client left first; 499 is the number nginx
// made the convention for it.
const statusClientClosed = 499

// RequestInfo describes one finished request, for the Config.OnRequest hook.
type RequestInfo struct {
	SandboxID string // "" when the request could not be routed
	Port      int    // 0 when the request could not be routed
	Method    string
	Status    int // status sent to the client; the upstream status when proxied
	Outcome   Outcome
	// Duration runs until the response is complete, so for streams and WebSockets it is the
	// lifetime of the stream, not the time to first byte.
	Duration time.Duration
}
