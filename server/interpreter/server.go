// Package interpreter is the E2B code-interpreter server (port 49999): it
// runs code in Jupyter kernels (one per context, driven directly over
// ZeroMQ by package kernel, no Jupyter Server) and streams the output as
// NDJSON (spec §4).
//
// Languages: python, and bash. Debian packages no bash kernel, so a bash
// context is an ipykernel that feeds each cell to one persistent bash
// process (bash_helper.py): variables, functions, exports and the working
// directory persist; interrupting a bash cell ends that bash process (the
// next cell starts a new one in the same directory); a non-zero exit status
// of the cell is reported as a BashExit error. Other languages are refused
// with 400.
package interpreter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/interpreter/kernel"
)

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// Python is the interpreter with ipykernel (default /usr/bin/python3).
	Python string
	// DefaultCwd is the working directory of contexts created without one
	// (default /home/user, or this process's directory if that is missing).
	DefaultCwd string
	// EnvdURL is envd's base URL for GET /envs (default http://localhost:49983;
	// "-" disables fetching).
	EnvdURL string
	// AccessToken is sent to envd as X-Access-Token when the /execute
	// request carries none.
	AccessToken string
	// KeepaliveInterval is the silence after which /execute sends a
	// keepalive line (default 5s).
	KeepaliveInterval time.Duration
	// InterruptGrace is how long an interrupted execution may take to stop
	// (default 5s).
	InterruptGrace time.Duration
	// RuntimeDir holds kernel connection files (default os.TempDir()).
	RuntimeDir string
	// HTTPClient talks to envd (default: 5s timeout).
	HTTPClient *http.Client
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Python == "" {
		c.Python = "/usr/bin/python3"
	}
	if c.DefaultCwd == "" {
		c.DefaultCwd = "/home/user"
	}
	if fi, err := os.Stat(c.DefaultCwd); err != nil || !fi.IsDir() {
		if wd, err := os.Getwd(); err == nil {
			c.DefaultCwd = wd
		}
	}
	switch c.EnvdURL {
	case "":
		c.EnvdURL = "http://localhost:49983"
	case "-":
		c.EnvdURL = ""
	}
	if c.KeepaliveInterval == 0 {
		c.KeepaliveInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server holds the contexts and serves the HTTP API.
type Server struct {
	cfg    Config
	log    *slog.Logger
	envs   *envSource
	kernel kernel.Config

	mu       sync.Mutex
	contexts map[string]*execContext
	defaults map[string]*execContext // language → default context
	closed   bool

	defaultsMu sync.Mutex // serialises lazy creation of default contexts
}

// New starts a server with its default Python context ready and prefetches
// envd's environment variables in the background.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:  cfg,
		log:  cfg.Logger,
		envs: newEnvSource(cfg.EnvdURL, cfg.AccessToken, cfg.HTTPClient),
		kernel: kernel.Config{
			Python:         cfg.Python,
			RuntimeDir:     cfg.RuntimeDir,
			InterruptGrace: cfg.InterruptGrace,
			Logger:         cfg.Logger,
		},
		contexts: map[string]*execContext{},
		defaults: map[string]*execContext{},
	}
	go func() {
		if _, err := s.envs.get(context.WithoutCancel(ctx), ""); err != nil {
			s.log.Info("envd environment variables not available yet", "err", err)
		}
	}()
	if _, err := s.defaultContext(ctx, "python"); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("POST /execute", s.handleExecute)
	mux.HandleFunc("POST /contexts", s.handleCreateContext)
	mux.HandleFunc("GET /contexts", s.handleListContexts)
	mux.HandleFunc("POST /contexts/{id}/restart", s.handleRestartContext)
	mux.HandleFunc("DELETE /contexts/{id}", s.handleDeleteContext)
	return mux
}

// Close shuts every kernel down.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*execContext, 0, len(s.contexts))
	for _, c := range s.contexts {
		all = append(all, c)
	}
	s.contexts = map[string]*execContext{}
	s.defaults = map[string]*execContext{}
	s.mu.Unlock()
	var errs []error
	for _, c := range all {
		errs = append(errs, c.close())
	}
	return errors.Join(errs...)
}

func (s *Server) createContext(ctx context.Context, language, cwd string) (*execContext, error) {
	lang, err := lookupLanguage(language)
	if err != nil {
		return nil, err
	}
	if cwd == "" {
		cwd = s.cfg.DefaultCwd
	}
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		return nil, badRequest("cwd %q is not a directory", cwd)
	}
	c, err := newExecContext(ctx, Context{ID: newContextID(), Language: lang.name(), Cwd: cwd}, lang, s.kernel)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.close()
		return nil, errors.New("server is shutting down")
	}
	s.contexts[c.ID] = c
	c.log.Info("context created", "cwd", c.Cwd)
	return c, nil
}

// defaultContext returns (creating it on first use) the default context of
// a normalised language.
func (s *Server) defaultContext(ctx context.Context, language string) (*execContext, error) {
	s.defaultsMu.Lock()
	defer s.defaultsMu.Unlock()
	s.mu.Lock()
	c := s.defaults[language]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := s.createContext(ctx, language, "")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.defaults[language] = c
	s.mu.Unlock()
	return c, nil
}

func (s *Server) lookup(id string) (*execContext, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contexts[id]
	if c == nil {
		return nil, contextNotFound(id)
	}
	return c, nil
}

func (s *Server) list() []Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Context, 0, len(s.contexts))
	for _, c := range s.contexts {
		out = append(out, c.Context)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) remove(id string) error {
	s.mu.Lock()
	c := s.contexts[id]
	delete(s.contexts, id)
	for lang, d := range s.defaults {
		if d == c {
			delete(s.defaults, lang)
		}
	}
	s.mu.Unlock()
	if c == nil {
		return contextNotFound(id)
	}
	c.log.Info("context removed")
	return c.close()
}

// newContextID returns a random UUID (version 4), like Jupyter kernel ids.
func newContextID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
