package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

const (
	msgKeyMissing  = "Invalid API key: send the key in the X-API-Key header (E2B_API_KEY)"
	msgKeyInvalid  = "Invalid API key"
	msgAdminOff    = "The admin API is disabled: set SANDBOX_ADMIN_KEY on the sandbox manager to enable it"
	msgAdminDenied = "Invalid admin key: send it as Authorization: Bearer <key> or X-Admin-Key"
)

type callerCtx struct{}

// caller is who sent a control-plane request: an API key (a team, which sees and controls only
// the sandboxes it created) or the admin key (which sees and controls all).
type caller struct {
	key   apikey.Key
	admin bool
}

// owner is the owner id recorded on the sandboxes the caller creates ("" for the admin's).
func (c caller) owner() string {
	if c.admin {
		return ""
	}
	return c.key.ID
}

// canControl reports whether the caller may see and control sb.
func (c caller) canControl(sb *sandbox.Sandbox) bool {
	return c.admin || sb.CanControl(c.key.ID)
}

// callerOf returns who authenticated the request.
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerCtx{}).(caller)
	return c
}

// requireAPIKey admits requests whose X-API-Key is a stored key (§2.1.1), or the admin key (as
// X-API-Key, so that an unchanged SDK can use it, or as X-Admin-Key). The SDK never sends
// Authorization for the control plane, so bearer tokens are not accepted.
func (s *server) requireAPIKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain := r.Header.Get("X-API-Key")
		var c caller
		switch {
		case plain != "" && s.keys != nil:
			if k, ok := s.keys.Verify(plain); ok {
				c = caller{key: k}
			} else if s.isAdminKey(plain) {
				c = caller{admin: true}
			}
		case plain != "":
			c.admin = s.isAdminKey(plain)
		case s.isAdminKey(r.Header.Get("X-Admin-Key")):
			c.admin = true
		default:
			writeError(w, http.StatusUnauthorized, msgKeyMissing)
			return
		}
		if !c.admin && c.key.ID == "" {
			writeError(w, http.StatusUnauthorized, msgKeyInvalid)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerCtx{}, c)))
	})
}

// isAdminKey reports whether got is the admin key.
func (s *server) isAdminKey(got string) bool { return s.admin.Matches(got) }

// requireAdmin admits requests carrying the admin key.
func (s *server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.admin.On() {
			writeError(w, http.StatusForbidden, msgAdminOff)
			return
		}
		got := r.Header.Get("X-Admin-Key")
		if auth := r.Header.Get("Authorization"); got == "" && auth != "" {
			if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
				got = strings.TrimSpace(token)
			}
		}
		if !s.isAdminKey(got) {
			writeError(w, http.StatusUnauthorized, msgAdminDenied)
			return
		}
		next.ServeHTTP(w, r)
	})
}
