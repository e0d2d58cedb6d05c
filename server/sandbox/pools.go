package sandbox

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// MaxPoolSize bounds Pool.Size.
const MaxPoolSize = 100

// validPoolName is a DNS label: pool names become Kubernetes object names in the kube runtime.
var validPoolName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// PutPool creates or updates a pool. Growing is done in the background; shrinking stops the extra
// warm members before it returns.
func (m *Manager) PutPool(ctx context.Context, p Pool) (Pool, error) {
	if !validPoolName.MatchString(p.Name) {
		return Pool{}, fmt.Errorf("put pool %q: name must be a DNS label ([a-z0-9-], at most 63): %w", p.Name, ErrInvalid)
	}
	if p.Size < 0 || p.Size > MaxPoolSize {
		return Pool{}, fmt.Errorf("put pool %q: size %d not in [0, %d]: %w", p.Name, p.Size, MaxPoolSize, ErrInvalid)
	}
	if p.Timeout < 0 {
		return Pool{}, fmt.Errorf("put pool %q: timeout %s: %w", p.Name, p.Timeout, ErrInvalid)
	}
	if err := validPoolResources(p.Resources); err != nil {
		return Pool{}, fmt.Errorf("put pool %q: %w", p.Name, err)
	}
	tmpl, err := m.resolveTemplate(p.Template)
	if err != nil {
		return Pool{}, fmt.Errorf("put pool %q: %w", p.Name, err)
	}
	p.Template = tmpl.Name // pools hold canonical names, so claims match however the client spells it
	p.Ready = 0

	m.mu.Lock()
	old, existed := m.pools[p.Name]
	m.pools[p.Name] = p
	m.mu.Unlock()
	if err := m.persistPools(); err != nil {
		m.mu.Lock()
		if existed {
			m.pools[p.Name] = old
		} else {
			delete(m.pools, p.Name)
		}
		m.mu.Unlock()
		return Pool{}, fmt.Errorf("put pool %q: %w", p.Name, err)
	}
	// A template change makes every warm member of the old template surplus.
	m.trimPools(ctx)
	m.kickRefill()
	m.log.Info("pool saved", "pool", p.Name, "template", p.Template, "size", p.Size,
		"cpu_millis", p.Resources.CPUMillis, "memory_mb", p.Resources.MemoryMB)
	return m.GetPool(ctx, p.Name)
}

// GetPool returns a pool with its current Ready count.
func (m *Manager) GetPool(_ context.Context, name string) (Pool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[name]
	if !ok {
		return Pool{}, fmt.Errorf("get pool %q: %w", name, ErrNotFound)
	}
	p.Ready = m.warmCountLocked(name)
	return p, nil
}

// ListPools returns every pool, by name.
func (m *Manager) ListPools(_ context.Context) ([]Pool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Pool, 0, len(m.pools))
	for _, name := range slices.Sorted(maps.Keys(m.pools)) {
		p := m.pools[name]
		p.Ready = m.warmCountLocked(name)
		out = append(out, p)
	}
	return out, nil
}

// DeletePool removes a pool and stops its warm members; sandboxes already claimed from it stay.
func (m *Manager) DeletePool(ctx context.Context, name string) error {
	m.mu.Lock()
	old, ok := m.pools[name]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("delete pool %q: %w", name, ErrNotFound)
	}
	delete(m.pools, name)
	m.mu.Unlock()
	if err := m.persistPools(); err != nil {
		m.mu.Lock()
		m.pools[name] = old
		m.mu.Unlock()
		return fmt.Errorf("delete pool %q: %w", name, err)
	}
	m.trimPools(ctx)
	m.log.Info("pool deleted", "pool", name)
	return nil
}

func (m *Manager) warmCountLocked(pool string) int {
	n := 0
	for _, e := range m.boxes {
		if e.warm && e.pool == pool {
			n++
		}
	}
	return n
}

