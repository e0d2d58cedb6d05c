package kernel

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

// RequireKernel fails the test when ipykernel is not installed.
func requireKernel(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import ipykernel, matplotlib, numpy, pandas").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import ipykernel/matplotlib/numpy/pandas (%v: %s); install them with:\n"+
			"  apt-get install -y python3-ipykernel python3-numpy python3-pandas python3-matplotlib", python, err, out)
	}
}

func startKernel(t *testing.T, cfg Config) *Kernel {
	t.Helper()
	requireKernel(t)
	cfg.Python = python
	cfg.RuntimeDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start kernel: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// output collects everything an execution produced.
type output struct {
	mu      sync.Mutex
	count   int
	stdout  strings.Builder
	stderr  strings.Builder
	results []Result
	errs    []Error
}

func (o *output) callbacks() Callbacks {
	return Callbacks{
		Input: func(n int) { o.mu.Lock(); o.count = n; o.mu.Unlock() },
		Stream: func(s Stream) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if s.Name == "stderr" {
				o.stderr.WriteString(s.Text)
			} else {
				o.stdout.WriteString(s.Text)
			}
		},
		Result: func(r Result) { o.mu.Lock(); o.results = append(o.results, r); o.mu.Unlock() },
		Error:  func(e Error) { o.mu.Lock(); o.errs = append(o.errs, e); o.mu.Unlock() },
	}
}

func run(t *testing.T, k *Kernel, code string) (*output, *Reply) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o := &output{}
	reply, err := k.Execute(ctx, Request{Code: code}, o.callbacks())
	if err != nil {
		t.Fatalf("execute %q: %v", code, err)
	}
	return o, reply
}

func TestExecute(t *testing.T) {
	t.Parallel()
	k := startKernel(t, Config{})

	t.Run("result", func(t *testing.T) {
		o, reply := run(t, k, "1+1")
		if reply.Status != "ok" || len(o.results) != 1 || !o.results[0].Main || o.results[0].Data["text/plain"] != "2" {
			t.Fatalf("reply %+v results %+v", reply, o.results)
		}
		if o.count == 0 || o.count != reply.ExecutionCount {
			t.Fatalf("execution count: input %d reply %d", o.count, reply.ExecutionCount)
		}
	})
	t.Run("print", func(t *testing.T) {
		o, _ := run(t, k, "import sys\nprint('hello world')\nprint('oops', file=sys.stderr)")
		if got := o.stdout.String(); got != "hello world\n" {
			t.Fatalf("stdout %q", got)
		}
		if got := o.stderr.String(); got != "oops\n" {
			t.Fatalf("stderr %q", got)
		}
		if len(o.results) != 0 {
			t.Fatalf("unexpected results %+v", o.results)
		}
	})
	t.Run("exception", func(t *testing.T) {
		o, reply := run(t, k, "raise ValueError('bad value')")
		if reply.Status != "error" || reply.Error == nil || reply.Error.Name != "ValueError" {
			t.Fatalf("reply %+v", reply)
		}
		if len(o.errs) != 1 || o.errs[0].Name != "ValueError" || o.errs[0].Value != "bad value" || len(o.errs[0].Traceback) == 0 {
			t.Fatalf("errors %+v", o.errs)
		}
	})
	t.Run("state", func(t *testing.T) {
		run(t, k, "x = 40")
		o, _ := run(t, k, "x + 2")
		if len(o.results) != 1 || o.results[0].Data["text/plain"] != "42" {
			t.Fatalf("results %+v", o.results)
		}
	})
	t.Run("silent", func(t *testing.T) {
		o, reply := run(t, k, "")
		before := reply.ExecutionCount
		ctx := context.Background()
		if _, err := k.Execute(ctx, Request{Code: "y = 5; y", Silent: true}, o.callbacks()); err != nil {
			t.Fatal(err)
		}
		o, reply = run(t, k, "y")
		if o.results[0].Data["text/plain"] != "5" || reply.ExecutionCount != before+1 {
			t.Fatalf("results %+v count %d (before %d)", o.results, reply.ExecutionCount, before)
		}
	})
}

func TestMatplotlibPNG(t *testing.T) {
	t.Parallel()
	k := startKernel(t, Config{})
	o, reply := run(t, k, "import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=100)\nplt.plot([1, 2, 3], [4, 1, 9])\nplt.show()")
	if reply.Status != "ok" {
		t.Fatalf("reply %+v errors %+v", reply, o.errs)
	}
	if len(o.results) != 1 || o.results[0].Main {
		t.Fatalf("want one display_data, got %+v", o.results)
	}
	b64, ok := o.results[0].Data["image/png"].(string)
	if !ok {
		t.Fatalf("no image/png in %v", o.results[0].Data)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		t.Fatalf("decode base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		t.Fatalf("empty image %v", b)
	}
}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	k := startKernel(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	o := &output{}
	cb := o.callbacks()
	started := make(chan struct{})
	var once sync.Once
	cb.Stream = func(Stream) { once.Do(func() { close(started) }) }
	go func() {
		<-started
		cancel()
	}()
	reply, err := k.Execute(ctx, Request{Code: "import time\nprint('go', flush=True)\ntime.sleep(30)"}, cb)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if reply == nil || reply.Status != "error" || reply.Error.Name != "KeyboardInterrupt" {
		t.Fatalf("reply %+v", reply)
	}
	o, _ = run(t, k, "'still alive'")
	if len(o.results) != 1 || o.results[0].Data["text/plain"] != "'still alive'" {
		t.Fatalf("kernel not usable after interrupt: %+v", o.results)
	}
}

func TestRestartAndClose(t *testing.T) {
	t.Parallel()
	k := startKernel(t, Config{})
	run(t, k, "z = 1")
	if err := k.Restart(context.Background()); err != nil {
		t.Fatalf("restart: %v", err)
	}
	_, reply := run(t, k, "z")
	if reply.Status != "error" || reply.Error.Name != "NameError" {
		t.Fatalf("state survived restart: %+v", reply)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Execute(context.Background(), Request{Code: "1"}, Callbacks{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("execute after close: %v", err)
	}
}

func TestWorkingDirectoryAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := startKernel(t, Config{Dir: dir, Env: []string{"GREETING=hi"}})
	o, _ := run(t, k, "import os\nprint(os.getcwd(), os.environ['GREETING'])")
	if got, want := o.stdout.String(), dir+" hi\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
