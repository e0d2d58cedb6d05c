package managerharness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process/processconnect"
)

// EnvdPort is the port of envd inside a sandbox.
const EnvdPort = 49983

// ErrNotFound is returned for a 404 from the manager.
var ErrNotFound = errors.New("not found")

// StatusError is a response with an unexpected status.
type StatusError struct {
	Op     string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.Op, e.Status, strings.TrimSpace(e.Body))
}

// Client talks to one manager: its control plane with an API key, and sandboxes' envd through its
// gateway (E2b-Sandbox-Id / E2b-Sandbox-Port headers).
type Client struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
}

// NewClient returns a client of the manager at baseURL.
func NewClient(baseURL, apiKey string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), APIKey: apiKey,
		HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// Sandbox is E2B's create response.
type Sandbox struct {
	SandboxID       string `json:"sandboxID"`
	TemplateID      string `json:"templateID"`
	Alias           string `json:"alias"`
	ClientID        string `json:"clientID"`
	EnvdVersion     string `json:"envdVersion"`
	EnvdAccessToken string `json:"envdAccessToken"`
	// TrafficAccessToken is set for sandboxes created with Network.AllowPublicTraffic false.
	TrafficAccessToken string `json:"trafficAccessToken"`
}

// Listed is one entry of GET /v2/sandboxes.
type Listed struct {
	SandboxID  string            `json:"sandboxID"`
	TemplateID string            `json:"templateID"`
	Alias      string            `json:"alias"`
	StartedAt  string            `json:"startedAt"`
	EndAt      string            `json:"endAt"`
	State      string            `json:"state"`
	Metadata   map[string]string `json:"metadata"`
}

// CreateOptions is the body of POST /v2/sandboxes.
type CreateOptions struct {
	Template string            `json:"templateID"`
	Timeout  int               `json:"timeout,omitempty"` // seconds
	Metadata map[string]string `json:"metadata,omitempty"`
	EnvVars  map[string]string `json:"envVars,omitempty"`
	Network  *Network          `json:"network,omitempty"`
}

// Network is the inbound part of E2B's SandboxNetworkConfig.
type Network struct {
	AllowPublicTraffic *bool  `json:"allowPublicTraffic,omitempty"`
	MaskRequestHost    string `json:"maskRequestHost,omitempty"`
}

// Healthy reports whether the control plane's /health answers 2xx.
func (c *Client) Healthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/health", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return false
	}
	drain(resp)
	return resp.StatusCode/100 == 2
}

// do sends a control-plane request with the API key and returns status and body.
func (c *Client) do(ctx context.Context, method, path string, body any) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-API-Key", c.APIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header, err
}

// CreateContext creates a sandbox; the context may be cancelled mid-flight.
func (c *Client) CreateContext(ctx context.Context, o CreateOptions) (*Sandbox, error) {
	if o.Template == "" {
		o.Template = "base"
	}
	status, raw, _, err := c.do(ctx, http.MethodPost, "/v2/sandboxes", o)
	if err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	if status != http.StatusCreated {
		return nil, &StatusError{Op: "create sandbox", Status: status, Body: string(raw)}
	}
	var sb Sandbox
	if err := json.Unmarshal(raw, &sb); err != nil {
		return nil, fmt.Errorf("create sandbox: decode %q: %w", raw, err)
	}
	if sb.SandboxID == "" || sb.EnvdAccessToken == "" {
		return nil, fmt.Errorf("create sandbox: no sandboxID or envdAccessToken in %s", raw)
	}
	return &sb, nil
}

// Create creates a sandbox with a one-minute bound on the request.
func (c *Client) Create(o CreateOptions) (*Sandbox, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.CreateContext(ctx, o)
}

// Kill kills a sandbox: nil on 204, ErrNotFound (wrapped) on 404.
func (c *Client) Kill(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, raw, _, err := c.do(ctx, http.MethodDelete, "/sandboxes/"+url.PathEscape(id), nil)
	switch {
	case err != nil:
		return fmt.Errorf("kill sandbox %s: %w", id, err)
	case status == http.StatusNoContent:
		return nil
	case status == http.StatusNotFound:
		return fmt.Errorf("kill sandbox %s: %w", id, ErrNotFound)
	default:
		return &StatusError{Op: "kill sandbox " + id, Status: status, Body: string(raw)}
	}
}