// validPoolResources checks a pool's resources against the Min/MaxPool bounds (0 = the template's).
func validPoolResources(l Limits) error {
	var problems []string
	if l.CPUMillis != 0 && (l.CPUMillis < MinPoolCPUMillis || l.CPUMillis > MaxPoolCPUMillis) {
		problems = append(problems, fmt.Sprintf("cpu %dm not in [%dm, %dm]", l.CPUMillis, MinPoolCPUMillis, MaxPoolCPUMillis))
	}
	if l.MemoryMB != 0 && (l.MemoryMB < MinPoolMemoryMB || l.MemoryMB > MaxPoolMemoryMB) {
		problems = append(problems, fmt.Sprintf("memory %d MB not in [%d, %d] MB", l.MemoryMB, MinPoolMemoryMB, MaxPoolMemoryMB))
	}
	if l.Pids != 0 {
		problems = append(problems, "a process limit cannot be set per pool")
	}
	if len(problems) > 0 {
		return fmt.Errorf("resources: %s: %w", strings.Join(problems, "; "), ErrInvalid)
	}
	return nil
}

// trimPools stops warm members beyond their pool's size, of a template or resources their pool no
// longer has, or of a pool that no longer exists.
func (m *Manager) trimPools(ctx context.Context) {
	templates := map[string]Template{}
	for _, t := range m.Templates() {
		templates[t.Name] = t
	}
	m.mu.Lock()
	byPool := map[string][]*entry{}
	for _, e := range m.boxes {
		if e.warm {
			byPool[e.pool] = append(byPool[e.pool], e)
		}
	}
	var surplus []string
	for name, members := range byPool {
		p, ok := m.pools[name]
		keep := 0
		var want Limits
		if ok {
			keep = p.Size
			want = m.limits(templates[p.Template], p.Resources)
		}
		// Keep the oldest: they have been warm longest and are surely settled.
		slices.SortFunc(members, func(a, b *entry) int { return a.sb.StartedAt.Compare(b.sb.StartedAt) })
		for _, e := range members {
			if keep > 0 && e.sb.Template == p.Template && e.limits == want {
				keep--
				continue
			}
			surplus = append(surplus, e.sb.ID)
			delete(m.boxes, e.sb.ID)
		}
	}
	m.mu.Unlock()
	for _, id := range surplus {
		if err := m.rt.Stop(ctx, id); err != nil {
			m.log.Error("stop surplus warm sandbox", "id", id, "err", err)
			continue
		}
		m.log.Info("surplus warm sandbox stopped", "id", id)
	}
}

// claim hands a warm member of a pool of the template to a Create, or returns nil when none is ready
// (or the claimed one could not be initialised; the caller then starts one cold).
func (m *Manager) claim(ctx context.Context, tmpl Template, alias string, req CreateRequest, metadata map[string]string) (*Sandbox, error) {
	m.mu.Lock()
	var e *entry
	var pool Pool
	for _, name := range slices.Sorted(maps.Keys(m.pools)) {
		p := m.pools[name]
		if p.Template != tmpl.Name {
			continue
		}
		for _, c := range m.boxes {
			if c.warm && c.pool == name && (e == nil || c.sb.StartedAt.Before(e.sb.StartedAt)) {
				e, pool = c, p
			}
		}
		if e != nil {
			break
		}
	}
	if e == nil {
		m.mu.Unlock()
		return nil, nil
	}
	// Under the lock, so no other Create can take it: from here it is this Create's alone.
	e.warm, e.claiming = false, true
	id, token := e.sb.ID, e.sb.AccessToken
	m.mu.Unlock()
	m.kickRefill()

	if err := m.envdInit(ctx, id, token, sandboxEnv(req.EnvVars, id, tmpl.Name)); err != nil {
		m.log.Warn("claimed warm sandbox did not take /init; starting one cold", "id", id, "pool", pool.Name, "err", err)
		m.mu.Lock()
		delete(m.boxes, id)
		m.mu.Unlock()
		go m.stopQuietly(id, "broken warm sandbox stopped")
		return nil, nil
	}

	if err := ctx.Err(); err != nil {
		// The caller went away after the claim's /init: nobody will learn this sandbox's ID.
		m.mu.Lock()
		delete(m.boxes, id)
		m.mu.Unlock()
		m.stopQuietly(id, "claimed sandbox of an abandoned create stopped")
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = pool.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	now := m.now()
	m.mu.Lock()
	sb := m.sandboxFor(tmpl, e.limits, id, token, alias, req.OwnerKey, metadata)
	// To the user the sandbox starts now: that keeps List's order the order of creation.
	sb.StartedAt = now
	sb.EndAt = now.Add(timeout)
	e.sb = sb
	e.claiming = false
	m.mu.Unlock()
	m.persistSandboxes()
	return cloneSandbox(&sb), nil
}

// kickRefill wakes the refill loop without blocking.
func (m *Manager) kickRefill() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// refillLoop keeps pools at size: woken by claims and pool changes, and periodically to retry starts
// that failed.
func (m *Manager) refillLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.RefillInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		case <-t.C:
		}
		m.trimPools(m.ctx)
		m.mu.Lock()
		for name, p := range m.pools {
			if m.filling[name] || m.warmCountLocked(name) >= p.Size || m.closed {
				continue
			}
			m.filling[name] = true
			m.wg.Add(1)
			go m.fill(name)
		}
		m.mu.Unlock()
	}
}

