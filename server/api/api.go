// Package api serves the E2B control plane (REST+JSON, spec §2) that the unchanged E2B SDKs call,
// plus the manager's own admin API under /admin/.
//
// Every control-plane route but GET /health needs an X-API-Key issued by the apikey.Store, or the
// admin key. Each API key is an E2B team: it sees and manages only the sandboxes it created (the
// key's id is recorded as the sandbox's OwnerKey); another key's sandbox is answered exactly as a
// missing one (404), so IDs cannot be probed. The admin key sees and manages all. Errors are E2B's JSON body {"code": <status>, "message": …}, which the
// SDKs rely on (kill() → false and SandboxNotFoundError key off body.code 404).
//
// Both API generations are served: e2b ≥ 2.51 creates with POST /v2/sandboxes (default timeout
// 300 s) and connects with /v2/sandboxes/{id}/connect; ≤ 2.50 uses /sandboxes (default 15 s, always
// sends timeout) and /sandboxes/{id}/connect. Pause, resume, network updates, fork, snapshots, logs
// and template builds are not supported and answer JSON 501 (404 first for an unknown sandbox).
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Sandboxes is what the control plane needs from the sandbox manager (*sandbox.Manager).
type Sandboxes interface {
	Create(ctx context.Context, req sandbox.CreateRequest) (*sandbox.Sandbox, error)
	Get(ctx context.Context, id string) (*sandbox.Sandbox, error)
	Kill(ctx context.Context, id string) error
	SetTimeout(ctx context.Context, id string, d time.Duration) error
	Connect(ctx context.Context, id string, timeout time.Duration) (*sandbox.Sandbox, error)
	List(ctx context.Context, f sandbox.ListFilter) ([]sandbox.Sandbox, string, error)
	Templates() []sandbox.Template
	Metrics(ctx context.Context, id string) ([]sandbox.Metric, error)
	PutPool(ctx context.Context, p sandbox.Pool) (sandbox.Pool, error)
	GetPool(ctx context.Context, name string) (sandbox.Pool, error)
	ListPools(ctx context.Context) ([]sandbox.Pool, error)
	DeletePool(ctx context.Context, name string) error
}

// Observer is told about every answered request: the route pattern (e.g. "POST /v2/sandboxes"),
// the status written and how long it took.
type Observer func(route string, status int, elapsed time.Duration)

// Config configures the control plane.
type Config struct {
	Sandboxes Sandboxes
	// Keys verifies X-API-Key and backs the admin key endpoints. Nil rejects every API key.
	Keys *apikey.Store
	// AdminKey guards /admin/; empty disables the admin API (403).
	AdminKey string
	// Domain is returned as the sandboxes' `domain` (null when empty: the SDK uses E2B_DOMAIN).
	Domain string
	// MaxTimeout is the longest sandbox lifetime a request may ask for (create, connect, set timeout,
	// refresh, a pool's timeout); longer ones get 400. 0 means only the overflow bound (2^31 s).
	MaxTimeout time.Duration
	// EnvdVersion is reported when the manager leaves a sandbox's EnvdVersion empty.
	// Empty uses DefaultEnvdVersion.
	EnvdVersion string
	Logger      *slog.Logger
	Observer    Observer
}

// DefaultEnvdVersion is the envd protocol version reported when neither the sandbox nor the config
// names one: the version server/envd implements. The SDK requires a valid semver.
const DefaultEnvdVersion = envd.Version

// ClientID is E2B's constant, deprecated clientID.
const ClientID = "6532622b"

// maxBody caps control-plane request bodies.
const maxBody = 1 << 20

type server struct {
	sandboxes   Sandboxes
	keys        *apikey.Store
	admin       apikey.Admin
	domain      string
	envdVersion string
	maxTimeout  time.Duration
	log         *slog.Logger
	observe     Observer
	mux         *http.ServeMux
}

