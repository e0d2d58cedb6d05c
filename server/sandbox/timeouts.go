package sandbox

import (
	"context"
	"errors"
	"time"
)

// stopTimeout bounds one background stop (reaper, pool trimming).
const stopTimeout = 60 * time.Second

// reapLoop kills expired sandboxes. A plain ticker: simple, and at most ReapInterval late, which is
// well within what E2B clients can observe (timeouts are whole seconds).
func (m *Manager) reapLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.reap()
		}
	}
}

// reap forgets every expired sandbox, then stops it through the runtime. Only the leader among
// managers sharing a store reaps, and each removal is conditional on the latest version of the record
// (still visible, still expired), so a sandbox expires exactly once even if two managers reap, and
// never after another manager extended its timeout.
func (m *Manager) reap() {
	if !m.leading() {
		return
	}
	now := m.now()
	recs, err := m.store.Sandboxes(m.ctx)
	if err != nil {
		m.log.Error("reap: list sandboxes", "err", err)
		return
	}
	var expired []string
	for _, r := range recs {
		if !r.Visible() || r.EndAt.After(now) {
			continue
		}
		_, err := m.store.Remove(m.ctx, r.ID, func(r Record) error {
			if !r.Visible() || r.EndAt.After(now) {
				return ErrConflict
			}
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
				m.log.Error("reap sandbox", "id", r.ID, "err", err)
			}
			continue
		}
		expired = append(expired, r.ID)
	}
	// Stopped after all are forgotten: none stays visible while others are torn down.
	for _, id := range expired {
		m.stopQuietly(id, "sandbox expired")
	}
}

// stopQuietly stops a sandbox the registry already forgot, logging failures: the caller has nobody to
// return them to. A sandbox whose stop failed is found again by Runtime.List after a restart.
func (m *Manager) stopQuietly(id, why string) {
	// Not m.ctx: a stop that begins must finish even if the manager is closing, or it leaves debris.
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := m.rt.Stop(ctx, id); err != nil {
		m.log.Error("stop sandbox", "id", id, "why", why, "err", err)
		return
	}
	m.log.Info(why, "id", id)
}
