package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// errorBody is E2B's error shape (§2.1.2). The SDK tests body.code, so Code always equals the
// HTTP status.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Code: status, Message: msg})
}

// statusOf maps a manager error to a status (§2.1.3):
//
//   - ErrNotFound → 404: the SDK turns body.code 404 into SandboxNotFoundError, or kill() → false.
//   - ErrUnknownTemplate → 404, as E2B answers for a template it does not know.
//   - ErrTemplateUnavailable → 400: the template exists but this manager cannot run it (e.g. its
//     image is not installed). 503 would be wrong: the SDK reports 503 as ServiceBusyError ("please
//     retry"), and retrying cannot help; 400 surfaces as SandboxError "400: <reason>".
//   - ErrInvalid → 400; ErrUnsupported → 501.
//   - ErrLimitReached → 429, E2B's answer to a team past its concurrent sandbox limit (the SDK
//     raises RateLimitError; without Retry-After it does not retry).
//   - A deadline while waiting for the sandbox → 504; anything else → 500.
func statusOf(err error) int {
	switch {
	case errors.Is(err, sandbox.ErrNotFound), errors.Is(err, sandbox.ErrUnknownTemplate):
		return http.StatusNotFound
	case errors.Is(err, sandbox.ErrTemplateUnavailable), errors.Is(err, sandbox.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, sandbox.ErrUnsupported):
		return http.StatusNotImplemented
	case errors.Is(err, sandbox.ErrLimitReached):
		return http.StatusTooManyRequests
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// managerError answers with the status for err. id names the sandbox the request was about ("" if
// none), so not-found messages say which.
func (s *server) managerError(w http.ResponseWriter, r *http.Request, op, id string, err error) {
	status := statusOf(err)
	msg := err.Error()
	switch {
	case errors.Is(err, sandbox.ErrNotFound) && id != "":
		msg = fmt.Sprintf("sandbox %q doesn't exist or you don't have access to it", id)
	case errors.Is(err, sandbox.ErrLimitReached):
		limit := "its limit"
		if le := (*sandbox.LimitError)(nil); errors.As(err, &le) {
			limit = fmt.Sprint(le.Limit)
		}
		msg = fmt.Sprintf("You have reached the maximum number of concurrent sandboxes for this API key (%s). "+
			"Kill one of them, or raise --max-sandboxes-per-key (SANDBOX_MAX_SANDBOXES_PER_KEY) on the sandbox manager", limit)
	case errors.Is(err, sandbox.ErrUnknownTemplate) && !strings.Contains(msg, "available"):
		msg = fmt.Sprintf("%s; available templates: %s", msg, s.templateNames())
	case status == http.StatusInternalServerError:
		msg = op + ": " + msg
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "api request failed",
		slog.String("op", op), slog.String("sandbox", id), slog.Int("status", status), slog.Any("err", err))
	writeError(w, status, msg)
}

// templateNames lists the names (and aliases) of the available templates for error messages.
func (s *server) templateNames() string {
	var names []string
	for _, t := range s.sandboxes.Templates() {
		if !t.Available {
			continue
		}
		names = append(names, t.Name)
		names = append(names, t.Aliases...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
