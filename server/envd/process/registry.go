package process

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"
)

// endRetention is how long a finished process stays findable so a late Connect can replay its end.
const endRetention = 30 * time.Second

var errShuttingDown = errors.New("envd is shutting down")

// registry finds processes by pid or tag from their start until a while after their end.
type registry struct {
	mu     sync.Mutex
	procs  map[uint32]*proc
	timers map[*proc]*time.Timer // pending removals of finished processes
	seq    map[*proc]uint64      // start order, to prefer the newest of processes sharing a tag
	next   uint64
	closed bool
}

func newRegistry() *registry {
	return &registry{
		procs:  map[uint32]*proc{},
		timers: map[*proc]*time.Timer{},
		seq:    map[*proc]uint64{},
	}
}

func (r *registry) add(p *proc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errShuttingDown
	}
	// A finished process whose pid the kernel handed out again is no longer reachable by pid.
	if old := r.procs[p.pid]; old != nil {
		r.forget(old)
	}
	r.procs[p.pid] = p
	r.next++
	r.seq[p] = r.next
	return nil
}

// retire forgets the finished process p after the given delay.
func (r *registry) retire(p *proc, after time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.procs[p.pid] != p {
		return
	}
	r.timers[p] = time.AfterFunc(after, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.procs[p.pid] == p {
			r.forget(p)
		}
	})
}

// forget removes p; r.mu must be held.
func (r *registry) forget(p *proc) {
	if t := r.timers[p]; t != nil {
		t.Stop()
	}
	delete(r.timers, p)
	delete(r.seq, p)
	if r.procs[p.pid] == p {
		delete(r.procs, p.pid)
	}
}

func (r *registry) byPID(pid uint32) *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs[pid]
}

// byTag returns the newest running process with the tag, or else the newest finished one.
func (r *registry) byTag(tag string) *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *proc
	bestRunning := false
	for _, p := range r.procs {
		if p.tag == nil || *p.tag != tag {
			continue
		}
		running := !p.ended()
		switch {
		case best == nil,
			running && !bestRunning,
			running == bestRunning && r.seq[p] > r.seq[best]:
			best, bestRunning = p, running
		}
	}
	return best
}

// all returns every known process, running or recently finished, ordered by pid.
func (r *registry) all() []*proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *proc) int { return cmp.Compare(a.pid, b.pid) })
	return out
}

// shutdown refuses new processes, drops pending removals and returns every process still known.
func (r *registry) shutdown() []*proc {
	r.mu.Lock()
	r.closed = true
	for p, t := range r.timers {
		t.Stop()
		delete(r.timers, p)
	}
	r.mu.Unlock()
	return r.all()
}
