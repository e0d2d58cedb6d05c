package interpreter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// lineWriter writes one JSON object per line to a streamed response and
// flushes each line. It is safe for concurrent use.
type lineWriter struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	rc    *http.ResponseController
	last  time.Time
	err   error
	ended bool
}

func newLineWriter(w http.ResponseWriter) *lineWriter {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	lw := &lineWriter{w: w, rc: http.NewResponseController(w), last: time.Now()}
	lw.mu.Lock()
	lw.flush()
	lw.mu.Unlock()
	return lw
}

// write sends one line {"type": typ, fields...}; after the first failure
// (client gone) it is a no-op.
func (lw *lineWriter) write(typ string, fields map[string]any) {
	b, err := encodeLine(typ, fields)
	if err != nil {
		b, _ = encodeLine("error", errorFields("SerializationError", fmt.Sprintf("encode output: %v", err), nil))
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil || lw.ended {
		return
	}
	if _, err := lw.w.Write(b); err != nil {
		lw.err = err
		return
	}
	lw.flush()
	lw.last = time.Now()
}

// encodeLine renders one NDJSON line with "type" first and without HTML escaping.
func encodeLine(typ string, fields map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(typ); err != nil {
		return nil, err
	}
	head := append([]byte(`{"type":`), bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	if len(fields) == 0 {
		return append(head, "}\n"...), nil
	}
	buf.Reset()
	if err := enc.Encode(fields); err != nil {
		return nil, err
	}
	// fields encodes as {...}\n: splice its members after the type.
	return append(append(head, ','), buf.Bytes()[1:]...), nil
}

func (lw *lineWriter) flush() {
	if err := lw.rc.Flush(); err != nil && lw.err == nil {
		lw.err = err
	}
}

// end writes the final end_of_execution line; nothing is written after it.
func (lw *lineWriter) end() {
	lw.write("end_of_execution", nil)
	lw.mu.Lock()
	lw.ended = true
	lw.mu.Unlock()
}

// keepalive writes a keepalive line whenever nothing was written for
// interval, until stop is closed.
func (lw *lineWriter) keepalive(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		lw.mu.Lock()
		idle := time.Since(lw.last)
		lw.mu.Unlock()
		if idle >= interval {
			lw.write("keepalive", nil)
			idle = 0
		}
		t.Reset(interval - idle)
	}
}
