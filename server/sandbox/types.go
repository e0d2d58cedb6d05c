package sandbox

import (
	"errors"
	"fmt"
	"time"
)

// Errors the manager returns; the control plane maps them to E2B's status codes.
var (
	ErrNotFound            = errors.New("sandbox not found")
	ErrUnknownTemplate     = errors.New("unknown template")
	ErrTemplateUnavailable = errors.New("template not available on this manager")
	ErrInvalid             = errors.New("invalid request")
	ErrUnsupported         = errors.New("not supported by this runtime")
	// ErrLimitReached: the API key already runs as many sandboxes as ManagerConfig.MaxRunningPerOwner
	// allows (E2B answers 429 when a team exceeds its concurrent sandbox limit).
	ErrLimitReached = errors.New("running sandbox limit reached")
)

// LimitError is the ErrLimitReached of one owner, with the limit.
type LimitError struct {
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the maximum of %d running sandboxes per API key is reached", e.Limit)
}

// Is makes errors.Is(err, ErrLimitReached) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimitReached }

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
	// Inbound is what the request's network options ask of the gateway.
	Inbound Inbound
	// Network is the sandbox's outbound network policy (the zero value: the runtime's default).
	Network Network
}

// Inbound is how the gateway treats traffic to a sandbox's ports (E2B's SandboxNetworkConfig, the
// inbound part).
type Inbound struct {
	// Private is network.allowPublicTraffic=false: every port but envd's needs the sandbox's traffic
	// access token. Public sandboxes (the default, as on E2B) are reached by whoever knows their id.
	Private bool
	// MaskRequestHost is network.maskRequestHost: the Host header sent to the sandbox's ports other
	// than envd's, with ${PORT} replaced by the port ("" keeps the client's, or the template's default).
	MaskRequestHost string
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
	// OwnerKey is the id of the API key that created the sandbox (each key is a team); "" for a
	// sandbox created with the admin key, which only the admin sees.
	OwnerKey string
	Inbound  Inbound
	Network  Network // the outbound network policy in force
	// TrafficToken is the traffic access token of a private sandbox ("" for a public one, or when the
	// envd token is not known); see TrafficToken.
	TrafficToken string
}

// CanControl reports whether the API key whose id is keyID may see and control the sandbox (info,
// connect, kill, timeout, metrics, its envd token, its browser endpoint): only the key that created
// it may. The admin key may control every sandbox; callers check that separately. Anyone else must
// be answered exactly as if the sandbox did not exist, so that IDs cannot be probed.
func (s *Sandbox) CanControl(keyID string) bool {
	return s != nil && keyID != "" && s.OwnerKey == keyID
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
	// Owner keeps only the sandboxes of one API key (its id); AllOwners lists every key's sandboxes
	// (the admin). With neither, only sandboxes created with the admin key are listed.
	Owner     string
	AllOwners bool
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
