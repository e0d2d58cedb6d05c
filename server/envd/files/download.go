package files

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/safefs"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// download serves GET /files: the file's raw bytes, gzip-encoded when the client accepts it.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	u, err := h.actingUser(r, opRead)
	if err != nil {
		h.fail(w, r, "download", err)
		return
	}
	path, err := h.env.ResolvePath(r.URL.Query().Get("path"), u)
	if err != nil {
		h.fail(w, r, "download", withStatus(http.StatusBadRequest, err))
		return
	}
	f, info, err := openRegular(path, u)
	if err != nil {
		h.fail(w, r, "download", err)
		return
	}
	defer f.Close()

	accept := parseAcceptEncoding(r.Header.Values("Accept-Encoding"))
	coding, ok := accept.pick(needsIdentity(r, info))
	if coding == encodingGzip && accept.identity && incompressible(f) {
		// Compressing data that does not shrink only costs CPU: gzip runs at ~90 MiB/s on one core
		// here, identity at several hundred, and the client decodes either transparently.
		coding = encodingIdentity
	}
	if !ok {
		h.fail(w, r, "download", statusf(http.StatusNotAcceptable, "no acceptable encoding in %q, supported: gzip, identity", r.Header.Get("Accept-Encoding")))
		return
	}
	w.Header().Set("Vary", "Accept-Encoding")

	if coding == encodingIdentity {
		// ServeContent brings Range (206), conditional requests (304/412) and Content-Length.
		http.ServeContent(w, r, path, info.ModTime(), f)
		h.log.Debug("file download", "path", path, "user", u.Name, "encoding", coding, "size", info.Size())
		return
	}

	w.Header().Set("Content-Type", contentType(path))
	w.Header().Set("Content-Encoding", encodingGzip)
	w.WriteHeader(http.StatusOK)
	n, err := gzipCopy(w, f)
	if err != nil {
		// The status line is gone; a truncated gzip stream is all the client can be told.
		h.log.Debug("file download aborted", "path", path, "user", u.Name, "encoding", coding, "bytes", n, "err", err)
		return
	}
	h.log.Debug("file download", "path", path, "user", u.Name, "encoding", coding, "size", n)
}

// openRegular opens path for reading as u (with u's permissions, through no symlink another user
// planted) and checks, on the open descriptor so that nothing can be swapped in between, that it is a
// regular file.
func openRegular(path string, u *sandboxenv.User) (*os.File, fs.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It has no
	// effect on regular files.
	f, err := safefs.OpenFile(u.Creds(), path, os.O_RDONLY|syscall.O_NONBLOCK, 0, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil, statusf(http.StatusNotFound, "path '%s' does not exist", path)
		}
		return nil, nil, withStatus(fsStatus(err), fmt.Errorf("open %s: %w", path, err))
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	switch {
	case info.IsDir():
		f.Close()
		return nil, nil, statusf(http.StatusBadRequest, "path '%s' is a directory", path)
	case !info.Mode().IsRegular():
		f.Close()
		return nil, nil, statusf(http.StatusBadRequest, "path '%s' is not a regular file", path)
	}
	return f, info, nil
}

// needsIdentity reports whether a request should get identity even if it accepts gzip: Range and
// conditional requests only work on the identity representation via ServeContent, and an empty file
// must carry "Content-Length: 0", which the SDK checks to return empty content.
func needsIdentity(r *http.Request, info fs.FileInfo) bool {
	if info.Size() == 0 {
		return true
	}
	for _, h := range []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

func contentType(path string) string {
	if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressibilitySample is how much of a file incompressible looks at.
const compressibilitySample = 64 << 10

// incompressible reports whether the start of f shrinks by less than a tenth under gzip (already
// compressed formats, random data). It reads with ReadAt, so f's offset is untouched.
func incompressible(f *os.File) bool {
	sample := make([]byte, compressibilitySample)
	n, err := f.ReadAt(sample, 0)
	if n == 0 || err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	var out countingWriter
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	_, _ = zw.Write(sample[:n])
	_ = zw.Close()
	return out.n*10 >= int64(n)*9
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// gzipCopy streams src through a gzip writer into w. BestSpeed: files can be large, and at higher
// levels the compressor, not the network, would limit the transfer.
func gzipCopy(w io.Writer, src io.Reader) (int64, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return 0, fmt.Errorf("gzip writer: %w", err)
	}
	n, err := io.Copy(zw, src)
	if err != nil {
		return n, fmt.Errorf("gzip copy: %w", err)
	}
	if err := zw.Close(); err != nil {
		return n, fmt.Errorf("gzip close: %w", err)
	}
	return n, nil
}
