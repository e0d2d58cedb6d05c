package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangGuard bounds a test that would otherwise hang forever if the gateway buffered; it is never
// compared against, only there so a failure reports instead of stalling the run.
const hangGuard = 30 * time.Second

// The upstream holds its response open until the client confirms it has the first chunk, so the
// chunk can only arrive if the gateway forwards it before the response ends.
func TestStreamingResponseIsNotBuffered(t *testing.T) {
	h := newHarness(t)
	gotFirst := make(chan struct{})
	h.addPort(h.abc, 49999, "interpreter", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, `{"type":"stdout","text":"first"}`+"\n")
		http.NewResponseController(w).Flush()
		select {
		case <-gotFirst:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"type":"end_of_execution"}`+"\n")
	}))

	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	req := h.request(http.MethodPost, "/execute", "", routing("abc", "49999"), strings.NewReader(`{"code":"print(1)"}`))
	res, err := h.client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("first NDJSON line did not arrive while the response was open: %v", err)
	}
	close(gotFirst)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if first != `{"type":"stdout","text":"first"}`+"\n" || string(rest) != `{"type":"end_of_execution"}`+"\n" {
		t.Fatalf("got %q then %q", first, rest)
	}
}

// envelope frames a Connect streaming message: flags, 4-byte big-endian length, payload.
func envelope(flags byte, payload string) []byte {
	b := make([]byte, 5, 5+len(payload))
	b[0] = flags
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	return append(b, payload...)
}

func readEnvelope(r io.Reader) (byte, string, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, "", err
	}
	payload := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, "", err
	}
	return hdr[0], string(payload), nil
}

// A Connect-style stream with a chunked request body, exchanged message by message in both
// directions: each request message is only sent after the answer to the previous one arrived, so
// this passes only if the gateway streams the request body up and the response down at once.
func TestConnectStreamWithChunkedRequestBody(t *testing.T) {
	h := newHarness(t)
	h.abc.mu.Lock()
	delete(h.abc.ports, EnvdPort)
	h.abc.mu.Unlock()
	h.addPort(h.abc, EnvdPort, "envd-stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(r.TransferEncoding, "chunked") || r.Header.Get("Content-Type") != "application/connect+json" {
			http.Error(w, fmt.Sprintf("want a chunked connect+json body, got %v %q", r.TransferEncoding, r.Header.Get("Content-Type")), 400)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		w.Header().Set("Content-Type", "application/connect+json")
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		for n := 1; ; n++ {
			_, msg, err := readEnvelope(r.Body)
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			_, _ = w.Write(envelope(0, fmt.Sprintf(`{"n":%d,"echo":%s}`, n, msg)))
			_ = rc.Flush()
		}
		_, _ = w.Write(envelope(2, "{}"))
	}))

	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	pr, pw := io.Pipe()
	// The client transport waits for its body writer before giving up; unblock it on timeout.
	stopPipe := context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	defer stopPipe()
	req := h.request(http.MethodPost, "/process.Process/StreamInput", "", routing("abc", "49983"), pr)
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req = req.WithContext(ctx)

	writeMsg := func(payload string) {
		go func() { _, _ = pw.Write(envelope(0, payload)) }()
	}
	writeMsg(`{"i":1}`)
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	for i := 1; i <= 3; i++ {
		flags, msg, err := readEnvelope(res.Body)
		want := fmt.Sprintf(`{"n":%d,"echo":{"i":%d}}`, i, i)
		if err != nil || flags != 0 || msg != want {
			t.Fatalf("message %d: flags %d %q %v, want %q", i, flags, msg, err, want)
		}
		if i < 3 {
			writeMsg(fmt.Sprintf(`{"i":%d}`, i+1))
		} else {
			_ = pw.Close()
		}
	}
	if flags, msg, err := readEnvelope(res.Body); err != nil || flags != 2 || msg != "{}" {
		t.Fatalf("end of stream: flags %d %q %v", flags, msg, err)
	}
}

// A WebSocket handshake (noVNC's websockify) through host routing, then raw bytes both ways over
// the upgraded connection.
func TestWebSocketUpgrade(t *testing.T) {
	h := newHarness(t)
	const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	h.addPort(h.abc, 6080, "novnc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want a websocket upgrade", http.StatusBadRequest)
			return
		}
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + wsGUID))
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]))
		if brw.Flush() != nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			n, err := brw.Read(buf)
			if n > 0 {
				if _, werr := conn.Write(bytes.ToUpper(buf[:n])); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}))

	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(hangGuard))
	host := "6080-abc." + testDomain
	fmt.Fprintf(conn, "GET /websockify HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake answer %d %v", res.StatusCode, res.Header)
	}
	for _, msg := range []string{"hello vnc", "second frame"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.ToUpper(msg) {
			t.Fatalf("echo %q, want %q", got, strings.ToUpper(msg))
		}
	}
	_ = conn.Close()
	if ri := h.nextInfo(); ri.Status != http.StatusSwitchingProtocols || ri.Outcome != OutcomeProxied || ri.Port != 6080 {
		t.Errorf("OnRequest got %+v", ri)
	}
}

// patternReader yields n deterministic bytes without holding them in memory.
type patternReader struct {
	remaining int64
	block     []byte
	off       int
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.remaining {
		b = b[:p.remaining]
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], p.block[p.off:])
		n += c
		p.off = (p.off + c) % len(p.block)
	}
	p.remaining -= int64(n)
	return n, nil
}

func newPatternReader(n int64) *patternReader {
	block := make([]byte, 64<<10+7) // odd size so chunks never line up with buffers
	for i := range block {
		block[i] = byte(i * 31)
	}
	return &patternReader{remaining: n, block: block}
}

// A 256 MiB chunked upload goes through while the process heap (client, gateway and upstream all
// live here) stays within a few tens of MiB of where it started: nothing buffers the body.
func TestLargeUploadIsStreamed(t *testing.T) {
	const size = 256 << 20
	const maxGrowth = 48 << 20

	h := newHarness(t)
	type result struct {
		N   int64  `json:"n"`
		CRC uint32 `json:"crc"`
	}
	h.addPort(h.abc, 7000, "sink", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		crc := crc32.NewIEEE()
		n, err := io.Copy(crc, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(result{N: n, CRC: crc.Sum32()})
	}))
	want := crc32.NewIEEE()
	if _, err := io.Copy(want, newPatternReader(size)); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	})

	req := h.request(http.MethodPost, "/upload", "", routing("abc", "7000"), newPatternReader(size))
	req.ContentLength = -1 // chunked, like the SDK's streamed uploads
	res, body := h.do(req)
	close(stop)
	wg.Wait()

	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var got result
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.N != size || got.CRC != want.Sum32() {
		t.Fatalf("upstream got %d bytes crc %08x, want %d crc %08x", got.N, got.CRC, size, want.Sum32())
	}
	if p := peak.Load(); p > base && p-base > maxGrowth {
		t.Fatalf("heap grew by %d MiB during a %d MiB upload (limit %d MiB)", (p-base)>>20, size>>20, maxGrowth>>20)
	}
	t.Logf("heap peak %d MiB above a %d MiB base", (peak.Load()-min(peak.Load(), base))>>20, base>>20)
}
