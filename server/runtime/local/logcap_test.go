package local

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A log past its cap keeps its newest half after a note; a writer that appends (as envd's output
// does, through the O_APPEND descriptor bubblewrap inherited) goes on at the new end.
func TestTrimLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.log")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var all bytes.Buffer
	for i := range 2000 {
		line := fmt.Sprintf("line %05d of the sandbox's output\n", i)
		all.WriteString(line)
		if _, err := w.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	const limit = 8 << 10

	if dropped, err := trimLog(path, int64(all.Len())); err != nil || dropped != 0 {
		t.Fatalf("a log within its cap was trimmed: %d %v", dropped, err)
	}
	dropped, err := trimLog(path, limit)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if int64(len(got)) > limit {
		t.Errorf("trimmed log has %d bytes, cap %d", len(got), limit)
	}
	note, tail, ok := strings.Cut(string(got), "\n")
	if !ok || !strings.Contains(note, fmt.Sprintf("%d earlier bytes dropped", dropped)) {
		t.Errorf("no note of what was dropped: %q", note)
	}
	if want := all.Bytes()[all.Len()-limit/2:]; tail != string(want) {
		t.Errorf("the newest %d bytes were not kept", limit/2)
	}

	if _, err := w.WriteString("after the trim\n"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if !bytes.HasSuffix(got, []byte(tail+"after the trim\n")) || bytes.IndexByte(got, 0) >= 0 {
		t.Errorf("a write after the trim did not land at the new end (%d bytes)", len(got))
	}
}

// The runtime trims the log of every sandbox it knows.
func TestTrimLogsOfEverySandbox(t *testing.T) {
	r := &Runtime{cfg: Config{MaxLogBytes: 1024}, log: slog.New(slog.DiscardHandler), boxes: map[string]*box{}}
	for _, id := range []string{"big", "small", "nolog"} {
		dir := filepath.Join(t.TempDir(), id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		r.boxes[id] = &box{l: layout{dir: dir}}
	}
	write := func(id string, n int) {
		if err := os.WriteFile(r.boxes[id].l.log(), bytes.Repeat([]byte("x"), n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("big", 1<<20)
	write("small", 100)
	r.trimLogs()
	for id, want := range map[string]func(int64) bool{
		"big":   func(n int64) bool { return n <= 1024 },
		"small": func(n int64) bool { return n == 100 },
	} {
		st, err := os.Stat(r.boxes[id].l.log())
		if err != nil || !want(st.Size()) {
			t.Errorf("%s: log of %d bytes after trimming (%v)", id, st.Size(), err)
		}
	}
}
