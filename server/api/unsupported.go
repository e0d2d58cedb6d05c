package api

import (
	"net/http"
)

// Messages for the E2B features this manager does not have. They are answered with 501 JSON errors
// (§2.3.7–2.3.12, §7: "if unsupported return JSON errors"): the SDK reports them as
// SandboxError("501: <message>"). An unknown sandbox still gets 404 first, so SandboxNotFoundError
// and kill/pause semantics stay right.
const (
	msgPause    = "Pausing and resuming sandboxes is not supported by this sandbox manager"
	msgNetwork  = "Updating a sandbox's network configuration is not supported by this sandbox manager"
	msgFork     = "Forking sandboxes is not supported by this sandbox manager"
	msgSnapshot = "Snapshots are not supported by this sandbox manager"
	msgLogs     = "Sandbox logs are not available from this sandbox manager"
	msgBuilds   = "Building templates is not supported by this sandbox manager; templates are configured on the manager"
)

// unsupported answers 404 for unknown sandboxes (and other keys') and 501 with msg otherwise.
func (s *server) unsupported(msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		if _, ok := s.controlled(w, r, "get sandbox", id); !ok {
			return
		}
		writeError(w, http.StatusNotImplemented, msg)
	}
}

// listSnapshots is GET /snapshots: there are none, so an empty page is the true answer and
// Sandbox.listSnapshots() works.
func (s *server) listSnapshots(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, []struct{}{})
}

func (s *server) noBuilds(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotImplemented, msgBuilds)
}
