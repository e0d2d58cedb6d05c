package filesystem

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"connectrpc.com/connect"
)

// isNotExist reports whether err means that path is not there. ENOTDIR counts: `/etc/passwd/x` does
// not exist either, and files.exists() must answer false for it rather than fail.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// fsError turns err, met while doing op on path, into a Connect error with the code the SDK turns
// into the matching exception.
func fsError(op, path string, err error) *connect.Error {
	if isNotExist(err) {
		return connect.NewError(connect.CodeNotFound, fmt.Errorf("path '%s' does not exist", path))
	}
	return connect.NewError(errnoCode(err), fmt.Errorf("%s '%s': %w", op, path, err))
}

func errnoCode(err error) connect.Code {
	if errors.Is(err, fs.ErrPermission) {
		return connect.CodePermissionDenied // also a symlink the acting user may not follow
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return connect.CodeInternal
	}
	switch errno {
	case syscall.EACCES, syscall.EPERM:
		return connect.CodePermissionDenied
	case syscall.EEXIST:
		return connect.CodeAlreadyExists
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EMFILE, syscall.ENFILE:
		return connect.CodeResourceExhausted
	case syscall.EISDIR, syscall.EINVAL, syscall.ELOOP, syscall.ENAMETOOLONG:
		return connect.CodeInvalidArgument
	case syscall.ENOTEMPTY, syscall.EROFS, syscall.EXDEV, syscall.EBUSY:
		return connect.CodeFailedPrecondition
	default:
		return connect.CodeInternal
	}
}
