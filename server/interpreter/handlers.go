package interpreter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// httpError is an error answered with its own status and a plain-text body.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func contextNotFound(id string) error {
	return &httpError{status: http.StatusNotFound, msg: "Context " + id + " not found"}
}

// writeError answers a plain-text error, as the reference server does.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	if errors.As(err, &he) {
		status, msg = he.status, he.msg
	} else {
		s.log.Error("request failed", "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}

// decodeBody reads an optional JSON body.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return badRequest("read body: %v", err)
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("invalid JSON body: %v", err)
	}
	return nil
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "OK")
}

type createContextRequest struct {
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

func (s *Server) handleCreateContext(w http.ResponseWriter, r *http.Request) {
	var req createContextRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, err)
		return
	}
	c, err := s.createContext(r.Context(), normaliseLanguage(req.Language), req.Cwd)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, c.Context)
}

func (s *Server) handleListContexts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.list())
}

func (s *Server) handleRestartContext(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := c.restart(r.Context()); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, nil)
}

func (s *Server) handleDeleteContext(w http.ResponseWriter, r *http.Request) {
	if err := s.remove(r.PathValue("id")); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, nil)
}
