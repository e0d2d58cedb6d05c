package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"syscall"
)

// statusError carries the HTTP status an error should be answered with.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func withStatus(status int, err error) error {
	return &statusError{status: status, err: err}
}

func statusf(status int, format string, args ...any) error {
	return withStatus(status, fmt.Errorf(format, args...))
}

// withStatusIf gives err the status when it wraps target, and 500 otherwise.
func withStatusIf(target error, status int, err error) error {
	if errors.Is(err, target) {
		return withStatus(status, err)
	}
	return withStatus(http.StatusInternalServerError, err)
}

// fsStatus maps a filesystem error to the status the SDK expects: a full disk is 507
// (NotEnoughSpaceError), a path that cannot be a file is the caller's mistake.
func fsStatus(err error) int {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return http.StatusInsufficientStorage
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.ELOOP):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrPermission):
		// The acting user may not (its permissions, or a symlink it may not follow).
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

func statusOf(err error) int {
	if se, ok := errors.AsType[*statusError](err); ok {
		return se.status
	}
	return http.StatusInternalServerError
}

// writeError answers with envd's REST error body, {"code": <status>, "message": "…"}; the SDK keys
// its exceptions on the numeric code and shows the message.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	w.Header().Del("Content-Encoding")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{status, err.Error()})
}
