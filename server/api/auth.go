package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
)

const (
	msgKeyMissing  = "Invalid API key: send the key in the X-API-Key header (E2B_API_KEY)"
	msgKeyInvalid  = "Invalid API key"
	msgAdminOff    = "The admin API is disabled: set SANDBOX_ADMIN_KEY on the sandbox manager to enable it"
	msgAdminDenied = "Invalid admin key: send it as Authorization: Bearer <key> or X-Admin-Key"
)

type keyCtx struct{}

// callerKey returns the API key that authenticated the request.
func callerKey(ctx context.Context) apikey.Key {
	k, _ := ctx.Value(keyCtx{}).(apikey.Key)
	return k
}

// requireAPIKey admits requests whose X-API-Key is a stored key (§2.1.1). The SDK never sends
// Authorization for the control plane, so bearer tokens are not accepted.
func (s *server) requireAPIKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain := r.Header.Get("X-API-Key")
		if plain == "" {
			writeError(w, http.StatusUnauthorized, msgKeyMissing)
			return
		}
		if s.keys == nil {
			writeError(w, http.StatusUnauthorized, msgKeyInvalid)
			return
		}
		k, ok := s.keys.Verify(plain)
		if !ok {
			writeError(w, http.StatusUnauthorized, msgKeyInvalid)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, k)))
	})
}

// requireAdmin admits requests carrying the admin key, compared in constant time (hashes first,
// so the comparison does not leak the key's length either).
func (s *server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.adminOn {
			writeError(w, http.StatusForbidden, msgAdminOff)
			return
		}
		got := r.Header.Get("X-Admin-Key")
		if auth := r.Header.Get("Authorization"); got == "" && auth != "" {
			if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
				got = strings.TrimSpace(token)
			}
		}
		sum := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) != 1 {
			writeError(w, http.StatusUnauthorized, msgAdminDenied)
			return
		}
		next.ServeHTTP(w, r)
	})
}
