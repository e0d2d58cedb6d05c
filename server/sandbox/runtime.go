// Package sandbox is the runtime-independent core of the sandbox manager: what a sandbox is, and the
// seam (Runtime) behind which local processes, Kubernetes pods or VMs actually run it.
package sandbox

import (
	"context"
	"net"
	"time"
)

// EnvdPort is the port of the in-sandbox agent.
const EnvdPort = 49983

// Spec is what the manager asks a runtime to start.
type Spec struct {
	ID          string            // lowercase [a-z0-9]
	Template    string            // template name, e.g. "base"
	EnvVars     map[string]string // the sandbox's default environment (create envVars + E2B_* vars)
	AccessToken string            // envd access token for this sandbox
	Metadata    map[string]string // user metadata, kept by runtimes that keep state for the manager
	EndAt       time.Time         // when the sandbox expires (kept for restart recovery)
	Limits      Limits
	Network     Network
}

// Network is a sandbox's outbound network policy (E2B's allowInternetAccess and network.allowOut /
// denyOut). The zero value is the runtime's default: outbound access where the runtime gives any.
type Network struct {
	// Disabled cuts the sandbox off from every network beyond its own loopback, except AllowOut.
	Disabled bool `json:"disabled,omitempty"`
	// DenyOut are IP addresses or CIDRs the sandbox may not reach; AllowOut are ones it may reach even
	// within DenyOut or with Disabled set.
	AllowOut []string `json:"allowOut,omitempty"`
	DenyOut  []string `json:"denyOut,omitempty"`
}

// IsDefault reports whether n asks for nothing beyond the runtime's default.
func (n Network) IsDefault() bool { return !n.Disabled && len(n.AllowOut) == 0 && len(n.DenyOut) == 0 }

// NetworkPolicies is implemented by runtimes that enforce Network: EffectiveNetwork says what a
// sandbox asking for n gets (a runtime without outbound networking reports Disabled), or why it
// cannot be honoured. The manager refuses any non-default Network on runtimes without it.
type NetworkPolicies interface {
	EffectiveNetwork(n Network) (Network, error)
}

// Limits are resource limits a runtime applies where it can.
type Limits struct {
	CPUMillis int64 // 1000 = one core; 0 = unlimited
	MemoryMB  int64 // 0 = unlimited
	Pids      int64 // 0 = unlimited
	DiskMB    int64 // size of the sandbox's writable layer; 0 = the runtime's default
}

// Instance is a running sandbox as a runtime knows it.
type Instance struct {
	Spec      Spec
	StartedAt time.Time
}

// Runtime starts, stops, lists and reaches sandboxes.
type Runtime interface {
	// Start starts the sandbox and returns once its envd answers /health.
	Start(ctx context.Context, spec Spec) (*Instance, error)
	// Stop kills the sandbox and removes everything it left (processes, mounts, cgroups, files).
	// Stopping an unknown sandbox is not an error.
	Stop(ctx context.Context, id string) error
	// List returns the sandboxes the runtime is running, including ones started before a manager restart.
	List(ctx context.Context) ([]Instance, error)
	// DialEnvd opens a connection to the sandbox's envd. Other ports are reached through envd
	// (envd.Forward), never through a shared host network.
	DialEnvd(ctx context.Context, id string) (net.Conn, error)
}
