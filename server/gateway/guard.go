package gateway

import (
	"crypto/subtle"
	"net/http"
	"path"
	"strings"
)

// EnvdPort is the port of the in-sandbox agent. It has its own access token (X-Access-Token), so
// the traffic token does not apply to it, but some of its routes are for the manager only.
const EnvdPort = 49983

// InterpreterPort is the code interpreter's port; its /execute runs code.
const InterpreterPort = 49999

// HeaderAccessToken carries the sandbox's envd access token. The code-interpreter SDK sends it to
// /execute as well; the gateway checks it there and passes it on to envd's port only, so that a
// process that took over another port of the sandbox never collects it.
const HeaderAccessToken = "X-Access-Token"

// AccessTokenHolder is implemented by a Backend that knows its sandbox's envd access token.
type AccessTokenHolder interface {
	AccessToken() string
}

// HeaderTrafficToken carries the traffic access token of sandboxes created with
// network.allowPublicTraffic=false.
const HeaderTrafficToken = "E2b-Traffic-Access-Token"

// internalEnvdPaths are envd routes only the manager may call (it reaches envd directly, not
// through the gateway): /init sets the access token and environment, the others freeze or change
// the guest. Anyone who can reach them from outside owns the sandbox.
var internalEnvdPaths = []string{
	"/init",
	"/freeze",
	"/unfreeze",
	"/fsfreeze",
	"/fsthaw",
	"/collapse",
	"/upgrade",
	"/files/compose",
}

// internalEnvdPath returns the internal route p addresses, or "". The path is cleaned and compared
// case-insensitively, and sub-paths count, so `//init`, `/./Init` or `/init/` cannot slip past
// whatever normalisation the router inside the sandbox might do.
func internalEnvdPath(p string) string {
	clean := strings.ToLower(path.Clean("/" + p))
	for _, ip := range internalEnvdPaths {
		if clean == ip || strings.HasPrefix(clean, ip+"/") {
			return ip
		}
	}
	return ""
}

// trafficTokenProblem checks the traffic access token for a non-envd port and returns the message
// to refuse with, or "" when the request may pass. The comparison is constant-time so response
// timing says nothing about how much of a guess was right.
func trafficTokenProblem(r *http.Request, port int, want string) string {
	if port == EnvdPort || want == "" {
		return ""
	}
	got := r.Header.Get(HeaderTrafficToken)
	if got == "" {
		return "Sandbox is secured with traffic access token. Token header '" + strings.ToLower(HeaderTrafficToken) + "' is missing"
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return "Sandbox is secured with traffic access token. Provided token in header '" + strings.ToLower(HeaderTrafficToken) + "' is invalid"
	}
	return ""
}

// executeTokenProblem checks the envd access token on the code interpreter's /execute and returns
// the message to refuse with, or "" when the request may pass. E2B's own proxy only forwards the
// token that the SDK sends there; checking it means that knowing a public sandbox's id is not enough
// to run code in it. The interpreter cannot check it itself: it never sees the token.
func executeTokenProblem(r *http.Request, port int, b Backend) string {
	if port != InterpreterPort || path.Clean("/"+r.URL.Path) != "/execute" {
		return ""
	}
	h, ok := b.(AccessTokenHolder)
	if !ok || h.AccessToken() == "" {
		return ""
	}
	got := r.Header.Get(HeaderAccessToken)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.AccessToken())) != 1 {
		return "Unauthorized: " + HeaderAccessToken + " must be the sandbox's envd access token"
	}
	return ""
}
