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
	// The network options; the traffic token is derived from the envd token (TrafficToken), which
	// the runtime keeps, so it is not written here.
	Private         bool   `json:"private,omitempty"`
	MaskRequestHost string `json:"maskRequestHost,omitempty"`
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

// recover loads the pools and rebuilds the local store from the runtime: users' sandboxes come back
// with their saved expiry (and are killed if it passed), warm members go back to their pools (or are
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
	m.mem.loadPools(pools)

	insts, err := m.rt.List(ctx)
	if err != nil {
		return fmt.Errorf("list the runtime's sandboxes: %w", err)
	}
	now := m.now()
	var expired, orphans []string
	recovered := map[string]Record{}
	for _, inst := range insts {
		spec := inst.Spec
		rec := Record{ID: spec.ID, Template: spec.Template, AccessToken: spec.AccessToken, Limits: spec.Limits, Network: spec.Network, Phase: PhaseRunning}
		if s, ok := saved[spec.ID]; ok {
			rec.Alias, rec.OwnerKey, rec.Metadata = s.Alias, s.OwnerKey, userMetadata(s.Metadata)
			rec.StartedAt, rec.EndAt = s.StartedAt, s.EndAt
			rec.Inbound = Inbound{Private: s.Private, MaskRequestHost: s.MaskRequestHost}
		} else if pool := poolOf(spec); pool != "" {
			if _, ok := m.mem.pools[pool]; !ok {
				orphans = append(orphans, spec.ID)
				continue
			}
			rec.Alias, rec.Pool, rec.Phase, rec.StartedAt = spec.Template, pool, PhaseWarm, inst.StartedAt
		} else {
			rec.Alias = spec.Metadata[metaAlias]
			if rec.Alias == "" {
				rec.Alias = spec.Template
			}
			rec.OwnerKey, rec.Metadata = spec.Metadata[metaOwner], userMetadata(spec.Metadata)
			rec.Inbound = Inbound{Private: spec.Metadata[metaPrivate] == "true", MaskRequestHost: spec.Metadata[metaMaskHost]}
			rec.StartedAt, rec.EndAt = inst.StartedAt, spec.EndAt
		}
		if rec.Visible() && !rec.EndAt.After(now) {
			expired = append(expired, spec.ID)
			continue
		}
		recovered[spec.ID] = rec
	}
	m.mem.mu.Lock()
	maps.Copy(m.mem.boxes, recovered)
	m.mem.mu.Unlock()
	m.log.Info("sandbox manager recovered", "sandboxes", len(recovered), "expired", len(expired), "orphans", len(orphans), "pools", len(pools))
	for _, id := range expired {
		m.stopQuietly(id, "sandbox expired while the manager was down")
	}
	for _, id := range orphans {
		m.stopQuietly(id, "warm sandbox of a deleted pool stopped")
	}
	m.trimPools(ctx)
	m.mem.persistSandboxes()
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
