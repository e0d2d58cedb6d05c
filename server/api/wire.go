package api

import (
	"encoding/json"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// The JSON shapes of §2.2, field names exactly as on the wire.

// sandboxJSON is E2B's Sandbox (create/connect response).
type sandboxJSON struct {
	SandboxID          string  `json:"sandboxID"`
	TemplateID         string  `json:"templateID"`
	Alias              string  `json:"alias,omitempty"`
	ClientID           string  `json:"clientID"`
	EnvdVersion        string  `json:"envdVersion"`
	EnvdAccessToken    string  `json:"envdAccessToken,omitempty"`
	TrafficAccessToken *string `json:"trafficAccessToken"`
	Domain             *string `json:"domain"`
}

// listedSandboxJSON is E2B's ListedSandbox.
type listedSandboxJSON struct {
	SandboxID    string            `json:"sandboxID"`
	TemplateID   string            `json:"templateID"`
	Alias        string            `json:"alias,omitempty"`
	ClientID     string            `json:"clientID"`
	StartedAt    string            `json:"startedAt"`
	EndAt        string            `json:"endAt"`
	State        string            `json:"state"`
	CPUCount     int               `json:"cpuCount"`
	MemoryMB     int               `json:"memoryMB"`
	DiskSizeMB   int               `json:"diskSizeMB"`
	EnvdVersion  string            `json:"envdVersion"`
	Metadata     map[string]string `json:"metadata"`
	VolumeMounts []volumeMount     `json:"volumeMounts"`
}

// sandboxDetailJSON is E2B's SandboxDetail: ListedSandbox plus access details.
type sandboxDetailJSON struct {
	listedSandboxJSON
	EnvdAccessToken     string        `json:"envdAccessToken,omitempty"`
	Domain              *string       `json:"domain"`
	AllowInternetAccess *bool         `json:"allowInternetAccess"`
	Network             networkJSON   `json:"network"`
	Lifecycle           lifecycleJSON `json:"lifecycle"`
}

type volumeMount struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// networkJSON is the part of SandboxNetworkConfig this manager reports: the inbound options and the
// outbound rules in force.
type networkJSON struct {
	AllowPublicTraffic bool     `json:"allowPublicTraffic"`
	MaskRequestHost    string   `json:"maskRequestHost,omitempty"`
	AllowOut           []string `json:"allowOut,omitempty"`
	DenyOut            []string `json:"denyOut,omitempty"`
}

type lifecycleJSON struct {
	OnTimeout  string `json:"onTimeout"`
	AutoResume bool   `json:"autoResume"`
}

// metricJSON is E2B's SandboxMetric. The SDK reads the deprecated string timestamp (§6.16).
type metricJSON struct {
	Timestamp     string  `json:"timestamp"`
	TimestampUnix int64   `json:"timestampUnix"`
	CPUUsedPct    float64 `json:"cpuUsedPct"`
	CPUCount      int     `json:"cpuCount"`
	MemUsed       uint64  `json:"memUsed"`
	MemTotal      uint64  `json:"memTotal"`
	MemCache      uint64  `json:"memCache"`
	DiskUsed      uint64  `json:"diskUsed"`
	DiskTotal     uint64  `json:"diskTotal"`
}

func (s *server) domainPtr() *string {
	if s.domain == "" {
		return nil
	}
	d := s.domain
	return &d
}

func (s *server) envdVersionOf(sb *sandbox.Sandbox) string {
	if sb.EnvdVersion != "" {
		return sb.EnvdVersion
	}
	return s.envdVersion
}

func clientIDOf(sb *sandbox.Sandbox) string {
	if sb.ClientID != "" {
		return sb.ClientID
	}
	return ClientID
}

func (s *server) toSandbox(sb *sandbox.Sandbox) sandboxJSON {
	return sandboxJSON{
		SandboxID:       sb.ID,
		TemplateID:      sb.Template,
		Alias:           sb.Alias,
		ClientID:        clientIDOf(sb),
		EnvdVersion:     s.envdVersionOf(sb),
		EnvdAccessToken: sb.AccessToken,
		// null for a public sandbox, as on E2B: @e2b/code-interpreter sends the header only when set.
		TrafficAccessToken: trafficTokenPtr(sb),
		Domain:             s.domainPtr(),
	}
}

func trafficTokenPtr(sb *sandbox.Sandbox) *string {
	if !sb.Inbound.Private || sb.TrafficToken == "" {
		return nil
	}
	t := sb.TrafficToken
	return &t
}

func (s *server) toListed(sb *sandbox.Sandbox) listedSandboxJSON {
	md := sb.Metadata
	if md == nil {
		md = map[string]string{}
	}
	state := sb.State
	if state == "" {
		state = sandbox.StateRunning
	}
	return listedSandboxJSON{
		SandboxID:    sb.ID,
		TemplateID:   sb.Template,
		Alias:        sb.Alias,
		ClientID:     clientIDOf(sb),
		StartedAt:    formatTime(sb.StartedAt),
		EndAt:        formatTime(sb.EndAt),
		State:        state,
		CPUCount:     sb.CPUCount,
		MemoryMB:     sb.MemoryMB,
		DiskSizeMB:   sb.DiskSizeMB,
		EnvdVersion:  s.envdVersionOf(sb),
		Metadata:     md,
		VolumeMounts: []volumeMount{},
	}
}

func (s *server) toDetail(sb *sandbox.Sandbox) sandboxDetailJSON {
	internet := !sb.Network.Disabled
	return sandboxDetailJSON{
		listedSandboxJSON:   s.toListed(sb),
		EnvdAccessToken:     sb.AccessToken,
		Domain:              s.domainPtr(),
		AllowInternetAccess: &internet,
		Network: networkJSON{AllowPublicTraffic: !sb.Inbound.Private, MaskRequestHost: sb.Inbound.MaskRequestHost,
			AllowOut: sb.Network.AllowOut, DenyOut: sb.Network.DenyOut},
		Lifecycle: lifecycleJSON{OnTimeout: "kill"},
	}
}

func toMetric(m sandbox.Metric) metricJSON {
	return metricJSON{
		Timestamp:     formatTime(m.Timestamp),
		TimestampUnix: m.Timestamp.Unix(),
		CPUUsedPct:    m.CPUUsedPct,
		CPUCount:      m.CPUCount,
		MemUsed:       m.MemUsed,
		MemTotal:      m.MemTotal,
		DiskUsed:      m.DiskUsed,
		DiskTotal:     m.DiskTotal,
	}
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// rawJSON reports whether a raw JSON field carries a value (present and not null).
func rawJSON(m json.RawMessage) bool {
	return len(m) > 0 && string(m) != "null"
}
