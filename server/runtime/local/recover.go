package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// recover rebuilds the runtime's view from StateDir after a (re)start: sandboxes that were serving and
// still run are adopted; anything else (dead, or half-created by a manager that was killed mid-start)
// is cleaned up.
func (r *Runtime) recover(ctx context.Context) error {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id := e.Name()
		path := filepath.Join(r.dir, id)
		if !e.IsDir() {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove stray %s: %w", path, err)
			}
			continue
		}
		l := r.layoutOf(id)
		st, err := readState(l.state())
		if err == nil && st.Phase == phaseRunning && st.Spec.ID == id && st.alive() {
			r.boxes[id] = &box{l: l, st: st, ready: true}
			r.ids[st.IDBase] = id
			r.log.Info("local runtime: adopted running sandbox", "id", id, "pid", st.Init.Pid)
			continue
		}
		reason := "its processes are gone"
		switch {
		case errors.Is(err, os.ErrNotExist):
			reason, st = "its start never wrote state", nil
		case err != nil:
			reason, st = err.Error(), nil
		case st.Phase != phaseRunning:
			reason = "its start did not finish"
		}
		r.log.Info("local runtime: cleaning up sandbox", "id", id, "reason", reason)
		if err := r.teardown(ctx, l, st, nil); err != nil {
			// Kept, not ready, so that Stop can retry; New does not fail for one stuck sandbox.
			r.log.Error("local runtime: clean up sandbox", "id", id, "err", err)
			r.boxes[id] = &box{l: l, st: st}
			if st != nil {
				r.ids[st.IDBase] = id
			}
		}
	}
	return nil
}
