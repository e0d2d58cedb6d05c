package files

import (
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// xattrDir returns a scratch directory on a filesystem with user.* extended attributes: t.TempDir
// when it has them (tmpfs often does not), else one under /var/tmp; the test is skipped with neither.
func xattrDir(t *testing.T) string {
	t.Helper()
	for _, base := range []string{"", "/var/tmp"} {
		var dir string
		if base == "" {
			dir = t.TempDir()
		} else {
			d, err := os.MkdirTemp(base, "files-xattr-")
			if err != nil {
				continue
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
		probe := filepath.Join(dir, ".probe")
		if err := os.WriteFile(probe, nil, 0o644); err != nil {
			continue
		}
		err := unix.Setxattr(probe, sandboxenv.MetadataPrefix+"probe", []byte("1"), 0)
		os.Remove(probe)
		if err == nil {
			return dir
		}
		if !errors.Is(err, unix.ENOTSUP) {
			t.Logf("xattr probe in %s: %v", dir, err)
		}
	}
	t.Skip("no filesystem with user.* extended attributes")
	return ""
}

func TestUploadMetadata(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := xattrDir(t)
	want := map[string]string{"author": "mish", "purpose-of-file": "upload test"}
	h := http.Header{"X-Metadata-Author": {"mish"}, "X-Metadata-Purpose-Of-File": {"upload test"}}

	t.Run("multipart", func(t *testing.T) {
		p := filepath.Join(dir, "m.txt")
		entries := wantEntries(t, s.upload(p, []byte("with metadata"), h))
		if !maps.Equal(entries[0].Metadata, want) {
			t.Fatalf("response metadata %v, want %v", entries[0].Metadata, want)
		}
		if got := sandboxenv.ReadMetadata(p); !maps.Equal(got, want) {
			t.Fatalf("stored metadata %v, want %v", got, want)
		}
		wantFile(t, p, []byte("with metadata"))
	})
	t.Run("octet-stream", func(t *testing.T) {
		p := filepath.Join(dir, "o.txt")
		hh := h.Clone()
		hh.Set("Content-Type", "application/octet-stream")
		entries := wantEntries(t, s.do(http.MethodPost, s.filesURL("path", p), hh, strings.NewReader("raw")))
		if !maps.Equal(entries[0].Metadata, want) || !maps.Equal(sandboxenv.ReadMetadata(p), want) {
			t.Fatalf("metadata %v / %v, want %v", entries[0].Metadata, sandboxenv.ReadMetadata(p), want)
		}
	})
	t.Run("rewrite replaces metadata", func(t *testing.T) {
		p := filepath.Join(dir, "m.txt")
		wantEntries(t, s.upload(p, []byte("v2"), http.Header{"X-Metadata-Version": {"2"}}))
		if got := sandboxenv.ReadMetadata(p); !maps.Equal(got, map[string]string{"version": "2"}) {
			t.Fatalf("stored metadata %v", got)
		}
	})
	t.Run("more than the filesystem holds", func(t *testing.T) {
		// Within the protocol's limits, but beyond one ext4 block: refused as the caller's excess,
		// never reported as a full disk. Filesystems with room for it accept it.
		p := filepath.Join(dir, "big-meta.txt")
		resp := s.upload(p, []byte("x"), http.Header{"X-Metadata-Big": {strings.Repeat("b", maxMetadataTotal-3)}})
		if resp.StatusCode != http.StatusOK {
			wantError(t, resp, http.StatusBadRequest)
		}
	})
	t.Run("none", func(t *testing.T) {
		p := filepath.Join(dir, "plain.txt")
		entries := wantEntries(t, s.upload(p, []byte("x"), nil))
		if entries[0].Metadata != nil || sandboxenv.ReadMetadata(p) != nil {
			t.Fatalf("metadata without headers: %v / %v", entries[0].Metadata, sandboxenv.ReadMetadata(p))
		}
	})
}

func TestUploadMetadataInvalid(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	dir := t.TempDir()
	cases := map[string]http.Header{
		"key too long":    {"X-Metadata-" + strings.Repeat("k", 247): {"v"}},
		"total too large": {"X-Metadata-A": {strings.Repeat("a", 2100)}, "X-Metadata-B": {strings.Repeat("b", 2100)}},
		"non-ASCII value": {"X-Metadata-Name": {"caf\xc3\xa9"}},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			wantError(t, s.upload(p, []byte("x"), h), http.StatusBadRequest)
			if _, err := os.Stat(p); err == nil {
				t.Fatal("file written despite invalid metadata")
			}
		})
	}
	t.Run("longest key is stored", func(t *testing.T) {
		dir := xattrDir(t)
		key := strings.Repeat("k", maxMetadataKey)
		entries := wantEntries(t, s.upload(filepath.Join(dir, "long-key"), []byte("x"), http.Header{"X-Metadata-" + key: {"v"}}))
		if entries[0].Metadata[key] != "v" {
			t.Fatalf("metadata %v", entries[0].Metadata)
		}
	})
}

func TestMetadataFromHeaderLimits(t *testing.T) {
	// Exactly at both limits is accepted (whether a filesystem can store it is another matter).
	key := strings.Repeat("k", maxMetadataKey)
	h := http.Header{"X-Metadata-" + key: {strings.Repeat("v", maxMetadataTotal-maxMetadataKey)}}
	m, err := metadataFromHeader(h)
	if err != nil || len(m[key]) != maxMetadataTotal-maxMetadataKey {
		t.Fatalf("at the limits: %v, %v", m, err)
	}
	h["X-Metadata-X"] = []string{""}
	if _, err := metadataFromHeader(h); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("one byte over: %v", err)
	}
	m, err = metadataFromHeader(http.Header{"X-Metadata-": {"ignored"}, "X-Metadata-Twice": {"first", "second"}, "X-Other": {"y"}})
	if err != nil || !maps.Equal(m, map[string]string{"twice": "first"}) {
		t.Fatalf("got %v, %v", m, err)
	}
}
