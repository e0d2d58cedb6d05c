// Command envd is the agent that runs inside every sandbox. The E2B SDKs drive it on port 49983.
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "envd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("envd", flag.ContinueOnError)
	listen := fs.String("listen", envOr("ENVD_LISTEN", ":49983"), "addresses to serve on, comma-separated: host:port or unix:/path/to.sock (env ENVD_LISTEN)")
	showVersion := fs.Bool("version", false, "print the envd protocol version and exit")
	defaultUser := fs.String("default-user", os.Getenv("ENVD_DEFAULT_USER"), "user that requests act as when they name none (env ENVD_DEFAULT_USER; default root)")
	workdir := fs.String("workdir", os.Getenv("ENVD_WORKDIR"), "directory empty paths resolve to (env ENVD_WORKDIR; default the user's home)")
	logLevel := fs.String("log-level", envOr("ENVD_LOG_LEVEL", "info"), "debug, info, warn or error (env ENVD_LOG_LEVEL)")
	workload := fs.String("workload-cgroup", "", "directory of cgroup procs files (*.procs) that every process envd starts joins first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(envd.Version)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The token comes from the environment, never a flag: flags are visible to every process in ps.
	env := sandboxenv.New(sandboxenv.Defaults{
		AccessToken:    os.Getenv("ENVD_ACCESS_TOKEN"),
		DefaultUser:    *defaultUser,
		DefaultWorkdir: *workdir,
	})
	os.Unsetenv("ENVD_ACCESS_TOKEN")
	if *defaultUser != "" {
		if _, err := env.LookupUser(*defaultUser); err != nil {
			return fmt.Errorf("--default-user: %w", err)
		}
	}

	var listeners []net.Listener
	for _, addr := range strings.Split(*listen, ",") {
		ln, err := listenOn(strings.TrimSpace(addr))
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return err
		}
		listeners = append(listeners, ln)
	}
	srv := envd.New(env, log)
	defer srv.Close()
	if *workload != "" {
		procs, err := filepath.Glob(filepath.Join(*workload, "*.procs"))
		if err != nil || len(procs) == 0 {
			return fmt.Errorf("--workload-cgroup %s: no *.procs files (%v)", *workload, err)
		}
		srv.JoinCgroupsOnStart(procs)
	}
	// HTTP/1.1 as the SDKs speak it over http://, and h2 with prior knowledge for proxies that use it.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	httpSrv := &http.Server{
		Handler:           srv,
		Protocols:         protocols,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       640 * time.Second,
		// No read or write timeout: process and watch streams are long-lived.
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func() { errc <- httpSrv.Serve(ln) }()
		log.Info("envd listening", "addr", ln.Addr().String(), "version", envd.Version)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(shutdownCtx)
	}
	return nil
}

func listenOn(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		_ = os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
