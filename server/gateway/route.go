package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Routing headers the E2B SDKs send on every sandbox request (envd and code interpreter alike).
const (
	HeaderSandboxID   = "E2b-Sandbox-Id"
	HeaderSandboxPort = "E2b-Sandbox-Port"
)

// sharedHostPrefix marks the shared sandbox host (`sandbox.<domain>`) that the SDK uses for E2B's
// own domains; requests to it are routed by headers because the host names no sandbox.
const sharedHostPrefix = "sandbox."

// Errors Route reports for requests that address the gateway but cannot be routed. They are
// answered with 400 by the gateway; the caller must not hand such a request to the control plane.
var (
	ErrInvalidSandboxID = errors.New("invalid sandbox id: must match ^[a-z0-9]+$")
	ErrInvalidPort      = errors.New("invalid sandbox port: must be 1-65535")
)

// MissingHeaderError reports that only one of the two routing headers was sent. Its message is
// E2B's, word for word.
type MissingHeaderError struct {
	Header string
}

func (e MissingHeaderError) Error() string {
	return "Missing header: " + e.Header
}

// Target is where a sandbox request goes.
type Target struct {
	SandboxID string // lowercase [a-z0-9]+
	Port      int    // 1-65535
}

// Route decides whether r is sandbox traffic and, if so, which sandbox and port it is for. It
// reproduces the decision of E2B's proxy (infra packages/shared/pkg/proxy/host.go), so every SDK
// configuration (E2B_SANDBOX_URL, E2B_DOMAIN, the shared `sandbox.` host) lands where it would on
// E2B:
//
//  1. Header routing. When the Host (port stripped) is `localhost`, any IP literal (v4 or v6,
//     bracketed or not), or starts with `sandbox.`, AND at least one of E2b-Sandbox-Id /
//     E2b-Sandbox-Port is present (header names are case-insensitive), the headers decide. Both
//     must be present: one alone is a MissingHeaderError. The port must be a decimal 1-65535.
//     This is how E2B_SANDBOX_URL=http://127.0.0.1:3000 reaches every sandbox through one origin.
//  2. Host routing. Otherwise the left-most DNS label of the Host, split on `-`, must read
//     `<port>-<id>[-<anything>]` (the trailing part keeps E2B's legacy `<port>-<id>-<client>`
//     names working). When domain is non-empty, the rest of the Host after the first `.` must
//     equal domain (ASCII case-insensitive, a trailing root `.` ignored); with an empty domain any
//     suffix is accepted, which only suits single-machine setups.
//  3. Anything else is not sandbox traffic: ok is false and err nil, and the request belongs to the
//     control plane (the REST API, /admin, /health, /metrics, /browser/...). In particular a
//     `localhost` or IP Host without routing headers is control-plane traffic, which is what lets
//     one listener serve both planes.
//
// A host label only claims a request for the gateway when its first `-` part is all digits, so
// names such as `api.<domain>` or `my-app.<domain>` stay with the control plane; once claimed,
// a bad port or id is an error rather than a fall-through.
//
// Sandbox ids must match ^[a-z0-9]+$ wherever they come from (ErrInvalidSandboxID otherwise).
// Ids are not case-folded: E2B ids are lowercase by construction and folding would give one
// sandbox several spellings.
//
// When err is non-nil, ok is false and the request still addressed the gateway, which should
// answer it (400) instead of the control plane.
func Route(r *http.Request, domain string) (Target, bool, error) {
	host := hostname(r.Host)
	if headerHost(host) {
		id, port := r.Header.Get(HeaderSandboxID), r.Header.Get(HeaderSandboxPort)
		if id != "" || port != "" {
			return routeHeaders(id, port)
		}
	}
	return routeHost(host, domain)
}

func routeHeaders(id, port string) (Target, bool, error) {
	switch {
	case id == "":
		return Target{}, false, MissingHeaderError{Header: HeaderSandboxID}
	case port == "":
		return Target{}, false, MissingHeaderError{Header: HeaderSandboxPort}
	}
	return newTarget(id, port)
}

func routeHost(host, domain string) (Target, bool, error) {
	label, rest, found := strings.Cut(host, ".")
	if !found {
		return Target{}, false, nil
	}
	if domain = normalizeDomain(domain); domain != "" && !strings.EqualFold(strings.TrimSuffix(rest, "."), domain) {
		return Target{}, false, nil
	}
	parts := strings.Split(label, "-")
	if len(parts) < 2 || !allDigits(parts[0]) {
		return Target{}, false, nil
	}
	return newTarget(parts[1], parts[0])
}

func newTarget(id, port string) (Target, bool, error) {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return Target{}, false, fmt.Errorf("%w: %q", ErrInvalidPort, port)
	}
	if !ValidSandboxID(id) {
		return Target{}, false, fmt.Errorf("%w: %q", ErrInvalidSandboxID, id)
	}
	return Target{SandboxID: id, Port: int(p)}, true, nil
}

// ValidSandboxID reports whether id matches ^[a-z0-9]+$, the only shape that survives host
// routing (a `-` would be read as the end of the id).
func ValidSandboxID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// headerHost reports whether a Host names no sandbox by itself, so routing headers may decide.
func headerHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return len(host) > len(sharedHostPrefix) && strings.EqualFold(host[:len(sharedHostPrefix)], sharedHostPrefix)
}

// hostname strips an optional port and IPv6 brackets from a Host header value.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// normalizeDomain makes a configured domain comparable with the rest of a Host.
func normalizeDomain(domain string) string {
	return strings.Trim(strings.TrimSpace(domain), ".")
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