// New returns the control-plane handler.
func New(cfg Config) http.Handler {
	s := &server{
		sandboxes:   cfg.Sandboxes,
		keys:        cfg.Keys,
		admin:       apikey.NewAdmin(cfg.AdminKey),
		domain:      cfg.Domain,
		envdVersion: cfg.EnvdVersion,
		maxTimeout:  cfg.MaxTimeout,
		log:         cfg.Logger,
		observe:     cfg.Observer,
		mux:         http.NewServeMux(),
	}
	if s.envdVersion == "" {
		s.envdVersion = DefaultEnvdVersion
	}
	if s.maxTimeout <= 0 || s.maxTimeout > maxTimeoutSeconds*time.Second {
		s.maxTimeout = maxTimeoutSeconds * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.routes()
	return s.mux
}

// access says who may call a route.
type access int

const (
	public access = iota // no credentials
	apiKey               // X-API-Key
	admin                // the admin key
)

func (s *server) routes() {
	s.handle("GET /health", public, s.health)

	// Sandboxes (§2.3.1–2.3.8).
	s.handle("POST /v2/sandboxes", apiKey, s.createV2)
	s.handle("POST /sandboxes", apiKey, s.createV1)
	s.handle("POST /v2/sandboxes/{id}/connect", apiKey, s.connectV2)
	s.handle("POST /sandboxes/{id}/connect", apiKey, s.connectV1)
	s.handle("GET /v2/sandboxes", apiKey, s.listV2)
	s.handle("GET /sandboxes", apiKey, s.listV1)
	s.handle("GET /sandboxes/{id}", apiKey, s.getSandbox)
	s.handle("DELETE /sandboxes/{id}", apiKey, s.kill)
	s.handle("POST /sandboxes/{id}/timeout", apiKey, s.setTimeout)
	s.handle("POST /sandboxes/{id}/refreshes", apiKey, s.refresh)
	s.handle("GET /sandboxes/{id}/metrics", apiKey, s.metrics)
	s.handle("GET /sandboxes/metrics", apiKey, s.metricsMany)

	// Features this manager does not have (§2.3.7, 2.3.9–2.3.12).
	s.handle("POST /sandboxes/{id}/pause", apiKey, s.unsupported(msgPause))
	s.handle("POST /sandboxes/{id}/resume", apiKey, s.unsupported(msgPause))
	s.handle("PUT /sandboxes/{id}/network", apiKey, s.unsupported(msgNetwork))
	s.handle("POST /sandboxes/{id}/fork", apiKey, s.unsupported(msgFork))
	s.handle("POST /sandboxes/{id}/snapshots", apiKey, s.unsupported(msgSnapshot))
	s.handle("GET /sandboxes/{id}/logs", apiKey, s.unsupported(msgLogs))
	s.handle("GET /v2/sandboxes/{id}/logs", apiKey, s.unsupported(msgLogs))
	s.handle("GET /snapshots", apiKey, s.listSnapshots)

	// Templates (§2.3.13, read-only).
	s.handle("GET /templates", apiKey, s.listTemplates)
	s.handle("GET /templates/aliases/{alias}", apiKey, s.templateAlias)
	s.handle("DELETE /templates/{id}", apiKey, s.deleteTemplate)
	s.handle("POST /v3/templates", apiKey, s.noBuilds)
	s.handle("POST /v2/templates", apiKey, s.noBuilds)
	s.handle("POST /templates", apiKey, s.noBuilds)

	// Admin API.
	s.handle("GET /admin/templates", admin, s.listTemplates)
	s.handle("GET /admin/pools", admin, s.listPools)
	s.handle("GET /admin/pools/{name}", admin, s.getPool)
	s.handle("PUT /admin/pools/{name}", admin, s.putPool)
	s.handle("DELETE /admin/pools/{name}", admin, s.deletePool)
	s.handle("GET /admin/keys", admin, s.listKeys)
	s.handle("POST /admin/keys", admin, s.createKey)
	s.handle("GET /admin/keys/{id}", admin, s.getKey)
	s.handle("DELETE /admin/keys/{id}", admin, s.deleteKey)

	s.handle("/", public, s.notFound)
}

// handle registers h behind the access check, request logging and the observer.
func (s *server) handle(pattern string, a access, h http.HandlerFunc) {
	var inner http.Handler = h
	switch a {
	case apiKey:
		inner = s.requireAPIKey(h)
	case admin:
		inner = s.requireAdmin(h)
	}
	s.mux.Handle(pattern, s.instrument(pattern, inner))
}

func (s *server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		if s.observe != nil {
			s.observe(route, status, elapsed)
		}
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "api request",
			slog.String("route", route), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Duration("elapsed", elapsed))
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
}
