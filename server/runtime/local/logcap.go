package local

import (
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultMaxLogBytes caps each sandbox's log (envd's and bubblewrap's output) when Config.MaxLogBytes
// is 0. Code in a sandbox can write to envd's output, so without a cap it could fill the host's disk.
const DefaultMaxLogBytes = 4 << 20

// logCheckInterval is how often logs are measured. The cap holds at these moments: in between, a
// log may pass it by what the sandbox writes in one interval (its disk I/O is not the log's to bound).
const logCheckInterval = time.Second

// trimLog keeps the log at path within limit bytes: when it is longer, its last limit/2 bytes (after a
// line saying how much was dropped) replace it in place. Writers append (O_APPEND), so they go on
// writing at the new end; a line being written at that very moment may be cut.
func trimLog(path string, limit int64) (dropped int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size <= limit {
		return 0, nil
	}
	keep := limit / 2
	tail := make([]byte, keep)
	n, err := f.ReadAt(tail, size-keep)
	if err != nil && err != io.EOF {
		return 0, err
	}
	tail = tail[:n]
	dropped = size - int64(n)
	note := fmt.Appendf(nil, "[sandbox log: %d earlier bytes dropped, the log is capped at %d bytes]\n", dropped, limit)
	if _, err := f.WriteAt(append(note, tail...), 0); err != nil {
		return 0, err
	}
	if err := f.Truncate(int64(len(note) + len(tail))); err != nil {
		return 0, err
	}
	return dropped, nil
}

// capLogs trims every sandbox's log to Config.MaxLogBytes once per logCheckInterval until stop closes.
func (r *Runtime) capLogs(stop <-chan struct{}) {
	t := time.NewTicker(logCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.trimLogs()
		}
	}
}

// trimLogs trims the log of each sandbox the runtime knows.
func (r *Runtime) trimLogs() {
	r.mu.Lock()
	logs := make(map[string]string, len(r.boxes))
	for id, b := range r.boxes {
		logs[id] = b.l.log()
	}
	r.mu.Unlock()
	for id, path := range logs {
		dropped, err := trimLog(path, r.cfg.MaxLogBytes)
		switch {
		case err != nil && !os.IsNotExist(err):
			r.log.Warn("local runtime: cap sandbox log", "id", id, "err", err)
		case dropped > 0:
			r.log.Info("local runtime: sandbox log capped", "id", id, "dropped_bytes", dropped)
		}
	}
}