// List returns every sandbox GET /v2/sandboxes lists (all pages).
func (c *Client) List() ([]Listed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var all []Listed
	next := ""
	for {
		path := "/v2/sandboxes?limit=100"
		if next != "" {
			path += "&nextToken=" + url.QueryEscape(next)
		}
		status, raw, h, err := c.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, fmt.Errorf("list sandboxes: %w", err)
		}
		if status != http.StatusOK {
			return nil, &StatusError{Op: "list sandboxes", Status: status, Body: string(raw)}
		}
		var page []Listed
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("list sandboxes: decode: %w", err)
		}
		all = append(all, page...)
		n := h.Get("X-Next-Token")
		if n == "" || n == next {
			return all, nil
		}
		next = n
	}
}

// ListIDs returns the IDs of the listed sandboxes.
func (c *Client) ListIDs() ([]string, error) {
	l, err := c.List()
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(l))
	for _, s := range l {
		ids = append(ids, s.SandboxID)
	}
	return ids, nil
}

// sandboxTransport routes every request to one sandbox's envd through the manager's gateway.
type sandboxTransport struct {
	base        http.RoundTripper
	id, token   string
	sandboxPort int
}

func (t sandboxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("E2b-Sandbox-Id", t.id)
	req.Header.Set("E2b-Sandbox-Port", fmt.Sprint(t.sandboxPort))
	if t.token != "" {
		req.Header.Set("X-Access-Token", t.token)
	}
	return t.base.RoundTrip(req)
}

// SandboxHTTP returns an HTTP client whose requests (to c.BaseURL) reach the sandbox's envd.
func (c *Client) SandboxHTTP(id, token string) *http.Client {
	return &http.Client{Transport: sandboxTransport{base: c.HTTP.Transport, id: id, token: token, sandboxPort: EnvdPort}}
}

// EnvdHealth checks envd's GET /health through the gateway (204 expected).
func (c *Client) EnvdHealth(ctx context.Context, id, token string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/health", nil)
	resp, err := c.SandboxHTTP(id, token).Do(req)
	if err != nil {
		return fmt.Errorf("envd health of %s: %w", id, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return &StatusError{Op: "envd health of " + id, Status: resp.StatusCode, Body: string(body)}
	}
	return nil
}

// ProcessList calls envd's Connect process.Process/List through the gateway and returns the number
// of processes it reports.
func (c *Client) ProcessList(ctx context.Context, id, token string) (int, error) {
	pc := processconnect.NewProcessClient(c.SandboxHTTP(id, token), c.BaseURL, connect.WithProtoJSON())
	resp, err := pc.List(ctx, connect.NewRequest(&process.ListRequest{}))
	if err != nil {
		return 0, fmt.Errorf("process list of %s: %w", id, err)
	}
	return len(resp.Msg.GetProcesses()), nil
}

// Result is a finished command.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run runs script with `/bin/bash -l -c` in the sandbox through envd's process service (as the SDK
// does) and waits for it to end.
func (c *Client) Run(ctx context.Context, id, token, script string) (Result, error) {
	pc := processconnect.NewProcessClient(c.SandboxHTTP(id, token), c.BaseURL, connect.WithProtoJSON())
	stream, err := pc.Start(ctx, connect.NewRequest(&process.StartRequest{Process: &process.ProcessConfig{
		Cmd: "/bin/bash", Args: []string{"-l", "-c", script},
	}}))
	if err != nil {
		return Result{}, fmt.Errorf("run %q in %s: %w", script, id, err)
	}
	defer stream.Close()
	var out Result
	var stdout, stderr strings.Builder
	ended := false
	for stream.Receive() {
		ev := stream.Msg().GetEvent()
		if d := ev.GetData(); d != nil {
			stdout.Write(d.GetStdout())
			stderr.Write(d.GetStderr())
		}
		if e := ev.GetEnd(); e != nil {
			out.ExitCode = int(e.GetExitCode())
			ended = true
		}
	}
	if err := stream.Err(); err != nil {
		return Result{}, fmt.Errorf("run %q in %s: %w", script, id, err)
	}
	if !ended {
		return Result{}, fmt.Errorf("run %q in %s: stream ended without an end event", script, id)
	}
	out.Stdout, out.Stderr = stdout.String(), stderr.String()
	return out, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
