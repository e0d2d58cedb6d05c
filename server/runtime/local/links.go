package local

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// linkForbidden are sandbox paths that bwrap mounts over: a link made under them in the root would
// never be seen.
var linkForbidden = []string{"/proc", "/dev", "/run", "/sys"}

// checkLinks rejects link paths that are not clean absolute paths below / or that a mount would hide.
func checkLinks(links map[string]string) error {
	for _, p := range slices.Sorted(maps.Keys(links)) {
		switch {
		case !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/":
			return fmt.Errorf("link %q: the path must be a clean absolute path below /", p)
		case links[p] == "":
			return fmt.Errorf("link %q: empty target", p)
		}
		for _, f := range linkForbidden {
			if p == f || strings.HasPrefix(p, f+"/") {
				return fmt.Errorf("link %q: %s is mounted over in a sandbox", p, f)
			}
		}
	}
	return nil
}

// link makes a template's symbolic links in the sandbox's upper layer, with their missing parent
// directories. They belong to the sandbox: it may replace them without touching the root filesystem
// or any other sandbox.
func (r rootfs) link(links map[string]string) error {
	for _, p := range slices.Sorted(maps.Keys(links)) {
		rel := strings.TrimPrefix(p, "/")
		if err := r.mkdirAll(filepath.Dir(rel)); err != nil {
			return fmt.Errorf("link %s: %w", p, err)
		}
		if err := os.Symlink(links[p], filepath.Join(r.upper, rel)); err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("link %s: the sandbox's own layer already has this path", p)
			}
			return fmt.Errorf("link %s: %w", p, err)
		}
	}
	return nil
}
