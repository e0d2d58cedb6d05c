package filesystem

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"connectrpc.com/connect"
	"github.com/fsnotify/fsnotify"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem"
)

// watchOptions are the fields WatchDirRequest and CreateWatcherRequest share.
type watchOptions struct {
	path               string
	recursive          bool
	includeEntry       bool
	allowNetworkMounts bool
}

// dirWatcher turns inotify events under one directory into FilesystemEvents. fsnotify watches single
// directories, so a recursive watcher adds a watch per subdirectory, including ones created later.
// Its methods other than close must be called from one goroutine, the one reading its channels.
type dirWatcher struct {
	root         string // as the client named it, resolved for the user: event names are relative to it
	recursive    bool
	includeEntry bool
	fsw          *fsnotify.Watcher
	describe     *describer
	log          *slog.Logger
}

// openWatcher checks that the request's path may be watched and starts watching it.
func (s *Service) openWatcher(h http.Header, opts watchOptions) (*dirWatcher, error) {
	_, root, err := s.userPath(h, opts.path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fsError("watch", root, err)
	}
	if !info.IsDir() {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("path '%s' is not a directory", root))
	}
	if !opts.allowNetworkMounts {
		fsName, err := networkMount(root)
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("watch '%s': %w", root, err))
		}
		if fsName != "" {
			return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(
				"path '%s' is on a network filesystem (%s) where changes may go unnoticed; allow network mounts to watch it anyway",
				root, fsName))
		}
	}
	w, err := newDirWatcher(root, opts, s.log)
	if err != nil {
		return nil, fsError("watch", root, err)
	}
	return w, nil
}

func newDirWatcher(root string, opts watchOptions, log *slog.Logger) (*dirWatcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("create inotify instance: %w", err)
	}
	w := &dirWatcher{
		root:         root,
		recursive:    opts.recursive,
		includeEntry: opts.includeEntry,
		fsw:          fsw,
		describe:     newDescriber(),
		log:          log,
	}
	if opts.recursive {
		err = w.addTree(root, nil)
	} else {
		err = fsw.Add(root)
	}
	if err != nil {
		fsw.Close()
		return nil, err
	}
	return w, nil
}

func (w *dirWatcher) close() {
	if err := w.fsw.Close(); err != nil {
		w.log.Warn("watch: close inotify instance", "path", w.root, "err", err)
	}
}

// fatal reports whether an inotify error ends the watch. An overflowing kernel queue only loses events,
// and the client still wants the ones that follow.
func (w *dirWatcher) fatal(err error) bool {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("watch: events lost, inotify queue overflowed", "path", w.root)
		return false
	}
	return true
}

// convert turns one fsnotify event into the messages E2B's envd sends: one per operation bit.
func (w *dirWatcher) convert(ev fsnotify.Event) []*filesystem.FilesystemEvent {
	out := w.eventsFor(ev.Name, ev.Op)
	if w.recursive && ev.Has(fsnotify.Create) {
		// Whatever was created inside a new directory before its watch existed (mkdir -p a/b/c, a tree
		// moved in) produced no inotify event: report it as created. A file created in the short
		// window between adding the watch and reading the directory may be reported twice.
		for _, p := range w.watchNewDir(ev.Name) {
			out = append(out, w.eventsFor(p, fsnotify.Create)...)
		}
	}
	return out
}

func (w *dirWatcher) eventsFor(path string, op fsnotify.Op) []*filesystem.FilesystemEvent {
	name, err := filepath.Rel(w.root, path)
	if err != nil {
		name = path
	}
	var out []*filesystem.FilesystemEvent
	for _, bit := range []fsnotify.Op{fsnotify.Create, fsnotify.Write, fsnotify.Remove, fsnotify.Rename, fsnotify.Chmod} {
		if !op.Has(bit) {
			continue
		}
		ev := &filesystem.FilesystemEvent{Name: name, Type: eventType(bit)}
		if w.includeEntry && (bit == fsnotify.Create || bit == fsnotify.Write || bit == fsnotify.Chmod) {
			// The path may be gone again by now; the event still counts, without an entry.
			if entry, err := w.describe.entry(path); err == nil {
				ev.Entry = entry
			}
		}
		out = append(out, ev)
	}
	return out
}

func eventType(op fsnotify.Op) filesystem.EventType {
	switch op {
	case fsnotify.Create:
		return filesystem.EventType_EVENT_TYPE_CREATE
	case fsnotify.Write:
		return filesystem.EventType_EVENT_TYPE_WRITE
	case fsnotify.Remove:
		return filesystem.EventType_EVENT_TYPE_REMOVE
	case fsnotify.Rename:
		return filesystem.EventType_EVENT_TYPE_RENAME
	case fsnotify.Chmod:
		return filesystem.EventType_EVENT_TYPE_CHMOD
	}
	return filesystem.EventType_EVENT_TYPE_UNSPECIFIED
}

// watchNewDir extends a recursive watch to path when it is a new directory (not a link to one) and
// returns the paths already inside it.
func (w *dirWatcher) watchNewDir(path string) []string {
	info, err := os.Lstat(path)
	if err != nil || !info.IsDir() {
		return nil
	}
	var found []string
	err = w.addTree(path, func(p string) { found = append(found, p) })
	if err != nil && !isNotExist(err) {
		w.log.Warn("watch: cannot watch new directory", "path", path, "err", err)
	}
	return found
}

// addTree watches dir and every directory below it, without following links below dir, and calls
// found (when not nil) with each path below dir. Directories that vanish or refuse a watch meanwhile
// are skipped; running out of inotify watches fails, as the watch would silently be partial.
func (w *dirWatcher) addTree(dir string, found func(path string)) error {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(resolved, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			if path == resolved {
				return err
			}
			return nil // vanished or unreadable: nothing in it can be watched
		}
		rel, err := filepath.Rel(resolved, path)
		if err != nil {
			return err
		}
		// Watch and report under the path as the client knows it: inotify resolves a linked root
		// itself, and event names must be relative to the root as named.
		named := filepath.Join(dir, rel)
		if path != resolved && found != nil {
			found(named)
		}
		if !de.IsDir() {
			return nil
		}
		err = w.fsw.Add(named)
		switch {
		case err == nil:
			return nil
		case path == resolved || errors.Is(err, syscall.ENOSPC):
			return fmt.Errorf("watch %s: %w", named, err)
		case !isNotExist(err):
			w.log.Debug("watch: skip directory", "path", named, "err", err)
		}
		return fs.SkipDir
	})
}
