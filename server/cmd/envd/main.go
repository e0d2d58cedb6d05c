// Command envd is the agent that runs inside every sandbox. The E2B SDKs drive it on port 49983.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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
	listen := fs.String("listen", envOr("ENVD_LISTEN", "127.0.0.1:49983"), "addresses to serve on, comma-separated: host:port or unix:/path/to.sock (env ENVD_LISTEN)")
	tokenFD := fs.Int("access-token-fd", -1, "read the access token from this file descriptor (a pipe the runtime wrote it to), then close it")
	tokenFile := fs.String("access-token-file", "", "read the access token from this file (a root-only Secret mount)")
	loopbackEnvs := fs.Bool("loopback-envs", false, "answer GET /envs from the loopback without the token: only inside a sandbox, whose loopback is its own (the code interpreter reads /envs there)")
	insecureNoToken := fs.Bool("insecure-no-token", false, "serve without an access token until /init sets one: for a local debug run only, as anyone who reaches the port acts as root")
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

	// A process of the sandbox that could read envd's memory or /proc/<pid>/environ would hold the
	// token: non-dumpable makes /proc/<envd> root-owned and closed to processes without
	// CAP_SYS_PTRACE, which sandboxes do not have. Children are dumpable again after their exec.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make envd non-dumpable: %w", err)
	}
	// The token never comes from the environment or a flag: both are readable through /proc by
	// whatever inherits or inspects them.
	if _, set := os.LookupEnv("ENVD_ACCESS_TOKEN"); set {
		return errors.New("ENVD_ACCESS_TOKEN is not read: every process that inherits or inspects the environment would see the token; use --access-token-fd or --access-token-file")
	}
	token, err := readToken(*tokenFD, *tokenFile)
	if err != nil {
		return err
	}
	if token == "" && !*insecureNoToken {
		return errors.New("no access token: pass --access-token-fd or --access-token-file (or --insecure-no-token for a local debug run)")
	}
	if token == "" {
		log.Warn("envd serves without an access token: whoever reaches its port acts as root in the sandbox (--insecure-no-token)")
	}
	env := sandboxenv.New(sandboxenv.Defaults{
		AccessToken:    token,
		DefaultUser:    *defaultUser,
		DefaultWorkdir: *workdir,
	})
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
	var opts []envd.Option
	if *loopbackEnvs {
		opts = append(opts, envd.WithLoopbackEnvs())
	}
	srv := envd.New(env, log, opts...)
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

// readToken reads the access token from fd (closed afterwards) or from file; "" when neither is set.
func readToken(fd int, file string) (string, error) {
	switch {
	case fd >= 0 && file != "":
		return "", errors.New("--access-token-fd and --access-token-file are exclusive")
	case fd >= 0:
		f := os.NewFile(uintptr(fd), "access-token")
		if f == nil {
			return "", fmt.Errorf("--access-token-fd %d: not a descriptor", fd)
		}
		defer f.Close()
		return readTokenFrom(f, fmt.Sprintf("--access-token-fd %d", fd))
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--access-token-file: %w", err)
		}
		defer f.Close()
		return readTokenFrom(f, "--access-token-file "+file)
	}
	return "", nil
}

func readTokenFrom(r io.Reader, what string) (string, error) {
	const max = 4096
	raw, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if len(raw) > max {
		return "", fmt.Errorf("%s: longer than %d bytes", what, max)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", fmt.Errorf("%s: empty token", what)
	}
	return token, nil
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
