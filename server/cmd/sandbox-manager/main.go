// Command sandbox-manager serves the E2B-compatible control plane and the sandbox gateway on one
// listener, running sandboxes on the local runtime (processes on this machine) or the kube runtime
// (pods on a Kubernetes cluster, state in the Kubernetes API, any number of replicas).
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
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-manager:", err)
		os.Exit(1)
	}
}

const usage = `usage: sandbox-manager serve [flags]

Serves the E2B control plane (REST), the admin API (/admin/), /health, /metrics and the sandbox
gateway on one listener. Every flag has an environment variable (shown in the flag help).
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(stderr, usage)
		return errors.New("expected the subcommand serve")
	}
	cfg, err := parseFlags(args[1:], stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	app, err := assemble(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer app.close()

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	servers := []*http.Server{newHTTPServer(app.handler)}
	errc := make(chan error, 2)
	go func() { errc <- servers[0].Serve(ln) }()
	log.Info("sandbox-manager listening", "addr", ln.Addr().String(), "runtime", cfg.runtime, "domain", cfg.domain)

	if cfg.tlsListen != "" {
		tlsLn, err := net.Listen("tcp", cfg.tlsListen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.tlsListen, err)
		}
		tlsSrv := newHTTPServer(app.handler)
		servers = append(servers, tlsSrv)
		go func() { errc <- tlsSrv.ServeTLS(tlsLn, cfg.tlsCert, cfg.tlsKey) }()
		log.Info("sandbox-manager listening (TLS)", "addr", tlsLn.Addr().String())
	}

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdownCtx)
	}
	return nil
}

// HTTP server limits. There is no read or write timeout: envd streams, code execution and VNC
// sessions are long-lived. A client gets headerTimeout to send its request headers (slow-header
// clients cannot hold connections open), an idle keep-alive connection is closed after idleTimeout
// (E2B's proxy's), and headers are bounded by maxHeaderBytes.
const (
	headerTimeout  = 30 * time.Second
	idleTimeout    = 620 * time.Second
	maxHeaderBytes = 64 << 10
)

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: headerTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes}
}

type config struct {
	listen, tlsListen, tlsCert, tlsKey string
	stateDir, runtime, domain          string
	envdBin, logLevel, publicURL       string
	adminKey                           string        // SANDBOX_ADMIN_KEY or --admin-key-file (never a flag value: it would show in ps)
	apiKeys, apiKeysFrom               string        // keys to accept (SANDBOX_API_KEYS or --api-keys-file) and which of them
	maxTimeout                         time.Duration // longest sandbox lifetime; 0 = no maximum
	maxPerKey                          int           // running sandboxes per API key; 0 = no limit
	kube                               kubeFlags
	limits                             limitFlags
}

// Defaults of the limits: E2B's Pro tier allows 24 h sandboxes and 100 at once per team.
const (
	defaultMaxTimeout = 24 * time.Hour
	defaultMaxPerKey  = 100
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sandbox-manager serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, env, def, help string) {
		fs.StringVar(p, name, envOr(env, def), help+" (env "+env+")")
	}
	str(&c.listen, "listen", "SANDBOX_LISTEN", "127.0.0.1:3000", "address of the listener for the control plane and sandbox traffic")
	str(&c.stateDir, "state-dir", "SANDBOX_STATE_DIR", defaultStateDir(), "directory for keys, pools and sandbox state")
	str(&c.runtime, "runtime", "SANDBOX_RUNTIME", "local", "where sandboxes run: local (this machine) or kube (pods of a Kubernetes cluster)")
	str(&c.domain, "domain", "SANDBOX_DOMAIN", "", "sandbox domain: <port>-<id>.<domain> hosts are routed to sandboxes")
	str(&c.tlsListen, "tls-listen", "SANDBOX_TLS_LISTEN", "", "address of a second, TLS listener (needs --tls-cert and --tls-key)")
	str(&c.tlsCert, "tls-cert", "SANDBOX_TLS_CERT", "", "PEM certificate (chain) for the TLS listener, e.g. the wildcard *.<domain>")
	str(&c.tlsKey, "tls-key", "SANDBOX_TLS_KEY", "", "PEM private key for the TLS listener")
	str(&c.envdBin, "envd-bin", "SANDBOX_ENVD_BIN", defaultEnvdBin(), "envd binary started in every sandbox")
	str(&c.logLevel, "log-level", "SANDBOX_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.publicURL, "public-url", "SANDBOX_PUBLIC_URL", "", "URL clients use to reach this manager (printed in the quick-start lines); default http://<listen>")
	var maxTimeout, maxPerKey, adminKeyFile, apiKeysFile string
	str(&adminKeyFile, "admin-key-file", "SANDBOX_ADMIN_KEY_FILE", "", "file holding the admin key (e.g. a Secret volume's), instead of SANDBOX_ADMIN_KEY; its contents are trimmed")
	str(&apiKeysFile, "api-keys-file", "SANDBOX_API_KEYS_FILE", "", "file holding API keys to accept (comma- or line-separated), instead of SANDBOX_API_KEYS")
	str(&maxTimeout, "max-timeout", "SANDBOX_MAX_TIMEOUT", defaultMaxTimeout.String(), "longest sandbox lifetime a request may ask for (create, connect, set timeout), e.g. 1h; 0 means no maximum")
	str(&maxPerKey, "max-sandboxes-per-key", "SANDBOX_MAX_SANDBOXES_PER_KEY", strconv.Itoa(defaultMaxPerKey), "sandboxes one API key may run at once (more get 429); 0 means no limit")
	c.kube.register(fs)
	c.limits.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.maxTimeout, err = time.ParseDuration(maxTimeout); err != nil || c.maxTimeout < 0 {
		return c, fmt.Errorf("--max-timeout %q: want a duration such as 1h or 30m (0 for no maximum)", maxTimeout)
	}
	if c.maxPerKey, err = strconv.Atoi(maxPerKey); err != nil || c.maxPerKey < 0 {
		return c, fmt.Errorf("--max-sandboxes-per-key %q: want a whole number ≥ 0 (0 for no limit)", maxPerKey)
	}
	var adminFrom string
	if c.adminKey, adminFrom, err = envOrFile("SANDBOX_ADMIN_KEY", "--admin-key-file", adminKeyFile); err != nil {
		return c, err
	}
	if adminKeyFile != "" && c.adminKey == "" {
		return c, fmt.Errorf("--admin-key-file %s is empty", adminKeyFile)
	}
	if err := checkAdminKey(c.adminKey, adminFrom); err != nil {
		return c, err
	}
	if c.apiKeys, c.apiKeysFrom, err = envOrFile("SANDBOX_API_KEYS", "--api-keys-file", apiKeysFile); err != nil {
		return c, err
	}
	if c.runtime != "local" && c.runtime != "kube" {
		return c, fmt.Errorf("--runtime %q: want local or kube", c.runtime)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") || c.tlsListen != "" && c.tlsCert == "" {
		return c, errors.New("TLS needs --tls-listen, --tls-cert and --tls-key together")
	}
	if c.tlsCert != "" && c.tlsListen == "" {
		c.tlsListen = ":3443"
	}
	return c, nil
}

// envOrFile is a secret given either in the environment variable env or in the file of flag (path;
// its contents trimmed), never both; from names where it came from, for messages.
func envOrFile(env, flag, path string) (value, from string, err error) {
	value = os.Getenv(env)
	if path == "" {
		return value, env, nil
	}
	if value != "" {
		return "", "", fmt.Errorf("both %s and %s (or %s_FILE) are set; set one of them", env, flag, env)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", flag, err)
	}
	return strings.TrimSpace(string(data)), flag + " " + path, nil
}

func defaultStateDir() string {
	if dir, err := os.UserHomeDir(); err == nil && dir != "" {
		return filepath.Join(dir, ".local", "state", "sandboxstack")
	}
	return "/var/lib/sandboxstack"
}

// defaultEnvdBin is envd beside this binary (make build puts both in bin/).
func defaultEnvdBin() string {
	self, err := os.Executable()
	if err != nil {
		return "envd"
	}
	return filepath.Join(filepath.Dir(self), "envd")
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}
