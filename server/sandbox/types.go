package sandbox

import (
	"errors"
	"time"
)

// Errors the manager returns; the control plane maps them to E2B's status codes.
var (
	ErrNotFound            = errors.New("sandbox not found")
	ErrUnknownTemplate     = errors.New("unknown template")
	ErrTemplateUnavailable = errors.New("template not available on this manager")
	ErrInvalid             = errors.New("invalid request")
	ErrUnsupported         = errors.New("not supported by this runtime")
)

// States a sandbox is listed in.
const (
	StateRunning = "running"
	StatePaused  = "paused"
)

// CreateRequest is a request for a new sandbox (from either create generation of the API).
type CreateRequest struct {
	Template string // name or alias, e.g. "base", "code-interpreter-v1"
	Timeout  time.Duration
	Metadata map[string]string
	EnvVars  map[string]string
	// OwnerKey identifies the API key that created the sandbox (its hash id, never the key).
	OwnerKey string
	// Network is the sandbox's outbound network policy (the zero value: the runtime's default).
	Network Network
}

// Sandbox is the manager's view of one sandbox.
type Sandbox struct {
	ID          string
	Template    string // canonical template name
	Alias       string // the name the client asked for
	ClientID    string
	EnvdVersion string
	AccessToken string // envd access token
	StartedAt   time.Time
	EndAt       time.Time
	CPUCount    int
	MemoryMB    int
	DiskSizeMB  int
	Metadata    map[string]string
	State       string
	OwnerKey    string
	Network     Network // the outbound network policy in force
}

// ListFilter selects sandboxes for GET /v2/sandboxes.
type ListFilter struct {
	Metadata     map[string]string // all must match
	States       []string          // empty = all
	Template     string
	StartedAfter time.Time
	Descending   bool // order=desc (newest first); default ascending by start time
	Limit        int  // 0 = default
	NextToken    string
}

// Template describes a template the manager offers.
type Template struct {
	Name      string
	Aliases   []string
	Available bool
	Reason    string // why not available
	CPUCount  int
	MemoryMB  int
}

// Pool is a warm pool: Size started sandboxes of Template kept ready.
type Pool struct {
	Name     string
	Template string
	Size     int
	Timeout  time.Duration // default timeout of sandboxes claimed from the pool (0 = request's)
	// Resources are the CPU and memory of the pool's sandboxes; a zero field keeps the template's.
	// Pids is not configurable per pool and must be 0.
	Resources Limits
	Ready     int // warm sandboxes ready now (status)
}

// Bounds of a pool's resources (when set): below them envd and a shell do not run reliably.
const (
	MinPoolCPUMillis = 100
	MaxPoolCPUMillis = 64_000
	MinPoolMemoryMB  = 64
	MaxPoolMemoryMB  = 256 * 1024
)

// Metric is one sample of a sandbox's resource use.
type Metric struct {
	Timestamp  time.Time
	CPUCount   int
	CPUUsedPct float64
	MemUsed    uint64
	MemTotal   uint64
	DiskUsed   uint64
	DiskTotal  uint64
}
