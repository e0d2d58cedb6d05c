package api

import (
	"net/http"
	"time"
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
	timeout, err := timeoutOf(body.Timeout, defaultTimeoutV2)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
	sb, err := s.sandboxes.Get(r.Context(), id)
	if err != nil {
		s.managerError(w, r, "get sandbox", id, err)
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
	secs := min(max(*body.Timeout, 0), maxTimeoutSeconds)
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
		if *body.Duration < 0 || *body.Duration > maxTimeoutSeconds {
			writeError(w, http.StatusBadRequest, "duration must be between 0 and 2147483648 seconds")
			return
		}
		d = time.Duration(*body.Duration) * time.Second
	}
	var err error
	if d == 0 {
		_, err = s.sandboxes.Get(r.Context(), id) // nothing to extend; still 404 for unknown IDs
	} else {
		_, err = s.sandboxes.Connect(r.Context(), id, d)
	}
	if err != nil {
		s.managerError(w, r, "refresh sandbox", id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
