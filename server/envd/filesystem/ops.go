package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/safefs"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// Stat describes the path itself (lstat): files.exists() relies on not_found for a missing path.
func (s *Service) Stat(_ context.Context, req *connect.Request[filesystem.StatRequest]) (*connect.Response[filesystem.StatResponse], error) {
	u, path, err := s.userPath(req.Header(), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	// As the user: what it may not look up, envd does not describe for it.
	var entry *filesystem.EntryInfo
	err = safefs.AsUser(u.Creds(), func() (err error) {
		entry, err = newDescriber().entry(path)
		return err
	})
	if err != nil {
		return nil, fsError("stat", path, err)
	}
	return connect.NewResponse(&filesystem.StatResponse{Entry: entry}), nil
}

// MakeDir creates a directory and its missing parents, owned by the acting user. An existing directory
// is already_exists because files.makeDir() answers false for it rather than failing.
func (s *Service) MakeDir(_ context.Context, req *connect.Request[filesystem.MakeDirRequest]) (*connect.Response[filesystem.MakeDirResponse], error) {
	u, path, err := s.userPath(req.Header(), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	err = safefs.MkdirAll(u.Creds(), path, 0o755)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, connect.NewError(connect.CodeAlreadyExists, fmt.Errorf("directory '%s' already exists", path))
	case errors.Is(err, syscall.ENOTDIR) && !isMissingParent(path):
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("path '%s' already exists and is not a directory", path))
	case err != nil:
		return nil, notADirError("make directory", path, err)
	}
	entry, err := newDescriber().entry(path)
	if err != nil {
		return nil, fsError("stat", path, err)
	}
	return connect.NewResponse(&filesystem.MakeDirResponse{Entry: entry}), nil
}

// Move renames source to destination, creating the destination's missing parents for the user.
func (s *Service) Move(_ context.Context, req *connect.Request[filesystem.MoveRequest]) (*connect.Response[filesystem.MoveResponse], error) {
	u, src, err := s.userPath(req.Header(), req.Msg.GetSource())
	if err != nil {
		return nil, err
	}
	dst, err := s.resolve(req.Msg.GetDestination(), u)
	if err != nil {
		return nil, err
	}
	if err := safefs.Rename(u.Creds(), src, dst); err != nil {
		var le *os.LinkError
		switch {
		case errors.As(err, &le) && errors.Is(err, syscall.ENOTDIR):
			// A directory cannot replace a file: a bad request, not a missing path.
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("move '%s' to '%s': %w", src, dst, err))
		case errors.Is(err, fs.ErrNotExist):
			return nil, fsError("move", src, err)
		case errors.Is(err, syscall.ENOTDIR):
			return nil, notADirError("make directory", filepath.Dir(dst), err)
		}
		return nil, connect.NewError(errnoCode(err), fmt.Errorf("move '%s' to '%s': %w", src, dst, err))
	}
	entry, err := newDescriber().entry(dst)
	if err != nil {
		return nil, fsError("stat", dst, err)
	}
	return connect.NewResponse(&filesystem.MoveResponse{Entry: entry}), nil
}

// Remove deletes path recursively; a missing path is success, as with rm -rf.
func (s *Service) Remove(_ context.Context, req *connect.Request[filesystem.RemoveRequest]) (*connect.Response[filesystem.RemoveResponse], error) {
	u, path, err := s.userPath(req.Header(), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	if err := safefs.RemoveAll(u.Creds(), path); err != nil && !isNotExist(err) {
		return nil, fsError("remove", path, err)
	}
	return connect.NewResponse(&filesystem.RemoveResponse{}), nil
}

// isMissingParent reports whether a parent of path is not a directory (as opposed to path itself).
func isMissingParent(path string) bool {
	info, err := os.Stat(filepath.Dir(path))
	return err != nil || !info.IsDir()
}

// notADirError maps a failure to create directories: a file where a directory should be (ENOTDIR from a
// parent, EEXIST from the path itself, e.g. a broken link) is a bad request, not a missing path.
func notADirError(op, path string, err error) *connect.Error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s '%s': a path component is not a directory: %w", op, path, err))
	}
	return fsError(op, path, err)
}
