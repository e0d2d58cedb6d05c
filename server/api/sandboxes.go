package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// connectBody is ConnectSandboxV2 / ConnectSandbox (§2.2). `memory` only matters for paused
// sandboxes, which this manager does not have.
type connectBody struct {
	Timeout *int64 `json:"timeout"`
	Memory  *bool  `json:"memory"`
}

func (s *server) connectV2(w http.ResponseWriter, r *http.Request) { s.connect(w, r) }

// connectV1 shares v2's handling: v1 clients always send timeout, so only the optional-body
// leniency differs from E2B, which is harmless.
func (s *server) connectV1(w http.ResponseWriter, r *http.Request) { s.connect(w, r) }

// connect extends a running sandbox's TTL only (endAt = max(endAt, now+timeout)) and answers 200
// with a fresh Sandbox. 201 means "resumed from pause", which cannot happen here.
func (s *server) connect(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body connectBody
	if err := readBody(w, r, &body, true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	timeout, err := s.timeoutOf(body.Timeout, defaultTimeoutV2)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, ok := s.controlled(w, r, "connect sandbox", id); !ok {
		return
	}
	sb, err := s.sandboxes.Connect(r.Context(), id, timeout)
	if err != nil {
		s.managerError(w, r, "connect sandbox", id, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toSandbox(sb))
}

// getSandbox answers SandboxDetail (§2.3.4).
func (s *server) getSandbox(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	sb, ok := s.controlled(w, r, "get sandbox", id)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.toDetail(sb))
}

// kill answers 204, or 404 with body.code 404 so that the SDK's kill() returns false (§2.3.5).
func (s *server) kill(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if _, ok := s.controlled(w, r, "kill sandbox", id); !ok {
		return
	}
	if err := s.sandboxes.Kill(r.Context(), id); err != nil {
		s.managerError(w, r, "kill sandbox", id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type timeoutBody struct {
	Timeout *int64 `json:"timeout"`
}

// setTimeout sets endAt = now + timeout, which may shorten it; negative counts as 0 (§2.3.6).
func (s *server) setTimeout(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body timeoutBody
	if err := readBody(w, r, &body, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.Timeout == nil {
		writeError(w, http.StatusBadRequest, "timeout (seconds) is required")
		return
	}
	secs := max(*body.Timeout, 0)
	if err := s.checkTimeout("timeout", secs); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, ok := s.controlled(w, r, "set sandbox timeout", id); !ok {
		return
	}
	if err := s.sandboxes.SetTimeout(r.Context(), id, time.Duration(secs)*time.Second); err != nil {
		s.managerError(w, r, "set sandbox timeout", id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type refreshBody struct {
	Duration *int64 `json:"duration"`
}

// defaultRefresh is the extension when a refresh names no duration (E2B's v1 default timeout).
const defaultRefresh = 15 * time.Second

// refresh extends the TTL only (§2.3.6): the same semantics as connect on a running sandbox.
func (s *server) refresh(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body refreshBody
	if err := readBody(w, r, &body, true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d := defaultRefresh
	if body.Duration != nil {
		if *body.Duration < 0 {
			writeError(w, http.StatusBadRequest, "duration must not be negative")
			return
		}
		if err := s.checkTimeout("duration", *body.Duration); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		d = time.Duration(*body.Duration) * time.Second
	}
	if _, ok := s.controlled(w, r, "refresh sandbox", id); !ok {
		return // nothing to extend; still 404 for unknown IDs
	}
	if d > 0 {
		if _, err := s.sandboxes.Connect(r.Context(), id, d); err != nil {
			s.managerError(w, r, "refresh sandbox", id, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// controlled returns the sandbox named id when the caller may control it. Otherwise it answers 404
// exactly as for a sandbox that does not exist, so that the IDs of other keys' sandboxes cannot be
// probed, and returns false.
func (s *server) controlled(w http.ResponseWriter, r *http.Request, op, id string) (*sandbox.Sandbox, bool) {
	sb, err := s.sandboxes.Get(r.Context(), id)
	if err == nil && !callerOf(r.Context()).canControl(sb) {
		err = fmt.Errorf("sandbox %q belongs to another API key: %w", id, sandbox.ErrNotFound)
	}
	if err != nil {
		s.managerError(w, r, op, id, err)
		return nil, false
	}
	return sb, true
}
