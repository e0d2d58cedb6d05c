package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout is the lifetime of a sandbox created or connected without a timeout (E2B's default).
const DefaultTimeout = 300 * time.Second

// Reserved metadata keys. The manager stores its own bookkeeping in Spec.Metadata, which runtimes keep
// across manager restarts; users never see these keys and cannot set them.
const (
	reservedPrefix = "sandboxstack."
	metaPool       = reservedPrefix + "pool"              // set on warm pool members: the pool's name
	metaAlias      = reservedPrefix + "alias"             // the template name the client asked for
	metaOwner      = reservedPrefix + "owner"             // the creating API key's hash id
	metaPrivate    = reservedPrefix + "private"           // "true": network.allowPublicTraffic=false
	metaMaskHost   = reservedPrefix + "mask-request-host" // network.maskRequestHost
)

// Observer receives measurements of the manager's work (Prometheus, later). Any field may be nil.
type Observer interface {
	// ObserveCreate is called after each successful Create with how long it took, and whether a warm
	// pool member was claimed.
	ObserveCreate(template string, fromPool bool, d time.Duration)
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	Runtime Runtime
	// Templates are the templates offered. TemplatesFunc, when set, is asked instead on every
	// resolution, so that availability reported by the runtime (e.g. local.Runtime.Templates) is fresh.
	Templates     []Template
	TemplatesFunc func() []Template
	// StateDir keeps the pools (pools.json) and the manager's view of its sandboxes (sandboxes.json)
	// across restarts; "" keeps them in memory only.
	StateDir    string
	EnvdVersion string
	Logger      *slog.Logger
	// Now is the clock; nil means time.Now. Tests use it to control expiry.
	Now func() time.Time
	// DefaultCPU, DefaultMemoryMB and DefaultDiskMB are reported for templates that do not say.
	DefaultCPU      int
	DefaultMemoryMB int
	DefaultDiskMB   int
	// ClientID is reported as the sandboxes' clientID (a legacy E2B field); "" means E2B's constant "6532622b".
	ClientID string
	Observer Observer
	// ReapInterval is how often expired sandboxes are looked for; 0 means 1s.
	ReapInterval time.Duration
	// RefillInterval is how often pools are checked beside the checks that claims and pool changes
	// trigger (it retries failed warm starts); 0 means 2s.
	RefillInterval time.Duration
	// Store keeps the manager's records. nil keeps them in memory, persisted to StateDir, rebuilt from
	// the runtime at start: for a manager alone with its runtime. A shared Store (Kubernetes) is the
	// truth for several managers at once and needs no recovery.
	Store Store
	// Leader reports whether this manager runs what must run once among managers sharing a Store:
	// the pool refill and trimming, and the reaper. nil means always (a manager alone).
	Leader func() bool
	// FillParallelism is how many warm members of one pool start at once; 0 means 1.
	FillParallelism int
	// MaxTimeout caps every sandbox's lifetime from now (create, connect, set timeout, a pool's
	// default); 0 means no cap. The control plane refuses longer requests with 400 first.
	MaxTimeout time.Duration
	// MaxRunningPerOwner is how many sandboxes one API key may run at once (creates in flight
	// included); 0 means no limit. Managers sharing a Store each enforce it on what they see, so
	// creates racing on several replicas at once may pass it by a few.
	MaxRunningPerOwner int
}

// Manager runs sandboxes on a Runtime: it gives them IDs and tokens, expires them, keeps warm pools
// and keeps its records in a Store.
type Manager struct {
	cfg   ManagerConfig
	rt    Runtime
	store Store
	mem   *memStore // the in-memory store, when ManagerConfig.Store is nil
	log   *slog.Logger
	now   func() time.Time

	ctx    context.Context // ends with Close; background starts and stops run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the refill loop

	mu       sync.Mutex
	starting map[string]int // pools' warm members being started now
	filling  map[string]bool
	closed   bool

	// limitMu serializes the running-sandbox count of Create with its reservation in creating, so
	// that concurrent creates of one key cannot all pass the limit.
	limitMu  sync.Mutex
	creating map[string]int // creates in flight, by owner
}

// NewManager rebuilds the registry from what the runtime still runs (with its own store), kills what
// expired meanwhile, loads the pools and starts the reaper and the pool refill loop.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Runtime == nil {
		return nil, errors.New("sandbox manager: Runtime is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "6532622b"
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = time.Second
	}
	if cfg.RefillInterval <= 0 {
		cfg.RefillInterval = 2 * time.Second
	}
	if cfg.FillParallelism <= 0 {
		cfg.FillParallelism = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg:      cfg,
		rt:       cfg.Runtime,
		log:      cfg.Logger,
		now:      cfg.Now,
		ctx:      ctx,
		cancel:   cancel,
		kick:     make(chan struct{}, 1),
		starting: map[string]int{},
		filling:  map[string]bool{},
		creating: map[string]int{},
	}
	if cfg.Store != nil {
		m.store = cfg.Store
		if n, ok := cfg.Store.(ChangeNotifier); ok {
			n.OnChange(m.kickRefill)
		}
	} else {
		m.mem = newMemStore(cfg.StateDir, cfg.Logger)
		m.store = m.mem
		if err := m.recover(ctx); err != nil {
			cancel()
			return nil, fmt.Errorf("sandbox manager: %w", err)
		}
	}
	m.wg.Add(2)
	go m.reapLoop()
	go m.refillLoop()
	m.kickRefill()
	return m, nil
}

