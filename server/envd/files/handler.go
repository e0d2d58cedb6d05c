// Package files serves envd's /files route: downloads (GET) and uploads (POST) of file contents,
// authenticated by the sandbox access token or a signed URL.
package files

import (
	"log/slog"
	"net/http"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// handler holds what every transfer needs; all mutable sandbox state lives in env.
type handler struct {
	env *sandboxenv.Env
	log *slog.Logger
}

// NewHandler serves GET and POST /files in env.
func NewHandler(env *sandboxenv.Env, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{env: env, log: log}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.download(w, r)
	case http.MethodPost:
		h.upload(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, statusf(http.StatusMethodNotAllowed, "method %s is not allowed on /files", r.Method))
	}
}

// actingUser authorizes r for op and returns the user the transfer acts as (`username` query param,
// else the sandbox default user).
func (h *handler) actingUser(r *http.Request, op string) (*sandboxenv.User, error) {
	if err := authorize(r, op, h.env.AccessToken()); err != nil {
		return nil, err
	}
	u, err := h.env.LookupUser(r.URL.Query().Get("username"))
	if err != nil {
		// Anything but an unknown name (e.g. a corrupt passwd entry) is our fault, not the caller's.
		return nil, withStatusIf(sandboxenv.ErrUnknownUser, http.StatusUnauthorized, err)
	}
	return u, nil
}

// fail answers r with err and logs it; transfers are logged at debug level because a busy sandbox
// makes many of them, and never with the query string, which may hold a signature.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.Debug("file "+op+" failed", "path", r.URL.Query().Get("path"), "status", statusOf(err), "err", err)
	writeError(w, err)
}
