package sandbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
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

	if err := m.store.PutPool(ctx, p); err != nil {
		return Pool{}, fmt.Errorf("put pool %q: %w", p.Name, err)
	}
	if m.leading() {
		// A template or resources change makes every warm member of the old kind surplus.
		m.trimPools(ctx)
	}
	m.kickRefill()
	m.log.Info("pool saved", "pool", p.Name, "template", p.Template, "size", p.Size,
		"cpu_millis", p.Resources.CPUMillis, "memory_mb", p.Resources.MemoryMB)
	return m.GetPool(ctx, p.Name)
}

// GetPool returns a pool with its current Ready count.
func (m *Manager) GetPool(ctx context.Context, name string) (Pool, error) {
	p, err := m.store.Pool(ctx, name)
	if err != nil {
		return Pool{}, fmt.Errorf("get pool %q: %w", name, err)
	}
	recs, err := m.store.Sandboxes(ctx)
	if err != nil {
		return Pool{}, fmt.Errorf("get pool %q: %w", name, err)
	}
	p.Ready = warmCount(recs, name)
	return p, nil
}

// ListPools returns every pool, by name.
func (m *Manager) ListPools(ctx context.Context) ([]Pool, error) {
	ps, err := m.store.Pools(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	recs, err := m.store.Sandboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	slices.SortFunc(ps, func(a, b Pool) int { return strings.Compare(a.Name, b.Name) })
	for i := range ps {
		ps[i].Ready = warmCount(recs, ps[i].Name)
	}
	return ps, nil
}

// DeletePool removes a pool and stops its warm members; sandboxes already claimed from it stay.
func (m *Manager) DeletePool(ctx context.Context, name string) error {
	if err := m.store.DeletePool(ctx, name); err != nil {
		return fmt.Errorf("delete pool %q: %w", name, err)
	}
	if m.leading() {
		m.trimPools(ctx)
	}
	m.kickRefill()
	m.log.Info("pool deleted", "pool", name)
	return nil
}

// warmCount counts a pool's warm members among recs.
func warmCount(recs []Record, pool string) int {
	n := 0
	for _, r := range recs {
		if r.Phase == PhaseWarm && r.Pool == pool {
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
	pools, err := m.poolMap(ctx)
	if err != nil {
		m.log.Error("trim pools", "err", err)
		return
	}
	recs, err := m.store.Sandboxes(ctx)
	if err != nil {
		m.log.Error("trim pools", "err", err)
		return
	}
	byPool := map[string][]Record{}
	for _, r := range recs {
		if r.Phase == PhaseWarm {
			byPool[r.Pool] = append(byPool[r.Pool], r)
		}
	}
	var surplus []string
	for name, members := range byPool {
		p, ok := pools[name]
		keep := 0
		var want Limits
		if ok {
			keep = p.Size
			want = m.limits(templates[p.Template], p.Resources)
		}
		// Keep the oldest: they have been warm longest and are surely settled.
		slices.SortFunc(members, func(a, b Record) int { return a.StartedAt.Compare(b.StartedAt) })
		for _, r := range members {
			if keep > 0 && r.Template == p.Template && r.Limits == want {
				keep--
				continue
			}
			surplus = append(surplus, r.ID)
		}
	}
	for _, id := range surplus {
		// Only while still warm: a Create may have claimed it meanwhile.
		if _, err := m.store.Remove(ctx, id, func(r Record) error {
			if r.Phase != PhaseWarm {
				return ErrConflict
			}
			return nil
		}); err != nil {
			continue
		}
		if err := m.rt.Stop(ctx, id); err != nil {
			m.log.Error("stop surplus warm sandbox", "id", id, "err", err)
			continue
		}
		m.log.Info("surplus warm sandbox stopped", "id", id)
	}
}

func (m *Manager) poolMap(ctx context.Context) (map[string]Pool, error) {
	ps, err := m.store.Pools(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Pool, len(ps))
	for _, p := range ps {
		out[p.Name] = p
	}
	return out, nil
}

// claim hands a warm member of a pool of the template to a Create, or returns nil when none is ready
// (or the claimed one could not be initialised; the caller then starts one cold).
func (m *Manager) claim(ctx context.Context, tmpl Template, alias string, req CreateRequest, metadata map[string]string) (*Sandbox, error) {
	pools, err := m.store.Pools(ctx)
	if err != nil {
		m.log.Error("claim: list pools", "err", err)
		return nil, nil
	}
	recs, err := m.store.Sandboxes(ctx)
	if err != nil {
		m.log.Error("claim: list sandboxes", "err", err)
		return nil, nil
	}
	var claimed *Record
	var pool Pool
	for _, p := range pools {
		if p.Template != tmpl.Name {
			continue
		}
		var candidates []Record
		for _, r := range recs {
			if r.Phase == PhaseWarm && r.Pool == p.Name {
				candidates = append(candidates, r)
			}
		}
		// In random order: concurrent Creates (here or in other managers sharing the store) then
		// mostly try different members instead of all racing for the same one.
		rand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
		for _, c := range candidates {
			// The store applies this to the latest version: of racing claims exactly one sees it warm.
			r, err := m.store.Update(ctx, c.ID, func(r *Record) error {
				if r.Phase != PhaseWarm {
					return ErrConflict
				}
				r.Phase = PhaseClaiming
				return nil
			})
			if err != nil {
				if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
					m.log.Warn("claim warm sandbox", "id", c.ID, "err", err)
				}
				continue
			}
			claimed, pool = &r, p
			break
		}
		if claimed != nil {
			break
		}
	}
	if claimed == nil {
		return nil, nil
	}
	id, token := claimed.ID, claimed.AccessToken
	m.kickRefill()

	if err := m.envdInit(ctx, id, token, sandboxEnv(req.EnvVars, id, tmpl.Name)); err != nil {
		m.log.Warn("claimed warm sandbox did not take /init; starting one cold", "id", id, "pool", pool.Name, "err", err)
		go m.dropClaimed(id, "broken warm sandbox stopped")
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		// The caller went away after the claim's /init: nobody will learn this sandbox's ID.
		m.dropClaimed(id, "claimed sandbox of an abandoned create stopped")
		return nil, fmt.Errorf("create sandbox from %q: %w", tmpl.Name, err)
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = pool.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	timeout = m.capTimeout(timeout)
	now := m.now()
	rec, err := m.store.Update(context.WithoutCancel(ctx), id, func(r *Record) error {
		if r.Phase != PhaseClaiming {
			return ErrConflict
		}
		r.Phase = PhaseRunning
		r.Alias, r.OwnerKey, r.Metadata = alias, req.OwnerKey, maps.Clone(metadata)
		r.Inbound = req.Inbound
		// To the user the sandbox starts now: that keeps List's order the order of creation.
		r.StartedAt, r.EndAt = now, now.Add(timeout)
		return nil
	})
	if err != nil {
		m.log.Warn("claimed warm sandbox could not be handed over; starting one cold", "id", id, "err", err)
		go m.dropClaimed(id, "claimed sandbox that could not be handed over stopped")
		return nil, nil
	}
	return m.view(rec), nil
}

// dropClaimed forgets and stops a sandbox this manager claimed but could not hand over.
func (m *Manager) dropClaimed(id, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if _, err := m.store.Remove(ctx, id, nil); err != nil && !errors.Is(err, ErrNotFound) {
		m.log.Error("forget claimed sandbox", "id", id, "err", err)
	}
	m.stopQuietly(id, why)
}

// kickRefill wakes the refill loop without blocking.
func (m *Manager) kickRefill() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// refillLoop keeps pools at size: woken by claims and pool changes, and periodically to retry starts
// that failed. Only the leader among managers sharing a store refills.
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
		if !m.leading() {
			continue
		}
		m.trimPools(m.ctx)
		pools, err := m.store.Pools(m.ctx)
		if err != nil {
			continue
		}
		recs, err := m.store.Sandboxes(m.ctx)
		if err != nil {
			continue
		}
		m.mu.Lock()
		for _, p := range pools {
			if m.filling[p.Name] || warmCount(recs, p.Name) >= p.Size || m.closed {
				continue
			}
			m.filling[p.Name] = true
			m.wg.Add(1)
			go m.fill(p.Name)
		}
		m.mu.Unlock()
	}
}

// fill starts warm members of one pool, FillParallelism at a time, until it is full, it is gone, a
// start fails (the next periodic pass retries) or this manager stops leading.
func (m *Manager) fill(name string) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.filling, name)
		m.mu.Unlock()
	}()
	var workers sync.WaitGroup
	for range m.cfg.FillParallelism {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for m.ctx.Err() == nil && m.leading() {
				p, err := m.store.Pool(m.ctx, name)
				if err != nil {
					return
				}
				recs, err := m.store.Sandboxes(m.ctx)
				if err != nil {
					return
				}
				m.mu.Lock()
				full := warmCount(recs, name)+m.starting[name] >= p.Size
				if !full {
					m.starting[name]++
				}
				m.mu.Unlock()
				if full {
					return
				}
				err = m.startWarm(p)
				m.mu.Lock()
				m.starting[name]--
				m.mu.Unlock()
				if err != nil {
					if m.ctx.Err() == nil {
						m.log.Error("start warm sandbox", "pool", name, "template", p.Template, "err", err)
					}
					return
				}
			}
		}()
	}
	workers.Wait()
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
	network, err := m.effectiveNetwork(Network{})
	if err != nil {
		return fmt.Errorf("warm sandbox for pool %q: %w", p.Name, err)
	}
	inst, err := m.rt.Start(m.ctx, spec)
	if err != nil {
		return fmt.Errorf("warm sandbox for pool %q: %w", p.Name, err)
	}
	rec := Record{
		ID: id, Template: tmpl.Name, Alias: tmpl.Name, AccessToken: token, StartedAt: inst.StartedAt,
		Pool: p.Name, Phase: PhaseWarm, Limits: spec.Limits, Network: network,
	}
	cur, err := m.store.Pool(m.ctx, p.Name)
	recs, lerr := m.store.Sandboxes(m.ctx)
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if err == nil && lerr == nil && !closed && cur.Template == tmpl.Name && cur.Resources == p.Resources && warmCount(recs, p.Name) < cur.Size {
		if err := m.store.Add(m.ctx, rec); err != nil {
			m.stopQuietly(id, "warm sandbox that could not be recorded stopped")
			return fmt.Errorf("warm sandbox for pool %q: %w", p.Name, err)
		}
		m.log.Info("warm sandbox ready", "id", id, "pool", p.Name)
		return nil
	}
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
