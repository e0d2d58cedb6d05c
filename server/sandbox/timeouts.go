package sandbox

import (
	"context"
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

// reap forgets every expired sandbox, then stops them through the runtime without holding the lock.
func (m *Manager) reap() {
	now := m.now()
	var expired []string
	m.mu.Lock()
	for id, e := range m.boxes {
		if e.visible() && !e.sb.EndAt.After(now) {
			expired = append(expired, id)
			delete(m.boxes, id)
		}
	}
	m.mu.Unlock()
	if len(expired) == 0 {
		return
	}
	m.persistSandboxes()
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
