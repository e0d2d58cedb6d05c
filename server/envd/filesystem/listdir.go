package filesystem

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/safefs"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// ListDir returns the entries under a directory down to the requested depth (0 counts as 1, the SDK's
// default). A symlink given as the directory is followed; symlinks below it are listed, not entered.
func (s *Service) ListDir(ctx context.Context, req *connect.Request[filesystem.ListDirRequest]) (*connect.Response[filesystem.ListDirResponse], error) {
	u, dir, err := s.userPath(req.Header(), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	// As the user: a directory it may not read is not listed for it.
	var res *connect.Response[filesystem.ListDirResponse]
	err = safefs.AsUser(u.Creds(), func() (err error) {
		res, err = s.listDir(ctx, dir, int(max(req.Msg.GetDepth(), 1)))
		return err
	})
	return res, err
}

func (s *Service) listDir(ctx context.Context, dir string, depth int) (*connect.Response[filesystem.ListDirResponse], error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fsError("list", dir, err)
	}
	info, err := os.Stat(resolved)
	if err != nil {
		return nil, fsError("list", dir, err)
	}
	if !info.IsDir() {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("path '%s' is not a directory", dir))
	}
	entries, err := s.walk(ctx, dir, resolved, depth)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&filesystem.ListDirResponse{Entries: entries}), nil
}

// walk lists resolved (the directory with links followed) down to depth levels, reporting every path
// under requested (as the client named it), so that a listing through a symlink keeps its spelling.
func (s *Service) walk(ctx context.Context, requested, resolved string, depth int) ([]*filesystem.EntryInfo, error) {
	d := newDescriber()
	entries := []*filesystem.EntryInfo{}
	err := filepath.WalkDir(resolved, func(path string, de fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if path == resolved {
			return err // the directory itself is not listed, but failing to read it fails the call
		}
		if err != nil {
			// A subdirectory that vanished or cannot be read: its own entry is already listed, its
			// contents are skipped rather than failing the whole listing.
			s.log.Debug("list: skip unreadable directory", "path", path, "err", err)
			return nil
		}
		rel, err := filepath.Rel(resolved, path)
		if err != nil {
			return fmt.Errorf("relative path of %s: %w", path, err)
		}
		entry, err := d.entry(path)
		if isNotExist(err) {
			return skipDir(de)
		}
		if err != nil {
			return err
		}
		entry.Path = filepath.Join(requested, rel)
		entries = append(entries, entry)
		if de.IsDir() && strings.Count(rel, string(filepath.Separator))+1 >= depth {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr // connect-go reports it as canceled or deadline_exceeded
		}
		return nil, fsError("list", requested, err)
	}
	return entries, nil
}

// skipDir is what a walk callback returns to pass over an entry that vanished.
func skipDir(de fs.DirEntry) error {
	if de.IsDir() {
		return fs.SkipDir
	}
	return nil
}
