package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// State files in ManagerConfig.StateDir.
const (
	poolsFile     = "pools.json"
	sandboxesFile = "sandboxes.json"
)

// recoverTimeout bounds the rebuild of the registry in NewManager.
const recoverTimeout = 2 * time.Minute

// poolRecord is a pool as stored in pools.json.
type poolRecord struct {
	Name      string `json:"name"`
	Template  string `json:"template"`
	Size      int    `json:"size"`
	TimeoutMS int64  `json:"timeoutMs,omitempty"`
	CPUMillis int64  `json:"cpuMillis,omitempty"`
	MemoryMB  int64  `json:"memoryMB,omitempty"`
}

// sandboxRecord is the manager's view of one user sandbox as stored in sandboxes.json: what changed
// after the runtime started it (a claim from a pool, SetTimeout, Connect), which the runtime's own copy
// of the Spec does not know.
type sandboxRecord struct {
	ID        string            `json:"id"`
	Template  string            `json:"template"`
	Alias     string            `json:"alias,omitempty"`
	OwnerKey  string            `json:"ownerKey,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	StartedAt time.Time         `json:"startedAt"`
	EndAt     time.Time         `json:"endAt"`
}

// writeFileAtomic writes data so that a reader (or a restart) sees the old or the new file, never
// half of one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (m *Manager) persistPools() error {
	if m.cfg.StateDir == "" {
		return nil
	}
	m.persistMu.Lock()
	defer m.persistMu.Unlock()
	m.mu.Lock()
	recs := make([]poolRecord, 0, len(m.pools))
	for _, name := range slices.Sorted(maps.Keys(m.pools)) {
		p := m.pools[name]
		recs = append(recs, poolRecord{Name: p.Name, Template: p.Template, Size: p.Size, TimeoutMS: p.Timeout.Milliseconds(),
			CPUMillis: p.Resources.CPUMillis, MemoryMB: p.Resources.MemoryMB})
	}
	m.mu.Unlock()
	raw, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return fmt.Errorf("encode pools: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(m.cfg.StateDir, poolsFile), raw); err != nil {
		return fmt.Errorf("save pools: %w", err)
	}
	return nil
}

// persistSandboxes saves the users' sandboxes. Failures are logged: the sandbox operation itself
// succeeded, and the runtime's copy of the Spec is a fallback after a restart.
func (m *Manager) persistSandboxes() {
	if m.cfg.StateDir == "" {
		return
	}
	m.persistMu.Lock()
	defer m.persistMu.Unlock()
	m.mu.Lock()
	recs := make([]sandboxRecord, 0, len(m.boxes))
	for _, e := range m.boxes {
		if !e.visible() {
			continue
		}
		sb := e.sb
		recs = append(recs, sandboxRecord{ID: sb.ID, Template: sb.Template, Alias: sb.Alias, OwnerKey: sb.OwnerKey,
			Metadata: maps.Clone(sb.Metadata), StartedAt: sb.StartedAt, EndAt: sb.EndAt})
	}
	m.mu.Unlock()
	slices.SortFunc(recs, func(a, b sandboxRecord) int { return a.StartedAt.Compare(b.StartedAt) })
	raw, err := json.MarshalIndent(recs, "", "  ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(m.cfg.StateDir, sandboxesFile), raw)
	}
	if err != nil {
		m.log.Error("save sandboxes", "err", err)
	}
}

// readJSON decodes a state file; a missing file is empty state.
func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// recover loads the pools and rebuilds the registry from the runtime: users' sandboxes come back with
// their saved expiry (and are killed if it passed), warm members go back to their pools (or are
// stopped when their pool is gone).
func (m *Manager) recover(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, recoverTimeout)
	defer cancel()
	var pools []poolRecord
	saved := map[string]sandboxRecord{}
	if m.cfg.StateDir != "" {
		if err := os.MkdirAll(m.cfg.StateDir, 0o700); err != nil {
			return fmt.Errorf("create state dir: %w", err)
		}
		removeStaleTemps(m.cfg.StateDir, m.log)
		if err := readJSON(filepath.Join(m.cfg.StateDir, poolsFile), &pools); err != nil {
			return fmt.Errorf("load pools: %w", err)
		}
		var recs []sandboxRecord
		if err := readJSON(filepath.Join(m.cfg.StateDir, sandboxesFile), &recs); err != nil {
			// Only the fallback (the runtime's Specs) is lost; pools and sandboxes still come back.
			m.log.Error("load saved sandboxes; using the runtime's copies", "err", err)
		}
		for _, r := range recs {
			saved[r.ID] = r
		}
	}
	for _, r := range pools {
		m.pools[r.Name] = Pool{Name: r.Name, Template: r.Template, Size: r.Size, Timeout: time.Duration(r.TimeoutMS) * time.Millisecond,
			Resources: Limits{CPUMillis: r.CPUMillis, MemoryMB: r.MemoryMB}}
	}

	insts, err := m.rt.List(ctx)
	if err != nil {
		return fmt.Errorf("list the runtime's sandboxes: %w", err)
	}
	templates := map[string]Template{}
	for _, t := range m.Templates() {
		templates[t.Name] = t
	}
	now := m.now()
	var expired, orphans []string
	for _, inst := range insts {
		spec := inst.Spec
		tmpl, ok := templates[spec.Template]
		if !ok {
			tmpl = Template{Name: spec.Template}
		}
		if rec, ok := saved[spec.ID]; ok {
			e := &entry{sb: m.sandboxFor(tmpl, spec.Limits, spec.ID, spec.AccessToken, rec.Alias, rec.OwnerKey, userMetadata(rec.Metadata)), limits: spec.Limits}
			e.sb.StartedAt, e.sb.EndAt = rec.StartedAt, rec.EndAt
			m.boxes[spec.ID] = e
		} else if pool := poolOf(spec); pool != "" {
			if _, ok := m.pools[pool]; !ok {
				orphans = append(orphans, spec.ID)
				continue
			}
			e := &entry{sb: m.sandboxFor(tmpl, spec.Limits, spec.ID, spec.AccessToken, tmpl.Name, "", nil), pool: pool, warm: true, limits: spec.Limits}
			e.sb.StartedAt = inst.StartedAt
			m.boxes[spec.ID] = e
		} else {
			alias := spec.Metadata[metaAlias]
			if alias == "" {
				alias = spec.Template
			}
			e := &entry{sb: m.sandboxFor(tmpl, spec.Limits, spec.ID, spec.AccessToken, alias, spec.Metadata[metaOwner], userMetadata(spec.Metadata)), limits: spec.Limits}
			e.sb.StartedAt, e.sb.EndAt = inst.StartedAt, spec.EndAt
			m.boxes[spec.ID] = e
		}
		if e := m.boxes[spec.ID]; e.visible() && !e.sb.EndAt.After(now) {
			delete(m.boxes, spec.ID)
			expired = append(expired, spec.ID)
		}
	}
	m.log.Info("sandbox manager recovered", "sandboxes", len(m.boxes), "expired", len(expired), "orphans", len(orphans), "pools", len(m.pools))
	for _, id := range expired {
		m.stopQuietly(id, "sandbox expired while the manager was down")
	}
	for _, id := range orphans {
		m.stopQuietly(id, "warm sandbox of a deleted pool stopped")
	}
	m.trimPools(ctx)
	m.persistSandboxes()
	return nil
}

// removeStaleTemps removes the temporary files of writeFileAtomic calls that a killed manager never
// finished (its deferred removal did not run). Only one manager uses a StateDir at a time, so every
// such file is stale when recovery begins.
func removeStaleTemps(dir string, log *slog.Logger) {
	for _, name := range []string{poolsFile, sandboxesFile} {
		stale, _ := filepath.Glob(filepath.Join(dir, "."+name+".*"))
		for _, p := range stale {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				log.Warn("remove stale state file", "path", p, "err", err)
			}
		}
	}
}
