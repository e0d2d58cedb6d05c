package sandbox

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"
)

// Phase is where a sandbox is in its life as the manager sees it.
type Phase string

// Phases of a recorded sandbox.
const (
	// PhaseWarm: a pool member waiting to be claimed; invisible to users.
	PhaseWarm Phase = "warm"
	// PhaseClaiming: handed to a Create that is still initialising it; invisible to users.
	PhaseClaiming Phase = "claiming"
	// PhaseRunning: a user's sandbox.
	PhaseRunning Phase = "running"
)

// Record is what a Store keeps of one sandbox: the manager's bookkeeping, from which it derives the
// user's view (Sandbox) with the template's figures.
type Record struct {
	ID          string
	Template    string // canonical template name
	Alias       string // the name the client asked for
	OwnerKey    string
	AccessToken string
	Metadata    map[string]string // the user's metadata (no reserved keys)
	StartedAt   time.Time         // when the sandbox became the user's (a warm member: when it started)
	EndAt       time.Time         // expiry; zero for warm members
	Pool        string            // the pool it was started for; "" when started for a Create
	Phase       Phase
	Limits      Limits  // what the runtime applied (a pool's warm members are replaced when it changes)
	Inbound     Inbound // how the gateway treats traffic to its ports
	Network     Network // the outbound network policy in force
}

// Visible reports whether users see the sandbox.
func (r Record) Visible() bool { return r.Phase == PhaseRunning }

// Clone returns a deep copy.
func (r Record) Clone() Record {
	r.Metadata = maps.Clone(r.Metadata)
	r.Network.AllowOut = slices.Clone(r.Network.AllowOut)
	r.Network.DenyOut = slices.Clone(r.Network.DenyOut)
	return r
}

// ErrConflict is returned by an Update or Remove condition to refuse the change (for example, the
// warm member was claimed by someone else); the store returns it wrapped, unchanged otherwise.
var ErrConflict = errors.New("sandbox record changed")

// Store keeps the manager's records of its sandboxes and pools. It is the seam between the
// manager's logic and where its state lives: the local runtime's manager keeps records in memory
// (persisted to the state dir); on Kubernetes they are the pods and SandboxPool objects themselves,
// so that any number of manager replicas share them and none keeps state of its own.
//
// Reads may be served from a cache that lags behind other writers by a moment, but a writer sees its
// own writes. Update and Remove act on the latest version of a record (optimistic concurrency), so
// that of two managers racing for one record exactly one wins.
type Store interface {
	// Sandbox returns one record; ErrNotFound when there is none.
	Sandbox(ctx context.Context, id string) (Record, error)
	// Sandboxes returns every record, in no particular order.
	Sandboxes(ctx context.Context) ([]Record, error)
	// Add records a sandbox the runtime has started.
	Add(ctx context.Context, r Record) error
	// Update applies change to the latest version of a record and stores the result; an error from
	// change aborts the update and is returned. ErrNotFound when the record is gone.
	Update(ctx context.Context, id string, change func(*Record) error) (Record, error)
	// Remove forgets a record if cond (nil = always) holds for its latest version, and returns what
	// it removed. Of several concurrent Removes of one record, exactly one succeeds; the others get
	// ErrNotFound (or cond's error). The runtime's copy of the sandbox is stopped by the caller.
	Remove(ctx context.Context, id string, cond func(Record) error) (Record, error)

	// Pools returns every pool (Ready is not set: the manager counts warm records).
	Pools(ctx context.Context) ([]Pool, error)
	// Pool returns one pool; ErrNotFound when there is none.
	Pool(ctx context.Context, name string) (Pool, error)
	// PutPool creates or replaces a pool.
	PutPool(ctx context.Context, p Pool) error
	// DeletePool removes a pool; ErrNotFound when there is none.
	DeletePool(ctx context.Context, name string) error
}

// ChangeNotifier is implemented by stores whose records change behind the manager's back (other
// replicas, kubectl): the manager is told so that it refills pools at once.
type ChangeNotifier interface {
	OnChange(func())
}
