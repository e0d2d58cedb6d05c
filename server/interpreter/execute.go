package interpreter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/interpreter/kernel"
)

type executeRequest struct {
	Code      string            `json:"code"`
	ContextID string            `json:"context_id"`
	Language  string            `json:"language"`
	EnvVars   map[string]string `json:"env_vars"`
}

// cleanupTimeout bounds the helper executions that run after the client
// may have gone (reverting per-request environment variables).
const cleanupTimeout = 30 * time.Second

func (s *Server) handleExecute(w http.ResponseWriter, r *http.Request) {
	// Only set when the request did not come through the gateway, which passes the token to envd's
	// port alone; envd answers /envs from the sandbox's own loopback without it.
	token := r.Header.Get("X-Access-Token")
	var req executeRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, err)
		return
	}
	c, err := s.selectContext(r.Context(), req)
	if err != nil {
		s.writeError(w, err)
		return
	}

	lw := newLineWriter(w)
	stop := make(chan struct{})
	defer close(stop)
	go lw.keepalive(s.cfg.KeepaliveInterval, stop)

	ctx := r.Context()
	if err := c.acquire(ctx); err != nil {
		return // the client went away while waiting for its turn
	}
	defer c.release()
	s.execute(ctx, c, req, token, lw)
	lw.end()
}

// selectContext picks the context of an /execute request (spec §4.2).
func (s *Server) selectContext(ctx context.Context, req executeRequest) (*execContext, error) {
	switch {
	case req.ContextID != "" && req.Language != "":
		return nil, badRequest("Only one of context_id or language can be provided")
	case req.ContextID != "":
		return s.lookup(req.ContextID)
	default:
		lang := normaliseLanguage(req.Language)
		if _, err := lookupLanguage(lang); err != nil {
			return nil, err
		}
		return s.defaultContext(ctx, lang)
	}
}

// execute runs one request on a context whose lock is held and writes its
// output lines (everything but end_of_execution).
func (s *Server) execute(ctx context.Context, c *execContext, req executeRequest, token string, lw *lineWriter) {
	if err := c.ensureAlive(ctx); err != nil {
		lw.write("error", errorFields("KernelError", err.Error(), nil))
		return
	}
	s.applyEnvdEnv(ctx, c, token)
	if len(req.EnvVars) > 0 {
		if err := c.silent(ctx, c.lang.setEnv(req.EnvVars)); err != nil {
			lw.write("error", errorFields("EnvVarsError", "set env_vars: "+err.Error(), nil))
			return
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			if err := c.silent(cctx, c.lang.restoreEnv()); err != nil {
				c.log.Warn("revert env_vars", "err", err)
			}
		}()
	}

	errorSent := false
	sendError := func(fields map[string]any) {
		if !errorSent {
			errorSent = true
			lw.write("error", fields)
		}
	}
	reply, err := c.kernel.Execute(ctx, kernel.Request{Code: c.lang.wrap(req.Code)}, kernel.Callbacks{
		Input: func(n int) {
			lw.write("number_of_executions", map[string]any{"execution_count": n})
		},
		Stream: func(st kernel.Stream) {
			lw.write(st.Name, map[string]any{"text": st.Text, "timestamp": st.Timestamp})
		},
		Result: func(res kernel.Result) { lw.write("result", resultFields(res)) },
		Error:  func(e kernel.Error) { sendError(errorFields(e.Name, e.Value, e.Traceback)) },
	})
	switch {
	case errors.Is(err, kernel.ErrRestarted):
		sendError(errorFields("ContextRestarting", "Context was restarted", nil))
	case ctx.Err() != nil:
		c.log.Info("execution interrupted: client disconnected", "err", err)
	case err != nil:
		c.log.Warn("execution failed", "err", err)
		sendError(errorFields("UnexpectedEndOfExecution", "Connection to the execution was closed before the execution was finished: "+err.Error(), nil))
	case reply.Status == "aborted":
		sendError(errorFields("ExecutionAborted", "Execution was aborted", nil))
	case reply.Status == "error" && reply.Error != nil:
		sendError(errorFields(reply.Error.Name, reply.Error.Value, reply.Error.Traceback))
	}
}

// applyEnvdEnv sets envd's default environment variables in the kernel before an execution. They are
// read from envd each time (a loopback request) because they change after the kernel started: the
// orchestrator's /init sets them once the sandbox is up, and again when a warm pool member is
// claimed. The kernel is only touched when they differ from what it has. Failures are logged and
// retried on the next execution.
func (s *Server) applyEnvdEnv(ctx context.Context, c *execContext, token string) {
	vars, err := s.envs.get(ctx, token)
	if err != nil {
		c.log.Warn("envd environment variables not applied", "err", err)
		return
	}
	raw, _ := json.Marshal(vars) // map keys are sorted: equal maps give equal bytes
	fingerprint := string(raw)
	if last := c.appliedEnv.Load(); last != nil && *last == fingerprint {
		return
	}
	if len(vars) > 0 {
		if err := c.silent(ctx, c.lang.exportEnv(vars)); err != nil {
			c.log.Warn("apply envd environment variables", "err", err)
			return
		}
	}
	c.appliedEnv.Store(&fingerprint)
}
