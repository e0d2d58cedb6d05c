package sandboxenv

import (
	"errors"
	"os"
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

// WriteMetadataTo replaces the metadata of the open file f with m. It works on the descriptor, so that
// the file written is the file whose metadata is set.
func WriteMetadataTo(f *os.File, m map[string]string) error {
	fd := int(f.Fd())
	size, err := unix.Flistxattr(fd, nil)
	if err != nil && !errors.Is(err, unix.ENOTSUP) {
		return err
	}
	if size > 0 {
		buf := make([]byte, size)
		n, err := unix.Flistxattr(fd, buf)
		if err != nil {
			return err
		}
		for _, name := range strings.Split(string(buf[:n]), "\x00") {
			key, ok := strings.CutPrefix(name, MetadataPrefix)
			if _, keep := m[key]; !ok || key == "" || keep {
				continue
			}
			if err := unix.Fremovexattr(fd, name); err != nil && !errors.Is(err, unix.ENODATA) {
				return err
			}
		}
	}
	for k, v := range m {
		if err := unix.Fsetxattr(fd, MetadataPrefix+k, []byte(v), 0); err != nil {
			return err
		}
	}
	return nil
}
