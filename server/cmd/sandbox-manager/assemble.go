package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/sandboxstack/terraform-provider-sandbox/server/api"
	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/builtin"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
	"github.com/sandboxstack/terraform-provider-sandbox/server/gateway"
	"github.com/sandboxstack/terraform-provider-sandbox/server/metrics"
	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// app is the assembled manager.
type app struct {
	handler http.Handler
	close   func()
}

func assemble(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) (*app, error) {
	if cfg.runtime == "kube" {
		return assembleKube(ctx, cfg, log, stdout)
	}
	if err := os.MkdirAll(cfg.stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", cfg.stateDir, err)
	}
	if _, err := os.Stat(cfg.envdBin); err != nil {
		return nil, fmt.Errorf("envd binary %s: %w (build it with `make build`, or set --envd-bin)", cfg.envdBin, err)
	}

	keys, err := apikey.New(filepath.Join(cfg.stateDir, "keys.json"))
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	if seed := cfg.apiKeys; seed != "" {
		if err := keys.Seed(splitList(seed)); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.apiKeysFrom, err)
		}
	}
	firstKey, created, err := keys.EnsureOne()
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}

	rt, err := local.New(local.Config{
		StateDir:       filepath.Join(cfg.stateDir, "runtime"),
		EnvdBin:        cfg.envdBin,
		Logger:         log.With("part", "runtime"),
		Templates:      builtin.LocalTemplates(filepath.Dir(cfg.envdBin)),
		DefaultLimits:  cfg.limits.limits(),
		DisableNetwork: cfg.limits.noNetwork,
	})
	if err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}

	hostCPUs, hostMemoryMB := cfg.limits.reported()
	observer := &lateObserver{}
	mgr, err := sandbox.NewManager(sandbox.ManagerConfig{
		Runtime:       rt,
		TemplatesFunc: func() []sandbox.Template { return builtin.Of(rt) },
		StateDir:      filepath.Join(cfg.stateDir, "manager"),
		EnvdVersion:   envd.Version,
		Logger:        log.With("part", "manager"),
		// Sandboxes whose template sets no resources get the runtime's default limits: report those.
		DefaultCPU:         hostCPUs,
		DefaultMemoryMB:    hostMemoryMB,
		DefaultDiskMB:      int(cfg.limits.diskMB),
		Observer:           observer,
		MaxTimeout:         cfg.maxTimeout,
		MaxRunningPerOwner: cfg.maxPerKey,
	})
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("sandbox manager: %w", err)
	}
	m := metrics.New(mgr)
	observer.set(m)

	announceKey(stdout, log, cfg, firstKey, created)
	return front(cfg, log, mgr, keys, rt, m, func() {
		_ = mgr.Close()
		_ = rt.Close()
	}), nil
}

// front is what every runtime shares: the gateway in front of the control plane.
func front(cfg config, log *slog.Logger, mgr *sandbox.Manager, keys *apikey.Store, rt envdDialer, m *metrics.Metrics, closeRuntime func()) *app {
	reach := backends{mgr: mgr, rt: rt}
	gw := gateway.New(gateway.Config{
		Sandboxes: reach,
		Domain:    cfg.domain,
		Logger:    log.With("part", "gateway"),
		OnRequest: m.ObserveGateway,
	})
	controlPlane := http.NewServeMux()
	controlPlane.Handle("GET /metrics", m.Handler())
	controlPlane.Handle("/browser/{id}/", gw.Browser(trafficAccess{keys: keys, admin: apikey.NewAdmin(cfg.adminKey)}.authorizeBrowser))
	controlPlane.Handle("/", api.New(api.Config{
		Sandboxes:   mgr,
		Keys:        keys,
		AdminKey:    cfg.adminKey,
		MaxTimeout:  cfg.maxTimeout,
		Domain:      cfg.domain,
		EnvdVersion: envd.Version,
		Logger:      log.With("part", "api"),
		Observer:    m.ObserveAPI,
	}))
	return &app{
		handler: gw.Dispatch(controlPlane),
		close: func() {
			gw.CloseIdleConnections()
			closeRuntime()
		},
	}
}

// envdDialer reaches a sandbox's envd (local.Runtime over its unix socket, kube.Runtime at the pod IP).
type envdDialer interface {
	DialEnvd(ctx context.Context, id string) (net.Conn, error)
}

// lateObserver forwards to the metrics, which need the manager (their sandbox counter) to exist
// first, while the manager needs its observer at construction.
type lateObserver struct {
	m atomic.Pointer[metrics.Metrics]
}

func (o *lateObserver) set(m *metrics.Metrics) { o.m.Store(m) }

func (o *lateObserver) ObserveCreate(template string, fromPool bool, d time.Duration) {
	if m := o.m.Load(); m != nil {
		m.ObserveCreate(template, fromPool, d)
	}
}

// backends lets the gateway reach sandboxes: envd directly over its unix socket, every other port
// through envd's CONNECT forwarding, so no sandbox port is ever exposed on the host network.
type backends struct {
	mgr *sandbox.Manager
	rt  envdDialer
}

func (b backends) Lookup(id string) (gateway.Backend, bool) {
	sbx, err := b.mgr.Get(context.Background(), id)
	if err != nil {
		return nil, false
	}
	return backend{sbx: sbx, rt: b.rt}, true
}

type backend struct {
	sbx *sandbox.Sandbox
	rt  envdDialer
}

// MaskRequestHost is the sandbox's network.maskRequestHost, or its template's default mask (see
// builtin.MaskRequestHost: Chrome's DevTools endpoint refuses public names).
func (b backend) MaskRequestHost() string {
	if m := b.sbx.Inbound.MaskRequestHost; m != "" {
		return m
	}
	return builtin.MaskRequestHost(b.sbx.Template)
}

func (b backend) DialPort(ctx context.Context, port int) (net.Conn, error) {
	conn, err := b.rt.DialEnvd(ctx, b.sbx.ID)
	if err != nil {
		return nil, err
	}
	if port == sandbox.EnvdPort {
		return conn, nil
	}
	tunnel, err := envd.Forward(ctx, conn, port, b.sbx.AccessToken)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return tunnel, nil
}

// TrafficToken is what a private sandbox's ports other than envd's require. A private sandbox whose
// token cannot be derived (no envd token known) gets one nobody has, so it fails closed.
// AccessToken is the sandbox's envd access token, which the gateway checks on the code interpreter's
// /execute.
func (b backend) AccessToken() string { return b.sbx.AccessToken }

func (b backend) TrafficToken() string {
	if !b.sbx.Inbound.Private {
		return ""
	}
	if b.sbx.TrafficToken != "" {
		return b.sbx.TrafficToken
	}
	return rand.Text()
}

// splitList splits a list of API keys separated by commas or white space (a file may hold one a line).
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}
