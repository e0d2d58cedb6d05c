package files

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/safefs"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// writeBufferSize batches the small reads that request bodies yield (multipart parts return at
// most 4 KiB per Read) into few large writes.
const writeBufferSize = 1 << 20

// entry is one written file in the upload response.
type entry struct {
	Path     string            `json:"path"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// writeFile streams src into path on behalf of u: missing parents are created and the file is
// created or truncated as u (safefs: u's permissions, no symlink planted by another user followed,
// owner u without a chown by path), and meta (if any) replaces its metadata afterwards.
func writeFile(path string, src io.Reader, u *sandboxenv.User, meta map[string]string) (entry, int64, error) {
	f, err := safefs.OpenFile(u.Creds(), path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666, true)
	if err != nil {
		if errors.Is(err, syscall.EISDIR) {
			return entry{}, 0, statusf(http.StatusBadRequest, "path '%s' is a directory", path)
		}
		return entry{}, 0, withStatus(fsStatus(err), fmt.Errorf("open %s as %s: %w", path, u.Name, err))
	}
	defer f.Close()

	n, err := copyToFile(f, src)
	if err != nil {
		if _, ok := errors.AsType[*sourceError](err); ok {
			return entry{}, n, withStatus(http.StatusBadRequest, err)
		}
		return entry{}, n, withStatus(fsStatus(err), fmt.Errorf("write %s: %w", path, err))
	}
	if len(meta) > 0 {
		if err := sandboxenv.WriteMetadataTo(f, meta); err != nil {
			return entry{}, n, metadataError(path, err)
		}
	}
	// Close reports deferred write errors (ENOSPC on some filesystems surfaces only here).
	if err := f.Close(); err != nil {
		return entry{}, n, withStatus(fsStatus(err), fmt.Errorf("close %s: %w", path, err))
	}
	return entry{Path: path, Name: filepath.Base(path), Type: "file", Metadata: meta}, n, nil
}

// metadataError blames the request for metadata the filesystem has no room for (ext4 keeps all
// extended attributes of a file in one block), rather than reporting a full disk.
func metadataError(path string, err error) error {
	err = fmt.Errorf("write metadata of %s: %w", path, err)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.E2BIG) || errors.Is(err, syscall.ERANGE) {
		return withStatus(http.StatusBadRequest, fmt.Errorf("metadata does not fit in the file's extended attributes: %w", err))
	}
	return err
}

// copyToFile copies src to f through a large buffer; read errors come back as *sourceError.
func copyToFile(f *os.File, src io.Reader) (int64, error) {
	// Hiding f's ReadFrom makes bufio fill its whole buffer before each write instead of handing
	// every small read straight to the file.
	bw := bufio.NewWriterSize(struct{ io.Writer }{f}, writeBufferSize)
	n, err := bw.ReadFrom(sourceReader{src})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// sourceError marks an error that came from reading the request body rather than from writing the
// file, so that a corrupt or truncated upload is answered 400 and a failing disk 500/507.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return fmt.Sprintf("read upload body: %v", e.err) }
func (e *sourceError) Unwrap() error { return e.err }

// sourceReader tags every non-EOF read error as a *sourceError.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err: err}
	}
	return n, err
}
