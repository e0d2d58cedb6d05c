package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// memStore is the Store of a manager that is alone with its runtime (the local runtime): records in
// memory, the users' sandboxes and the pools persisted to files in dir ("" = memory only). After a
// restart the manager rebuilds it from those files and the runtime (recover).
type memStore struct {
	dir string
	log *slog.Logger

	persistMu sync.Mutex // serializes file writes so that the last write carries the latest state

	mu    sync.Mutex
	boxes map[string]Record
	pools map[string]Pool
}

var _ Store = (*memStore)(nil)

func newMemStore(dir string, log *slog.Logger) *memStore {
	return &memStore{dir: dir, log: log, boxes: map[string]Record{}, pools: map[string]Pool{}}
}

func (s *memStore) Sandbox(_ context.Context, id string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.boxes[id]
	if !ok {
		return Record{}, fmt.Errorf("sandbox %q: %w", id, ErrNotFound)
	}
	return r.Clone(), nil
}

func (s *memStore) Sandboxes(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.boxes))
	for _, r := range s.boxes {
		out = append(out, r.Clone())
	}
	return out, nil
}

func (s *memStore) Add(_ context.Context, r Record) error {
	s.mu.Lock()
	s.boxes[r.ID] = r.Clone()
	s.mu.Unlock()
	if r.Visible() {
		s.persistSandboxes()
	}
	return nil
}

func (s *memStore) Update(_ context.Context, id string, change func(*Record) error) (Record, error) {
	s.mu.Lock()
	cur, ok := s.boxes[id]
	if !ok {
		s.mu.Unlock()
		return Record{}, fmt.Errorf("sandbox %q: %w", id, ErrNotFound)
	}
	next := cur.Clone()
	if err := change(&next); err != nil {
		s.mu.Unlock()
		return Record{}, err
	}
	s.boxes[id] = next
	s.mu.Unlock()
	if cur.Visible() || next.Visible() {
		s.persistSandboxes()
	}
	return next.Clone(), nil
}

func (s *memStore) Remove(_ context.Context, id string, cond func(Record) error) (Record, error) {
	s.mu.Lock()
	cur, ok := s.boxes[id]
	if !ok {
		s.mu.Unlock()
		return Record{}, fmt.Errorf("sandbox %q: %w", id, ErrNotFound)
	}
	if cond != nil {
		if err := cond(cur); err != nil {
			s.mu.Unlock()
			return Record{}, err
		}
	}
	delete(s.boxes, id)
	s.mu.Unlock()
	if cur.Visible() {
		s.persistSandboxes()
	}
	return cur, nil
}

func (s *memStore) Pools(context.Context) ([]Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Pool, 0, len(s.pools))
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		out = append(out, s.pools[name])
	}
	return out, nil
}

func (s *memStore) Pool(_ context.Context, name string) (Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pools[name]
	if !ok {
		return Pool{}, fmt.Errorf("pool %q: %w", name, ErrNotFound)
	}
	return p, nil
}

// PutPool saves the pool; the change is undone when it cannot be persisted.
func (s *memStore) PutPool(_ context.Context, p Pool) error {
	s.mu.Lock()
	old, existed := s.pools[p.Name]
	s.pools[p.Name] = p
	s.mu.Unlock()
	if err := s.persistPools(); err != nil {
		s.mu.Lock()
		if existed {
			s.pools[p.Name] = old
		} else {
			delete(s.pools, p.Name)
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *memStore) DeletePool(_ context.Context, name string) error {
	s.mu.Lock()
	old, ok := s.pools[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("pool %q: %w", name, ErrNotFound)
	}
	delete(s.pools, name)
	s.mu.Unlock()
	if err := s.persistPools(); err != nil {
		s.mu.Lock()
		s.pools[name] = old
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *memStore) persistPools() error {
	if s.dir == "" {
		return nil
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	s.mu.Lock()
	recs := make([]poolRecord, 0, len(s.pools))
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		p := s.pools[name]
		recs = append(recs, poolRecord{Name: p.Name, Template: p.Template, Size: p.Size, TimeoutMS: p.Timeout.Milliseconds(),
			CPUMillis: p.Resources.CPUMillis, MemoryMB: p.Resources.MemoryMB})
	}
	s.mu.Unlock()
	raw, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return fmt.Errorf("encode pools: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.dir, poolsFile), raw); err != nil {
		return fmt.Errorf("save pools: %w", err)
	}
	return nil
}

// persistSandboxes saves the users' sandboxes. Failures are logged: the sandbox operation itself
// succeeded, and the runtime's copy of the Spec is a fallback after a restart.
func (s *memStore) persistSandboxes() {
	if s.dir == "" {
		return
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	s.mu.Lock()
	recs := make([]sandboxRecord, 0, len(s.boxes))
	for _, r := range s.boxes {
		if !r.Visible() {
			continue
		}
		recs = append(recs, sandboxRecord{ID: r.ID, Template: r.Template, Alias: r.Alias, OwnerKey: r.OwnerKey,
			Metadata: maps.Clone(r.Metadata), StartedAt: r.StartedAt, EndAt: r.EndAt,
			Private: r.Inbound.Private, MaskRequestHost: r.Inbound.MaskRequestHost})
	}
	s.mu.Unlock()
	slices.SortFunc(recs, func(a, b sandboxRecord) int { return a.StartedAt.Compare(b.StartedAt) })
	raw, err := json.MarshalIndent(recs, "", "  ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(s.dir, sandboxesFile), raw)
	}
	if err != nil {
		s.log.Error("save sandboxes", "err", err)
	}
}

// loadPools reads pools.json into the store (recovery).
func (s *memStore) loadPools(recs []poolRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.pools[r.Name] = Pool{Name: r.Name, Template: r.Template, Size: r.Size, Timeout: time.Duration(r.TimeoutMS) * time.Millisecond,
			Resources: Limits{CPUMillis: r.CPUMillis, MemoryMB: r.MemoryMB}}
	}
}
