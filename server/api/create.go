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
// (autoPause:false, autoResume.enabled:false, secure — every sandbox gets an envd access token,
// autoPauseMemory without autoPause, an empty
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
		if len(n.HTTPSPorts) > 0 {
			why = append(why, "network.httpsPorts: the gateway speaks plain HTTP to sandbox ports")
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
	inbound, err := body.Network.inbound()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	timeout, err := s.timeoutOf(body.Timeout, defaultTimeout)
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
		OwnerKey: callerOf(r.Context()).owner(),
		Inbound:  inbound,
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

// inbound is what the network options ask of the gateway: allowPublicTraffic=false makes the sandbox
// private (its ports other than envd's need the traffic access token the create answer carries),
// maskRequestHost replaces the Host header sent to those ports.
func (n *networkConfig) inbound() (sandbox.Inbound, error) {
	if n == nil {
		return sandbox.Inbound{}, nil
	}
	if err := validMaskRequestHost(n.MaskRequestHost); err != nil {
		return sandbox.Inbound{}, err
	}
	return sandbox.Inbound{
		Private:         n.AllowPublicTraffic != nil && !*n.AllowPublicTraffic,
		MaskRequestHost: n.MaskRequestHost,
	}, nil
}

// validMaskRequestHost accepts a Host header value (a name or address, an optional port), where
// ${PORT} may stand for the sandbox port: anything else would reach in-sandbox servers as a
// malformed request.
func validMaskRequestHost(mask string) error {
	if mask == "" {
		return nil
	}
	host := strings.ReplaceAll(mask, "${PORT}", "1")
	valid := len(host) <= 255
	for _, c := range host {
		valid = valid && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._:[]", c))
	}
	if !valid {
		return fmt.Errorf("network.maskRequestHost %q is not a host name with an optional port (${PORT} stands for the sandbox port)", mask)
	}
	return nil
}

// timeoutOf converts a body's timeout in seconds: absent uses def (bounded by the maximum), ≤ 0 or
// beyond the manager's maximum is an error, as E2B answers a timeout beyond the team's maximum.
func (s *server) timeoutOf(secs *int64, def time.Duration) (time.Duration, error) {
	if secs == nil {
		return min(def, s.maxTimeout), nil
	}
	if *secs <= 0 {
		return 0, fmt.Errorf("timeout must be a positive number of seconds, got %d", *secs)
	}
	if err := s.checkTimeout("timeout", *secs); err != nil {
		return 0, err
	}
	return time.Duration(*secs) * time.Second, nil
}

// checkTimeout refuses a number of seconds beyond the manager's maximum lifetime.
func (s *server) checkTimeout(what string, secs int64) error {
	if secs > int64(s.maxTimeout/time.Second) {
		return fmt.Errorf("%s cannot be greater than %d seconds (%s), the maximum of this sandbox manager, got %d",
			what, int64(s.maxTimeout/time.Second), s.maxTimeout, secs)
	}
	return nil
}

// maxTimeoutSeconds bounds timeouts so they cannot overflow time.Duration when no lower maximum is
// configured.
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