// leading reports whether this manager runs the refill, trimming and reaper now.
func (m *Manager) leading() bool { return m.cfg.Leader == nil || m.cfg.Leader() }

// Close stops the reaper and the pool refill. Sandboxes keep running: a new Manager over the same
// runtime and StateDir (or Store) adopts them.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// Templates returns the templates the manager offers, with their availability.
func (m *Manager) Templates() []Template {
	var ts []Template
	if m.cfg.TemplatesFunc != nil {
		ts = m.cfg.TemplatesFunc()
	} else {
		ts = m.cfg.Templates
	}
	out := make([]Template, len(ts))
	for i, t := range ts {
		t.Aliases = slices.Clone(t.Aliases)
		out[i] = t
	}
	return out
}

// resolveTemplate finds a template by name or alias. A ":default" tag (what E2B's SDK may send) is
// accepted and ignored.
func (m *Manager) resolveTemplate(ref string) (Template, error) {
	name := ref
	if base, tag, ok := strings.Cut(ref, ":"); ok && (tag == "default" || tag == "latest") {
		name = base
	}
	ts := m.Templates()
	for _, t := range ts {
		if t.Name == name || slices.Contains(t.Aliases, name) {
			return t, nil
		}
	}
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	return Template{}, fmt.Errorf("template %q (available: %s): %w", ref, strings.Join(names, ", "), ErrUnknownTemplate)
}

// Create starts a sandbox, from a warm pool when one of the template has a member ready, and returns
// once its envd answers.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*Sandbox, error) {
	began := time.Now()
	tmpl, err := m.resolveTemplate(req.Template)
	if err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	if !tmpl.Available {
		return nil, fmt.Errorf("create sandbox from %q: %w: %s", tmpl.Name, ErrTemplateUnavailable, tmpl.Reason)
	}
	if req.Timeout < 0 {
		return nil, fmt.Errorf("create sandbox from %q: timeout %s: %w", tmpl.Name, req.Timeout, ErrInvalid)
	}
	release, err := m.reserve(ctx, req.OwnerKey)
	if err != nil {
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	defer release()
	alias := req.Template
	if alias == "" {
		alias = tmpl.Name
	}
	metadata := userMetadata(req.Metadata)
	if _, err := m.effectiveNetwork(req.Network); err != nil {
		return nil, fmt.Errorf("create sandbox from %q: %w: %v", tmpl.Name, ErrInvalid, err)
	}

	var sb *Sandbox
	// Warm pool members have the default network: a sandbox with a policy of its own starts cold.
	if req.Network.IsDefault() {
		if sb, err = m.claim(ctx, tmpl, alias, req, metadata); err != nil {
			return nil, err
		}
	}
	fromPool := sb != nil
	if sb == nil {
		if sb, err = m.startCold(ctx, tmpl, alias, req, metadata); err != nil {
			return nil, err
		}
	}
	if m.cfg.Observer != nil {
		m.cfg.Observer.ObserveCreate(tmpl.Name, fromPool, time.Since(began))
	}
	m.log.Info("sandbox created", "id", sb.ID, "template", tmpl.Name, "fromPool", fromPool, "took", time.Since(began))
	return sb, nil
}

// reserve counts a create of owner against MaxRunningPerOwner: ErrLimitReached when the owner's
// running sandboxes and creates in flight already reach it. release ends the reservation once the
// sandbox is recorded (then it counts as running) or the create failed.
func (m *Manager) reserve(ctx context.Context, owner string) (release func(), err error) {
	limit := m.cfg.MaxRunningPerOwner
	if limit <= 0 {
		return func() {}, nil
	}
	m.limitMu.Lock()
	defer m.limitMu.Unlock()
	recs, err := m.store.Sandboxes(ctx)
	if err != nil {
		return nil, err
	}
	n := m.creating[owner]
	for _, r := range recs {
		if r.Visible() && r.OwnerKey == owner {
			n++
		}
	}
	if n >= limit {
		return nil, &LimitError{Limit: limit}
	}
	m.creating[owner]++
	return func() {
		m.limitMu.Lock()
		defer m.limitMu.Unlock()
		if m.creating[owner]--; m.creating[owner] <= 0 {
			delete(m.creating, owner)
		}
	}, nil
}

