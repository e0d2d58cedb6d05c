package interpreter

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFor returns Python code that waits (up to 30 s) for a file to exist.
func waitFor(path string) string {
	return fmt.Sprintf("import os as _o, time as _t\n_d = _t.time() + 30\n"+
		"while not _o.path.exists(%q):\n"+
		"    if _t.time() > _d: raise TimeoutError('gave up waiting for %s')\n"+
		"    _t.sleep(0.01)\n", path, filepath.Base(path))
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExecuteBasics(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})

	t.Run("issue script keeps state", func(t *testing.T) {
		if e := ts.code(t, "print('hello world')"); e.stdout != "hello world\n" || len(e.errors) > 0 {
			t.Fatalf("stdout %q errors %v", e.stdout, e.errors)
		}
		ts.code(t, "a = 1")
		ts.code(t, "b = 2")
		if e := ts.code(t, "print(a + b)"); e.stdout != "3\n" {
			t.Fatalf("stdout %q", e.stdout)
		}
	})
	t.Run("bubble sort", func(t *testing.T) {
		e := ts.code(t, `def bubble_sort(xs):
    xs = list(xs)
    for i in range(len(xs)):
        for j in range(len(xs) - 1 - i):
            if xs[j] > xs[j + 1]:
                xs[j], xs[j + 1] = xs[j + 1], xs[j]
    return xs

print(bubble_sort([5, 3, 7, 1, 4, 6, 2]))`)
		if e.stdout != "[1, 2, 3, 4, 5, 6, 7]\n" {
			t.Fatalf("stdout %q", e.stdout)
		}
	})
	t.Run("last expression", func(t *testing.T) {
		e := ts.code(t, "x = 20\nx * 2 + 2")
		if e.text() != "42" || len(e.results) != 1 {
			t.Fatalf("results %v", e.results)
		}
		if e.count == 0 {
			t.Fatalf("no number_of_executions line in %v", e.lines)
		}
		if e := ts.code(t, "'quoted'"); e.text() != "quoted" {
			t.Fatalf("text %q", e.text())
		}
	})
	t.Run("line order", func(t *testing.T) {
		e := ts.code(t, "print('hello'); 1+1")
		var types []string
		for _, l := range e.lines {
			types = append(types, l.typ())
		}
		if got := strings.Join(types, ","); got != "number_of_executions,stdout,result,end_of_execution" {
			t.Fatalf("line types %s", got)
		}
		if e.lines[1].str("timestamp") == "" {
			t.Fatalf("stdout without timestamp: %v", e.lines[1])
		}
	})
	t.Run("matplotlib png", func(t *testing.T) {
		e := ts.code(t, "import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=100)\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.show()")
		if len(e.results) != 1 || e.results[0]["is_main_result"] != false {
			t.Fatalf("results %v errors %v", e.results, e.errors)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.results[0].str("png")))
		if err != nil {
			t.Fatalf("png field is not base64: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("decode png: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 400 || b.Dy() != 300 {
			t.Fatalf("image is %dx%d, want 400x300", b.Dx(), b.Dy())
		}
	})
	t.Run("pandas html", func(t *testing.T) {
		e := ts.code(t, "import pandas as pd\npd.DataFrame({'name': ['a', 'b'], 'n': [1, 2]})")
		if len(e.results) != 1 {
			t.Fatalf("results %v errors %v", e.results, e.errors)
		}
		html := e.results[0].str("html")
		if !strings.Contains(html, "<table") || !strings.Contains(html, "<td>a</td>") {
			t.Fatalf("html %q", html)
		}
		if e.results[0].str("text") == "" {
			t.Fatalf("no text in %v", e.results[0])
		}
	})
	t.Run("exception", func(t *testing.T) {
		e := ts.code(t, "print('before')\nraise ValueError('bad input')")
		if len(e.errors) != 1 {
			t.Fatalf("errors %v", e.errors)
		}
		got := e.errors[0]
		if got.str("name") != "ValueError" || got.str("value") != "bad input" || !strings.Contains(got.str("traceback"), "ValueError") {
			t.Fatalf("error %v", got)
		}
		if e.stdout != "before\n" {
			t.Fatalf("stdout %q", e.stdout)
		}
	})
	t.Run("stderr", func(t *testing.T) {
		if e := ts.code(t, "import sys; print('warn', file=sys.stderr)"); e.stderr != "warn\n" {
			t.Fatalf("stderr %q; lines %v", e.stderr, e.lines)
		}
	})
	t.Run("envd variables", func(t *testing.T) {
		if e := ts.code(t, "import os; print(os.environ.get('FROM_ENVD'))"); e.stdout != "envd-value\n" {
			t.Fatalf("stdout %q", e.stdout)
		}
	})
	t.Run("env_vars set and reverted", func(t *testing.T) {
		e := ts.run(t, map[string]any{
			"code":     "import os; print(os.environ['PER_RUN'], os.environ['FROM_ENVD'])",
			"env_vars": map[string]string{"PER_RUN": "one", "FROM_ENVD": "overridden"},
		})
		if e.stdout != "one overridden\n" {
			t.Fatalf("stdout %q errors %v", e.stdout, e.errors)
		}
		e = ts.code(t, "import os; print(os.environ.get('PER_RUN'), os.environ.get('FROM_ENVD'))")
		if e.stdout != "None envd-value\n" {
			t.Fatalf("env_vars not reverted: %q", e.stdout)
		}
	})
}

func TestExecuteRequestErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	for _, tc := range []struct {
		body   map[string]any
		status int
		msg    string
	}{
		{map[string]any{"code": "1", "context_id": "nope"}, http.StatusNotFound, "Context nope not found"},
		{map[string]any{"code": "1", "context_id": "x", "language": "python"}, http.StatusBadRequest, "Only one of"},
		{map[string]any{"code": "1", "language": "Ruby"}, http.StatusBadRequest, `unsupported language "ruby": supported languages are python, bash`},
		{map[string]any{"code": "1", "language": "js"}, http.StatusBadRequest, `"javascript"`},
	} {
		status, body := ts.do(t, http.MethodPost, "/execute", tc.body)
		if status != tc.status || !strings.Contains(string(body), tc.msg) {
			t.Errorf("%v: got %d %q, want %d containing %q", tc.body, status, body, tc.status, tc.msg)
		}
	}
	if status, body := ts.do(t, http.MethodGet, "/health", nil); status != http.StatusOK || string(body) != "\"OK\"\n" {
		t.Errorf("health: %d %q", status, body)
	}
}

func TestExecuteStreamsBeforeEnd(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	release := filepath.Join(t.TempDir(), "release")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ts.start(t, ctx, map[string]any{"code": "print('first', flush=True)\n" + waitFor(release) + "print('second')"})
	// The code cannot finish before the file exists, so this line was streamed early.
	if l := s.until("stdout"); l.str("text") != "first\n" {
		t.Fatalf("first stdout %v", l)
	}
	touch(t, release)
	if e := s.collect(); e.stdout != "second\n" || len(e.errors) > 0 {
		t.Fatalf("rest: stdout %q errors %v", e.stdout, e.errors)
	}
}

func TestExecuteKeepalive(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{KeepaliveInterval: 50 * time.Millisecond})
	release := filepath.Join(t.TempDir(), "release")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ts.start(t, ctx, map[string]any{"code": waitFor(release) + "'done'"})
	s.until("keepalive")
	touch(t, release)
	if e := s.collect(); e.text() != "done" {
		t.Fatalf("results %v errors %v", e.results, e.errors)
	}
}

func TestExecuteClientCancelInterrupts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	ts.code(t, "kept = 'yes'")
	ctx, cancel := context.WithCancel(context.Background())
	s := ts.start(t, ctx, map[string]any{"code": "import time\nprint('sleeping', flush=True)\ntime.sleep(30)\nkept = 'no'"})
	s.until("stdout")
	cancel()
	// The next execution waits for the interrupted one, then sees the old state.
	e := ts.code(t, "kept")
	if e.text() != "yes" || len(e.errors) > 0 {
		t.Fatalf("after cancel: results %v errors %v", e.results, e.errors)
	}
}
