package api

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// fakeSandboxes is an in-memory Sandboxes that records what the API passed it. The real manager is
// tested in its own package; this only pins the HTTP mapping.
type fakeSandboxes struct {
	mu          sync.Mutex
	seq         int
	now         time.Time
	sandboxes   map[string]*sandbox.Sandbox
	pools       map[string]sandbox.Pool
	templates   []sandbox.Template
	lastCreate  sandbox.CreateRequest
	lastConnect time.Duration
	lastTimeout time.Duration
	lastFilter  sandbox.ListFilter
	createErr   error
	// owner is the OwnerKey of sandboxes made with add: the test key's id.
	owner string
}

func newFake() *fakeSandboxes {
	return &fakeSandboxes{
		now:       time.Date(2026, 8, 22, 10, 0, 0, 123456000, time.UTC),
		sandboxes: map[string]*sandbox.Sandbox{},
		pools:     map[string]sandbox.Pool{},
		templates: []sandbox.Template{
			{Name: "base", Available: true, CPUCount: 2, MemoryMB: 512},
			{Name: "code-interpreter-v1", Aliases: []string{"code-interpreter"}, Available: true, CPUCount: 2, MemoryMB: 1024},
			{Name: "desktop", Available: false, Reason: "image sandbox-desktop not installed"},
		},
	}
}

func (f *fakeSandboxes) add(id string, md map[string]string, started time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sandboxes[id] = &sandbox.Sandbox{
		ID: id, Template: "base", Alias: "base", EnvdVersion: "0.6.4", AccessToken: "tok-" + id,
		StartedAt: started, EndAt: started.Add(5 * time.Minute), CPUCount: 2, MemoryMB: 512, DiskSizeMB: 1024,
		Metadata: md, State: sandbox.StateRunning, OwnerKey: f.owner,
	}
}

// addOwned is add with another owner ("" for the admin's sandboxes).
func (f *fakeSandboxes) addOwned(id, owner string) {
	f.add(id, nil, f.now)
	f.mu.Lock()
	f.sandboxes[id].OwnerKey = owner
	f.mu.Unlock()
}

func (f *fakeSandboxes) Create(_ context.Context, req sandbox.CreateRequest) (*sandbox.Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastCreate = req
	if f.createErr != nil {
		return nil, f.createErr
	}
	var tmpl *sandbox.Template
	for i, t := range f.templates {
		if t.Name == req.Template || slices.Contains(t.Aliases, req.Template) {
			tmpl = &f.templates[i]
		}
	}
	if tmpl == nil {
		return nil, fmt.Errorf("template %q: %w", req.Template, sandbox.ErrUnknownTemplate)
	}
	if !tmpl.Available {
		return nil, fmt.Errorf("template %q: %w: %s", req.Template, sandbox.ErrTemplateUnavailable, tmpl.Reason)
	}
	f.seq++
	id := "i" + strconv.Itoa(f.seq) + "abc"
	sb := &sandbox.Sandbox{
		ID: id, Template: tmpl.Name, Alias: req.Template, EnvdVersion: "0.6.4", AccessToken: "tok-" + id,
		StartedAt: f.now, EndAt: f.now.Add(req.Timeout), CPUCount: tmpl.CPUCount, MemoryMB: tmpl.MemoryMB,
		Metadata: maps.Clone(req.Metadata), State: sandbox.StateRunning, OwnerKey: req.OwnerKey,
		Inbound: req.Inbound, Network: req.Network,
	}
	if req.Inbound.Private {
		sb.TrafficToken = sandbox.TrafficToken(sb.AccessToken)
	}
	f.sandboxes[id] = sb
	c := *sb
	return &c, nil
}

func (f *fakeSandboxes) get(id string) (*sandbox.Sandbox, error) {
	sb, ok := f.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %q: %w", id, sandbox.ErrNotFound)
	}
	c := *sb
	return &c, nil
}

func (f *fakeSandboxes) Get(_ context.Context, id string) (*sandbox.Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.get(id)
}

func (f *fakeSandboxes) Kill(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return err
	}
	delete(f.sandboxes, id)
	return nil
}

func (f *fakeSandboxes) SetTimeout(_ context.Context, id string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastTimeout = d
	if _, err := f.get(id); err != nil {
		return err
	}
	f.sandboxes[id].EndAt = f.now.Add(d)
	return nil
}

func (f *fakeSandboxes) Connect(_ context.Context, id string, d time.Duration) (*sandbox.Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastConnect = d
	return f.get(id)
}

// List pages by index: the token is the offset of the next page.
func (f *fakeSandboxes) List(_ context.Context, lf sandbox.ListFilter) ([]sandbox.Sandbox, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastFilter = lf
	var all []sandbox.Sandbox
	for _, sb := range f.sandboxes {
		match := true
		for k, v := range lf.Metadata {
			if sb.Metadata[k] != v {
				match = false
			}
		}
		if len(lf.States) > 0 && !slices.Contains(lf.States, sb.State) {
			match = false
		}
		if !lf.AllOwners && sb.OwnerKey != lf.Owner {
			match = false
		}
		if match {
			all = append(all, *sb)
		}
	}
	slices.SortFunc(all, func(a, b sandbox.Sandbox) int { return a.StartedAt.Compare(b.StartedAt) })
	if lf.Descending {
		slices.Reverse(all)
	}
	off := 0
	if lf.NextToken != "" {
		n, err := strconv.Atoi(lf.NextToken)
		if err != nil {
			return nil, "", fmt.Errorf("next token: %w", sandbox.ErrInvalid)
		}
		off = n
	}
	limit := lf.Limit
	if limit == 0 {
		limit = 100
	}
	off = min(off, len(all))
	end := min(off+limit, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[off:end], next, nil
}

func (f *fakeSandboxes) Templates() []sandbox.Template { return f.templates }

func (f *fakeSandboxes) Metrics(_ context.Context, id string) ([]sandbox.Metric, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	return []sandbox.Metric{
		{Timestamp: time.Unix(100, 0), CPUCount: 2, CPUUsedPct: 12.5, MemUsed: 1 << 20, MemTotal: 1 << 30, DiskUsed: 5, DiskTotal: 10},
		{Timestamp: time.Unix(200, 0), CPUCount: 2, CPUUsedPct: 50, MemUsed: 2 << 20, MemTotal: 1 << 30, DiskUsed: 6, DiskTotal: 10},
	}, nil
}

func (f *fakeSandboxes) PutPool(_ context.Context, p sandbox.Pool) (sandbox.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.ContainsFunc(f.templates, func(t sandbox.Template) bool { return t.Name == p.Template }) {
		return sandbox.Pool{}, fmt.Errorf("template %q: %w", p.Template, sandbox.ErrUnknownTemplate)
	}
	p.Ready = min(p.Size, 1)
	f.pools[p.Name] = p
	return p, nil
}

func (f *fakeSandboxes) GetPool(_ context.Context, name string) (sandbox.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[name]
	if !ok {
		return sandbox.Pool{}, fmt.Errorf("pool %q: %w", name, sandbox.ErrNotFound)
	}
	return p, nil
}

func (f *fakeSandboxes) ListPools(context.Context) ([]sandbox.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Values(f.pools)), nil
}

func (f *fakeSandboxes) DeletePool(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pools[name]; !ok {
		return fmt.Errorf("pool %q: %w", name, sandbox.ErrNotFound)
	}
	delete(f.pools, name)
	return nil
}
