package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Default sandbox timeouts (§2.2): v2 clients omit timeout unless the caller set one; v1 clients
// always send one, the server default only applies to hand-written requests.
const (
	defaultTimeoutV2 = 300 * time.Second
	defaultTimeoutV1 = 15 * time.Second
	defaultTemplate  = "base"
)

// newSandboxBody is NewSandboxV2 and NewSandbox (§2.2) in one: v1 adds `secure`.
type newSandboxBody struct {
	TemplateID          string                  `json:"templateID"`
	Timeout             *int64                  `json:"timeout"`
	Metadata            map[string]string       `json:"metadata"`
	EnvVars             map[string]string       `json:"envVars"`
	AutoPause           *bool                   `json:"autoPause"`
	AutoPauseMemory     *bool                   `json:"autoPauseMemory"`
	AutoResume          *struct{ Enabled bool } `json:"autoResume"`
	AllowInternetAccess *bool                   `json:"allow_internet_access"`
	Network             *networkConfig          `json:"network"`
	IAM                 *struct {
		Tokens map[string]json.RawMessage `json:"tokens"`
	} `json:"iam"`
	VolumeMounts []volumeMount   `json:"volumeMounts"`
	MCP          json.RawMessage `json:"mcp"`
	Secure       *bool           `json:"secure"`
}

// networkConfig is SandboxNetworkConfig.
type networkConfig struct {
	AllowOut           []string        `json:"allowOut"`
	DenyOut            []string        `json:"denyOut"`
	AllowPublicTraffic *bool           `json:"allowPublicTraffic"`
	MaskRequestHost    string          `json:"maskRequestHost"`
	HTTPSPorts         []int           `json:"httpsPorts"`
	Rules              json.RawMessage `json:"rules"`
	EgressProxy        json.RawMessage `json:"egressProxy"`
}

// unsupportedOptions returns why the request asks for something this manager cannot honour, or "".
//
// Policy: options whose default behaviour is what the caller gets anyway are accepted and ignored
// (autoPause:false, autoResume.enabled:false, allowPublicTraffic:true,
// secure — every sandbox gets an envd access token, autoPauseMemory without autoPause, an empty
// network/iam/volumeMounts). Options that promise isolation, persistence or extra services the
// manager does not provide are rejected with 400, because silently ignoring them would leave the
// caller believing a sandbox is restricted (network), survives its timeout (autoPause), or has data
// it does not (volumes).
func (b *newSandboxBody) unsupportedOptions() string {
	var why []string
	if b.AutoPause != nil && *b.AutoPause {
		why = append(why, "autoPause (lifecycle.onTimeout 'pause'): sandboxes cannot be paused and are killed at their timeout")
	}
	if b.AutoResume != nil && b.AutoResume.Enabled {
		why = append(why, "autoResume: sandboxes cannot be paused")
	}
	if n := b.Network; n != nil {
		// allow_internet_access and allowOut/denyOut (IP addresses and CIDRs) go to the runtime, which
		// refuses what it cannot enforce.
		if rawJSON(n.Rules) && string(n.Rules) != "{}" || rawJSON(n.EgressProxy) {
			why = append(why, "network.rules/egressProxy: per-host rules and egress proxies are not supported")
		}
		if n.AllowPublicTraffic != nil && !*n.AllowPublicTraffic {
			why = append(why, "network.allowPublicTraffic=false: traffic access tokens are not supported")
		}
		if n.MaskRequestHost != "" || len(n.HTTPSPorts) > 0 {
			why = append(why, "network.maskRequestHost/httpsPorts are not supported")
		}
	}
	if b.IAM != nil && len(b.IAM.Tokens) > 0 {
		why = append(why, "iam tokens (workload identity) are not supported")
	}
	if len(b.VolumeMounts) > 0 {
		why = append(why, "volumeMounts: volumes are not supported")
	}
	if rawJSON(b.MCP) {
		why = append(why, "mcp: the MCP gateway is not supported")
	}
	if len(why) == 0 {
		return ""
	}
	return "not supported by this sandbox manager: " + strings.Join(why, "; ")
}

// network is the request's outbound network policy.
func (b *newSandboxBody) network() sandbox.Network {
	var n sandbox.Network
	if b.AllowInternetAccess != nil && !*b.AllowInternetAccess {
		n.Disabled = true
	}
	if b.Network != nil {
		n.AllowOut, n.DenyOut = b.Network.AllowOut, b.Network.DenyOut
	}
	return n
}

func (s *server) createV2(w http.ResponseWriter, r *http.Request) {
	s.create(w, r, defaultTimeoutV2)
}

func (s *server) createV1(w http.ResponseWriter, r *http.Request) {
	s.create(w, r, defaultTimeoutV1)
}

func (s *server) create(w http.ResponseWriter, r *http.Request, defaultTimeout time.Duration) {
	var body newSandboxBody
	if err := readBody(w, r, &body, true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if why := body.unsupportedOptions(); why != "" {
		writeError(w, http.StatusBadRequest, why)
		return
	}
	timeout, err := timeoutOf(body.Timeout, defaultTimeout)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tmpl, err := templateRef(body.TemplateID)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sb, err := s.sandboxes.Create(r.Context(), sandbox.CreateRequest{
		Template: tmpl,
		Timeout:  timeout,
		Metadata: body.Metadata,
		EnvVars:  body.EnvVars,
		OwnerKey: callerKey(r.Context()).ID,
		Network:  body.network(),
	})
	if err != nil {
		s.managerError(w, r, "create sandbox", "", err)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "sandbox created",
		slog.String("sandbox", sb.ID), slog.String("template", sb.Template))
	writeJSON(w, http.StatusCreated, s.toSandbox(sb))
}

// timeoutOf converts a body's timeout in seconds; absent uses def, ≤ 0 is an error.
func timeoutOf(secs *int64, def time.Duration) (time.Duration, error) {
	if secs == nil {
		return def, nil
	}
	if *secs <= 0 {
		return 0, fmt.Errorf("timeout must be a positive number of seconds, got %d", *secs)
	}
	if *secs > maxTimeoutSeconds {
		return 0, fmt.Errorf("timeout must be at most %d seconds, got %d", maxTimeoutSeconds, *secs)
	}
	return time.Duration(*secs) * time.Second, nil
}

// maxTimeoutSeconds bounds timeouts so they cannot overflow time.Duration; the manager applies
// its own, lower limit.
const maxTimeoutSeconds = 1 << 31

// templateRef resolves a templateID: empty is "base"; a ":default" tag is dropped (E2B's default
// tag); other tags are passed on as part of the name and resolve only if the manager knows them.
func templateRef(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return defaultTemplate, nil
	}
	ref = strings.TrimSuffix(ref, ":default")
	if strings.ContainsAny(ref, " \t\n") {
		return "", errors.New("invalid templateID")
	}
	return ref, nil
}
