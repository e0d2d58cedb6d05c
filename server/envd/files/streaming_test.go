package files

import (
	"compress/gzip"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

// patternPeriod is prime so that the pattern never lines up with buffer sizes: a chunk written at the
// wrong offset is caught.
const patternPeriod = 251

// patternReader yields byte(offset % patternPeriod) forever without holding more than a small block.
type patternReader struct {
	off   int64
	block []byte
}

func newPatternReader() *patternReader {
	block := make([]byte, patternPeriod*256+patternPeriod)
	for i := range block {
		block[i] = byte(i % patternPeriod)
	}
	return &patternReader{block: block}
}

func (r *patternReader) Read(p []byte) (int, error) {
	start := int(r.off % patternPeriod)
	n := copy(p, r.block[start:start+patternPeriod*256])
	r.off += int64(n)
	return n, nil
}

// memoryLimit is how much a transfer of hugeSize bytes may allocate: a fraction of its size, so that
// buffering the file anywhere fails the test.
func memoryLimit() uint64 {
	return min(64<<20, hugeSize/4)
}

// checkStreamed runs transfer and fails if it allocated, or left in use, a good part of the data.
func checkStreamed(t *testing.T, transfer func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	transfer()
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("transfer of %d MiB allocated %.1f MiB; heap in use %.1f -> %.1f MiB",
		hugeSize>>20, float64(allocated)/(1<<20), float64(before.HeapInuse)/(1<<20), float64(after.HeapInuse)/(1<<20))
	if allocated > memoryLimit() {
		t.Errorf("allocated %d bytes for a %d-byte transfer: it is buffered, not streamed", allocated, hugeSize)
	}
	if after.HeapInuse > before.HeapInuse && after.HeapInuse-before.HeapInuse > memoryLimit() {
		t.Errorf("heap in use grew by %d bytes for a %d-byte transfer", after.HeapInuse-before.HeapInuse, hugeSize)
	}
}

// wantPattern checks the size of the uploaded file and samples its content.
func wantPattern(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != hugeSize {
		t.Fatalf("%s is %d bytes, want %d", path, info.Size(), hugeSize)
	}
	buf := make([]byte, 4096)
	for _, off := range []int64{0, 1<<20 + 17, hugeSize / 3, hugeSize - int64(len(buf))} {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		for i, b := range buf {
			if want := byte((off + int64(i)) % patternPeriod); b != want {
				t.Fatalf("%s: byte %d is %d, want %d", path, off+int64(i), b, want)
			}
		}
	}
}

func TestHugeUploadMultipartIsStreamed(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	p := filepath.Join(t.TempDir(), "huge-multipart.bin")
	checkStreamed(t, func() {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			fw, err := mw.CreateFormFile("file", p)
			if err == nil {
				_, err = io.Copy(fw, io.LimitReader(newPatternReader(), hugeSize))
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		resp := s.do(http.MethodPost, s.filesURL(), http.Header{"Content-Type": {mw.FormDataContentType()}}, pr)
		wantEntries(t, resp)
	})
	wantPattern(t, p)
}

func TestHugeUploadOctetStreamIsStreamed(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	p := filepath.Join(t.TempDir(), "huge-raw.bin")
	checkStreamed(t, func() {
		// An io.Reader of unknown length: sent chunked.
		body := io.LimitReader(newPatternReader(), hugeSize)
		resp := s.do(http.MethodPost, s.filesURL("path", p), http.Header{"Content-Type": {"application/octet-stream"}}, body)
		wantEntries(t, resp)
	})
	wantPattern(t, p)
}

func TestHugeDownloadIsStreamed(t *testing.T) {
	s := newTestServer(t, sandboxenv.Defaults{})
	p := filepath.Join(t.TempDir(), "huge-sparse.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: costs no disk and no time to create, reads like any file.
	if err := f.Truncate(hugeSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, ae := range []string{"identity", "gzip"} {
		t.Run(ae, func(t *testing.T) {
			checkStreamed(t, func() {
				resp := s.download(p, http.Header{"Accept-Encoding": {ae}})
				wantStatus(t, resp, http.StatusOK)
				var body io.Reader = resp.Body
				if ae == "gzip" {
					zr, err := gzip.NewReader(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					body = zr
				}
				n, err := io.Copy(io.Discard, body)
				if err != nil {
					t.Fatal(err)
				}
				if n != hugeSize {
					t.Fatalf("downloaded %d bytes, want %d", n, hugeSize)
				}
			})
		})
	}
}
