// Package filesystem implements the envd Filesystem service: stat,
// list, create, move and remove paths, and watch directories, as the user the request names.
package filesystem

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem/filesystemconnect"
)

var _ filesystemconnect.FilesystemHandler = (*Service)(nil)

// Service is the Filesystem RPC handler.
type Service struct {
	env      *sandboxenv.Env
	log      *slog.Logger
	watchers *watcherRegistry
}

// NewService returns a Filesystem service acting in env.
func NewService(env *sandboxenv.Env, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{env: env, log: log, watchers: newWatcherRegistry(log)}
}

// Close stops every polling watcher. Streams (WatchDir) end with their requests.
func (s *Service) Close() { s.watchers.closeAll() }

// user returns the account the request acts as (Basic auth, or the sandbox default).
func (s *Service) user(h http.Header) (*sandboxenv.User, error) {
	u, err := s.env.UserFromHeader(h)
	if errors.Is(err, sandboxenv.ErrUnknownUser) {
		return nil, connect.NewError(connect.CodeUnauthenticated, err)
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("resolve user: %w", err))
	}
	return u, nil
}

// resolve turns a request path into an absolute path for u.
func (s *Service) resolve(p string, u *sandboxenv.User) (string, error) {
	path, err := s.env.ResolvePath(p, u)
	if err != nil {
		return "", connect.NewError(connect.CodeInvalidArgument, err)
	}
	return path, nil
}

// userPath resolves the request's user and then p for that user.
func (s *Service) userPath(h http.Header, p string) (*sandboxenv.User, string, error) {
	u, err := s.user(h)
	if err != nil {
		return nil, "", err
	}
	path, err := s.resolve(p, u)
	if err != nil {
		return nil, "", err
	}
	return u, path, nil
}