// fill starts warm members of one pool, one at a time, until it is full, it is gone, or a start fails
// (the next periodic pass retries).
func (m *Manager) fill(name string) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.filling, name)
		m.mu.Unlock()
	}()
	for m.ctx.Err() == nil {
		m.mu.Lock()
		p, ok := m.pools[name]
		full := !ok || m.warmCountLocked(name) >= p.Size
		m.mu.Unlock()
		if full {
			return
		}
		if err := m.startWarm(p); err != nil {
			if m.ctx.Err() == nil {
				m.log.Error("start warm sandbox", "pool", name, "template", p.Template, "err", err)
			}
			return
		}
	}
}

// startWarm starts one warm member of p. It carries the E2B variables already (its ID is fixed); the
// request's variables come with /init on claim.
func (m *Manager) startWarm(p Pool) error {
	tmpl, err := m.resolveTemplate(p.Template)
	if err != nil {
		return err
	}
	if !tmpl.Available {
		return fmt.Errorf("template %q: %w: %s", tmpl.Name, ErrTemplateUnavailable, tmpl.Reason)
	}
	id, err := newSandboxID()
	if err != nil {
		return err
	}
	token, err := newAccessToken()
	if err != nil {
		return err
	}
	spec := Spec{
		ID:          id,
		Template:    tmpl.Name,
		EnvVars:     sandboxEnv(nil, id, tmpl.Name),
		AccessToken: token,
		Metadata:    map[string]string{metaPool: p.Name},
		Limits:      m.limits(tmpl, p.Resources),
	}
	inst, err := m.rt.Start(m.ctx, spec)
	if err != nil {
		return fmt.Errorf("warm sandbox for pool %q: %w", p.Name, err)
	}
	e := &entry{sb: m.sandboxFor(tmpl, spec.Limits, id, token, tmpl.Name, "", nil), pool: p.Name, warm: true, limits: spec.Limits}
	e.sb.StartedAt = inst.StartedAt
	m.mu.Lock()
	cur, ok := m.pools[p.Name]
	if ok && !m.closed && cur.Template == tmpl.Name && cur.Resources == p.Resources && m.warmCountLocked(p.Name) < cur.Size {
		m.boxes[id] = e
		m.mu.Unlock()
		m.log.Info("warm sandbox ready", "id", id, "pool", p.Name)
		return nil
	}
	m.mu.Unlock()
	// The pool changed while this one started: it is not needed.
	m.stopQuietly(id, "unneeded warm sandbox stopped")
	return nil
}

// poolOf reports which pool a runtime instance was started for ("" for none).
func poolOf(spec Spec) string {
	return spec.Metadata[metaPool]
}

// isReserved reports whether a metadata key is the manager's own.
func isReserved(k string) bool { return strings.HasPrefix(k, reservedPrefix) }
