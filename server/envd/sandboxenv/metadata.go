package sandboxenv

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// MetadataPrefix is the extended-attribute namespace that holds file metadata written through
// `X-Metadata-*` upload headers.
const MetadataPrefix = "user.e2b."

// ReadMetadata returns the file's metadata (nil when it has none or the filesystem has no xattrs).
func ReadMetadata(path string) map[string]string {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size <= 0 {
		return nil
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil
	}
	var out map[string]string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		key, ok := strings.CutPrefix(name, MetadataPrefix)
		if !ok || key == "" {
			continue
		}
		val, err := getxattr(path, name)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = val
	}
	return out
}

func getxattr(path, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", unix.ERANGE
}

// WriteMetadata replaces the file's metadata with m.
func WriteMetadata(path string, m map[string]string) error {
	for k := range ReadMetadata(path) {
		if _, keep := m[k]; !keep {
			if err := unix.Lremovexattr(path, MetadataPrefix+k); err != nil && !errors.Is(err, unix.ENODATA) {
				return err
			}
		}
	}
	for k, v := range m {
		if err := unix.Lsetxattr(path, MetadataPrefix+k, []byte(v), 0); err != nil {
			return err
		}
	}
	return nil
}
