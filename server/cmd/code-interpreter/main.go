// Command code-interpreter is the E2B code-interpreter server that runs
// inside code-interpreter sandboxes on port 49999. It runs code in ipykernel
// processes (one per context) and streams the output as NDJSON.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/interpreter"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "code-interpreter:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("code-interpreter", flag.ContinueOnError)
	listen := fs.String("listen", ":49999", "address to serve on")
	python := fs.String("python", "/usr/bin/python3", "python interpreter with ipykernel installed")
	cwd := fs.String("cwd", "/home/user", "working directory of contexts created without one (falls back to the current directory if missing)")
	envdURL := fs.String("envd-url", "http://localhost:49983", "envd base URL for GET /envs; - disables")
	tokenFile := fs.String("access-token-file", "", "file with the envd access token (default: none; each /execute brings the caller's)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The server holds the envd token of every /execute request in memory, and its kernels run sandbox
	// code as the same user: non-dumpable keeps them out of its memory and /proc entries.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the server non-dumpable: %w", err)
	}
	token, err := accessToken(*tokenFile)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// The default kernel starts before the port opens: the sandbox counts as ready once the port
	// accepts connections, and code must then run at once (also from a warm pool).
	srv, err := interpreter.New(ctx, interpreter.Config{
		Python:      *python,
		DefaultCwd:  *cwd,
		EnvdURL:     *envdURL,
		AccessToken: token,
		Logger:      log,
	})
	if err != nil {
		return fmt.Errorf("start code interpreter: %w", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}

	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       640 * time.Second,
		// No write timeout: /execute streams for as long as the code runs.
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("code interpreter listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// accessToken reads the envd token from file ("" = none). Never from the environment, which the
// kernels (sandbox code) would inherit.
func accessToken(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read --access-token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
