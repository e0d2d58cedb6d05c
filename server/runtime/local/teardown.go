package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// teardown kills a sandbox and removes what it left: processes, cgroups, the overlay mount, and its
// directory with the state file. st may be nil or partial (a start that failed or was interrupted by
// a crash); exited is closed when the bwrap this process started has been reaped (nil when adopted).
// It is idempotent, and nothing is removed while a process of the sandbox may still run, so a failed
// teardown can be retried.
func (r *Runtime) teardown(ctx context.Context, l layout, st *state, exited <-chan struct{}) error {
	if _, ok := ctx.Deadline(); !ok || ctx.Err() != nil {
		// Cleanup must run even when the caller's context has ended (a start that timed out).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
	}
	if err := killSandbox(ctx, l, st, exited); err != nil {
		return err
	}
	if st != nil {
		st.Slirp.kill()
	}
	var errs []error
	if st != nil {
		if err := removeCgroups(ctx, st.Cgroups); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []string{l.portal, l.dir} {
		if err := unmountAll(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, d := range []string{l.portal, l.dir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove %s: %w", d, err)
		}
	}
	return nil
}

// killSandbox kills the sandbox's processes and waits until they are gone. Killing pid 1 of the
// sandbox's pid namespace makes the kernel kill every other process in it; bwrap outside then exits
// on its own. When the manager died before it recorded the pids, the processes are found by the
// sandbox's root path on their command line.
func killSandbox(ctx context.Context, l layout, st *state, exited <-chan struct{}) error {
	var procs []proc
	if st != nil && st.Init.Pid > 0 {
		procs = append(procs, st.Init)
		if st.Bwrap.Pid > 0 {
			procs = append(procs, st.Bwrap)
		}
	} else {
		found, err := procsWithArg(l.merged())
		if err != nil {
			return err
		}
		procs = found
	}
	for _, p := range procs {
		p.kill()
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 20*time.Millisecond) {
		var alive []int
		for _, p := range procs {
			if p.alive() {
				alive = append(alive, p.Pid)
				p.kill()
			}
		}
		if len(alive) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("processes %v still alive: %w", alive, ctx.Err())
		case <-time.After(delay):
		}
	}
	if exited != nil {
		// The bwrap this process started: wait until it is reaped, so that no zombie stays behind.
		select {
		case <-exited:
		case <-ctx.Done():
			return fmt.Errorf("bwrap not reaped: %w", ctx.Err())
		}
	}
	return nil
}