// capTimeout bounds a lifetime by MaxTimeout.
func (m *Manager) capTimeout(d time.Duration) time.Duration {
	if m.cfg.MaxTimeout > 0 && d > m.cfg.MaxTimeout {
		return m.cfg.MaxTimeout
	}
	return d
}

// startCold starts a new sandbox through the runtime.
func (m *Manager) startCold(ctx context.Context, tmpl Template, alias string, req CreateRequest, metadata map[string]string) (*Sandbox, error) {
	id, err := newSandboxID()
	if err != nil {
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	token, err := newAccessToken()
	if err != nil {
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	timeout = m.capTimeout(timeout)
	// Reserved keys ride along in the runtime's copy of the metadata so that a restarted manager knows
	// the alias and owner even if its own state file is lost.
	specMeta := maps.Clone(metadata)
	if specMeta == nil {
		specMeta = map[string]string{}
	}
	specMeta[metaAlias] = alias
	if req.OwnerKey != "" {
		specMeta[metaOwner] = req.OwnerKey
	}
	if req.Inbound.Private {
		specMeta[metaPrivate] = "true"
	}
	if req.Inbound.MaskRequestHost != "" {
		specMeta[metaMaskHost] = req.Inbound.MaskRequestHost
	}
	spec := Spec{
		ID:          id,
		Template:    tmpl.Name,
		EnvVars:     sandboxEnv(req.EnvVars, id, tmpl.Name),
		AccessToken: token,
		Metadata:    specMeta,
		EndAt:       m.now().Add(timeout),
		Limits:      m.limits(tmpl, Limits{}),
		Network:     req.Network,
	}
	network, err := m.effectiveNetwork(req.Network)
	if err != nil {
		return nil, fmt.Errorf("create sandbox from %q: %w: %v", tmpl.Name, ErrInvalid, err)
	}
	if _, err := m.rt.Start(ctx, spec); err != nil {
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	if err := ctx.Err(); err != nil {
		// The caller went away while the runtime finished the start: nobody will ever learn this
		// sandbox's ID or token, so registering it would only keep it running until its timeout.
		m.stopQuietly(id, "sandbox of an abandoned create stopped")
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	// Times come from the manager's clock, like those of claimed pool members, so that List orders
	// both kinds consistently. The lifetime counts from when the sandbox is usable.
	now := m.now()
	rec := Record{
		ID: id, Template: tmpl.Name, Alias: alias, OwnerKey: req.OwnerKey, AccessToken: token,
		Metadata: metadata, StartedAt: now, EndAt: now.Add(timeout), Limits: spec.Limits, Phase: PhaseRunning,
		Inbound: req.Inbound, Network: network,
	}
	if err := m.store.Add(context.WithoutCancel(ctx), rec); err != nil {
		m.stopQuietly(id, "sandbox that could not be recorded stopped")
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	return m.view(rec), nil
}

// view is the user's view of a record.
func (m *Manager) view(r Record) *Sandbox {
	sb := m.sandboxFor(Template{Name: r.Template}, r.Limits, r.ID, r.AccessToken, r.Alias, r.OwnerKey, maps.Clone(r.Metadata))
	sb.StartedAt, sb.EndAt = r.StartedAt, r.EndAt
	sb.Network = r.Clone().Network
	sb.Inbound = r.Inbound
	if r.Inbound.Private {
		sb.TrafficToken = TrafficToken(r.AccessToken)
	}
	return &sb
}

// sandboxFor builds the user's view of a new sandbox with the limits the runtime applied; times are
// set by the caller. E2B reports whole CPUs: a fraction of one is reported as 1.
func (m *Manager) sandboxFor(tmpl Template, l Limits, id, token, alias, owner string, metadata map[string]string) Sandbox {
	cpu, mem := int((l.CPUMillis+999)/1000), int(l.MemoryMB)
	if cpu == 0 {
		cpu = m.cfg.DefaultCPU
	}
	if mem == 0 {
		mem = m.cfg.DefaultMemoryMB
	}
	return Sandbox{
		ID:          id,
		Template:    tmpl.Name,
		Alias:       alias,
		ClientID:    m.cfg.ClientID,
		EnvdVersion: m.cfg.EnvdVersion,
		AccessToken: token,
		CPUCount:    cpu,
		MemoryMB:    mem,
		DiskSizeMB:  m.cfg.DefaultDiskMB,
		Metadata:    metadata,
		State:       StateRunning,
		OwnerKey:    owner,
	}
}

// effectiveNetwork is the network policy a sandbox asking for n gets from the runtime; a runtime
// that enforces none accepts only the default.
func (m *Manager) effectiveNetwork(n Network) (Network, error) {
	if p, ok := m.rt.(NetworkPolicies); ok {
		return p.EffectiveNetwork(n)
	}
	if !n.IsDefault() {
		return n, errors.New("allowInternetAccess=false and network.allowOut/denyOut are not supported by this runtime")
	}
	return Network{}, nil
}

// limits are the template's own resources, with a pool's resources taking precedence field by field;
// the Default* values are for reporting only.
func (m *Manager) limits(t Template, pool Limits) Limits {
	l := Limits{CPUMillis: int64(t.CPUCount) * 1000, MemoryMB: int64(t.MemoryMB)}
	if pool.CPUMillis != 0 {
		l.CPUMillis = pool.CPUMillis
	}
	if pool.MemoryMB != 0 {
		l.MemoryMB = pool.MemoryMB
	}
	return l
}

// sandboxEnv is a sandbox's default environment: the request's variables and E2B's own, which win.
func sandboxEnv(user map[string]string, id, template string) map[string]string {
	env := make(map[string]string, len(user)+3)
	maps.Copy(env, user)
	env["E2B_SANDBOX"] = "true"
	env["E2B_SANDBOX_ID"] = id
	env["E2B_TEMPLATE_ID"] = template
	return env
}

// userMetadata is a copy of md without reserved keys (nil when nothing is left).
func userMetadata(md map[string]string) map[string]string {
	var out map[string]string
	for k, v := range md {
		if isReserved(k) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(md))
		}
		out[k] = v
	}
	return out
}

// visibleRecord refuses records users do not see (warm and claiming pool members) as not found.
func visibleRecord(r Record) error {
	if !r.Visible() {
		return ErrNotFound
	}
	return nil
}

// Get returns a sandbox; ErrNotFound when it does not exist (or expired, or is a warm pool member).
func (m *Manager) Get(ctx context.Context, id string) (*Sandbox, error) {
	r, err := m.store.Sandbox(ctx, id)
	if err == nil {
		err = visibleRecord(r)
	}
	if err != nil {
		return nil, fmt.Errorf("get sandbox %q: %w", id, err)
	}
	return m.view(r), nil
}

// Kill stops a sandbox and forgets it.
func (m *Manager) Kill(ctx context.Context, id string) error {
	// Forget first: from now on the sandbox is 404 to everyone, even while the runtime tears it down.
	if _, err := m.store.Remove(ctx, id, visibleRecord); err != nil {
		return fmt.Errorf("kill sandbox %q: %w", id, err)
	}
	if err := m.rt.Stop(ctx, id); err != nil {
		return fmt.Errorf("kill sandbox %q: %w", id, err)
	}
	m.log.Info("sandbox killed", "id", id)
	return nil
}

// SetTimeout sets the sandbox's expiry to now+d (it may shorten; a negative d expires it now).
func (m *Manager) SetTimeout(ctx context.Context, id string, d time.Duration) error {
	d = m.capTimeout(max(d, 0))
	_, err := m.store.Update(ctx, id, func(r *Record) error {
		if err := visibleRecord(*r); err != nil {
			return err
		}
		r.EndAt = m.now().Add(d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set timeout of sandbox %q: %w", id, err)
	}
	return nil
}

// Connect returns a running sandbox and extends (never shortens) its expiry to now+timeout; a zero
// timeout means the default 300 s.
func (m *Manager) Connect(ctx context.Context, id string, timeout time.Duration) (*Sandbox, error) {
	if timeout < 0 {
		return nil, fmt.Errorf("connect sandbox %q: timeout %s: %w", id, timeout, ErrInvalid)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	timeout = m.capTimeout(timeout)
	r, err := m.store.Sandbox(ctx, id)
	if err == nil {
		err = visibleRecord(r)
	}
	if err != nil {
		return nil, fmt.Errorf("connect sandbox %q: %w", id, err)
	}
	if end := m.now().Add(timeout); end.After(r.EndAt) {
		r, err = m.store.Update(ctx, id, func(r *Record) error {
			if err := visibleRecord(*r); err != nil {
				return err
			}
			if end.After(r.EndAt) {
				r.EndAt = end
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("connect sandbox %q: %w", id, err)
		}
	}
	return m.view(r), nil
}

// SandboxCounts are the numbers of sandboxes per template, for metrics.
type SandboxCounts struct {
	Running map[string]int // users' sandboxes
	Warm    map[string]int // warm pool members not yet claimed
}

// Counts counts the sandboxes per template.
func (m *Manager) Counts() SandboxCounts {
	c := SandboxCounts{Running: map[string]int{}, Warm: map[string]int{}}
	recs, err := m.store.Sandboxes(context.Background())
	if err != nil {
		m.log.Error("count sandboxes", "err", err)
		return c
	}
	for _, r := range recs {
		switch r.Phase {
		case PhaseWarm:
			c.Warm[r.Template]++
		case PhaseRunning:
			c.Running[r.Template]++
		}
	}
	return c
}
