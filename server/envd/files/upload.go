package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// upload serves POST /files: a multipart/form-data body with one `file` part per file, or any other
// body as the raw content of the file named by the `path` query param.
func (h *handler) upload(w http.ResponseWriter, r *http.Request) {
	u, err := h.actingUser(r, opWrite)
	if err != nil {
		h.fail(w, r, "upload", err)
		return
	}
	meta, err := metadataFromHeader(r.Header)
	if err != nil {
		h.fail(w, r, "upload", err)
		return
	}
	body, err := decodedBody(r)
	if err != nil {
		h.fail(w, r, "upload", err)
		return
	}
	defer body.Close()

	t := transfer{h: h, user: u, meta: meta}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var entries []entry
	if strings.HasPrefix(mediaType, "multipart/") {
		r.Body = body
		entries, err = t.multipart(r)
	} else {
		entries, err = t.raw(r.URL.Query(), body)
	}
	if err != nil {
		h.fail(w, r, "upload", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(entries)
}

// transfer is one upload request's files, written as the same user with the same metadata.
type transfer struct {
	h    *handler
	user *sandboxenv.User
	meta map[string]string
}

// raw writes the whole body to the `path` query param.
func (t transfer) raw(q url.Values, body io.Reader) ([]entry, error) {
	if q.Get("path") == "" {
		return nil, statusf(http.StatusBadRequest, "the path query parameter is required for a raw body upload")
	}
	path, err := t.resolve(q.Get("path"))
	if err != nil {
		return nil, err
	}
	e, err := t.writeTo(path, body)
	if err != nil {
		return nil, err
	}
	return []entry{e}, nil
}

// multipart writes each `file` part, streaming it straight from the request. The target is the `path`
// query param when present, else the part's full filename: the SDK sends the target path there when it
// writes several files in one request.
func (t transfer) multipart(r *http.Request) ([]entry, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, statusf(http.StatusBadRequest, "read multipart body: %w", err)
	}
	q := r.URL.Query()
	var entries []entry
	written := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, statusf(http.StatusBadRequest, "read multipart body: %w", err)
		}
		e, ok, err := t.part(part, q, written)
		part.Close()
		if err != nil {
			return nil, err
		}
		if ok {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil, statusf(http.StatusBadRequest, "the multipart body has no part named \"file\"")
	}
	return entries, nil
}

// part writes one multipart part; ok is false for parts that are not files and are skipped.
func (t transfer) part(part *multipart.Part, q url.Values, written map[string]bool) (e entry, ok bool, err error) {
	name, target := formNames(part)
	if name != "file" {
		return entry{}, false, nil
	}
	if q.Has("path") {
		target = q.Get("path")
	}
	if target == "" {
		return entry{}, false, statusf(http.StatusBadRequest, "a file part has neither a filename nor a path query parameter")
	}
	path, err := t.resolve(target)
	if err != nil {
		return entry{}, false, err
	}
	if written[path] {
		return entry{}, false, statusf(http.StatusBadRequest, "cannot upload several files to the same path '%s' in one request", path)
	}
	written[path] = true
	e, err = t.writeTo(path, part)
	return e, err == nil, err
}

func (t transfer) resolve(target string) (string, error) {
	path, err := t.h.env.ResolvePath(target, t.user)
	if err != nil {
		return "", withStatus(http.StatusBadRequest, fmt.Errorf("resolve path %q: %w", target, err))
	}
	return path, nil
}

func (t transfer) writeTo(path string, src io.Reader) (entry, error) {
	e, n, err := writeFile(path, src, t.user, t.meta)
	if err != nil {
		t.h.log.Debug("file upload failed", "path", path, "user", t.user.Name, "bytes", n, "err", err)
		return entry{}, err
	}
	t.h.log.Debug("file upload", "path", path, "user", t.user.Name, "size", n, "metadata", len(t.meta))
	return e, nil
}

// formNames returns a part's form field name and its full filename. multipart.Part.FileName would
// strip the directories that carry the target path, so Content-Disposition is parsed here.
func formNames(part *multipart.Part) (name, filename string) {
	disposition, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil || disposition != "form-data" {
		return "", ""
	}
	return params["name"], params["filename"]
}
