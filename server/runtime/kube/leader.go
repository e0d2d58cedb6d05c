package kube

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaseName is the coordination.k8s.io Lease the replicas elect their leader with.
const LeaseName = "sandbox-manager"

// Default lease timings: a replica that dies unannounced is replaced within about LeaseDuration; a
// replica that stops cleanly releases the lease at once.
const (
	defaultLeaseDuration = 10 * time.Second
	defaultRenewDeadline = 7 * time.Second
	defaultRetryPeriod   = time.Second
)

// Leader tells whether this replica holds the Lease. The leader runs what must happen once per
// cluster rather than once per replica: the pool refill (two refilling replicas would overshoot),
// the reaper and the clean-up of debris. Correctness does not rest on it alone: claims and removals
// are guarded writes, so two replicas that both believe they lead for a moment (a paused process
// whose lease expired) still cannot hand out a pod twice or expire a sandbox twice.
type Leader struct {
	r       *Runtime
	cfg     leaderelection.LeaderElectionConfig
	leading atomic.Bool
}

func newLeader(r *Runtime, cfg Config) *Leader {
	l := &Leader{r: r}
	lease := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	l.cfg = leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metaObject(r.ns, LeaseName),
			Client:     r.client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
		},
		LeaseDuration:   lease(cfg.LeaseDuration, defaultLeaseDuration),
		RenewDeadline:   lease(cfg.RenewDeadline, defaultRenewDeadline),
		RetryPeriod:     lease(cfg.RetryPeriod, defaultRetryPeriod),
		ReleaseOnCancel: true,
		Name:            LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				l.leading.Store(true)
				r.log.Info("leading: this replica runs the pool refill and the reaper", "identity", cfg.Identity)
				r.changed(nil) // wake the manager's loops
			},
			OnStoppedLeading: func() {
				l.leading.Store(false)
				r.log.Info("no longer leading", "identity", cfg.Identity)
			},
			OnNewLeader: func(identity string) {
				if identity != cfg.Identity {
					r.log.Info("leader elected", "leader", identity)
				}
			},
		},
	}
	return l
}

// IsLeader reports whether this replica holds the Lease now.
func (l *Leader) IsLeader() bool { return l.leading.Load() }

// run campaigns until ctx ends; a lost lease is campaigned for again.
func (l *Leader) run(ctx context.Context) {
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(l.cfg)
		if err != nil {
			l.r.log.Error("leader election", "err", err)
			return
		}
		le.Run(ctx)
		l.leading.Store(false)
		select {
		case <-ctx.Done():
		case <-time.After(l.cfg.RetryPeriod):
		}
	}
}
