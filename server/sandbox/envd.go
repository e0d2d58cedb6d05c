package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// envdCall does one HTTP request to a sandbox's envd over Runtime.DialEnvd and decodes a JSON answer
// into out (when out is not nil). Any 2xx status is success.
func (m *Manager) envdCall(ctx context.Context, id, token, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	// One connection per call: the runtime decides how envd is reached (a unix socket, a pod IP), so
	// the transport cannot be shared across sandboxes, and calls are rare enough not to need pooling.
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return m.rt.DialEnvd(ctx, id)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, method, "http://envd"+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Access-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// envdInit replaces the sandbox's default environment through envd's POST /init (§3.6.6). The
// runtime inits envd only at start, so a claimed warm sandbox gets its final env vars this way.
func (m *Manager) envdInit(ctx context.Context, id, token string, env map[string]string) error {
	body := struct {
		EnvVars map[string]string `json:"envVars"`
	}{env}
	return m.envdCall(ctx, id, token, http.MethodPost, "/init", body, nil)
}

// envdMetrics is envd's GET /metrics answer (§3.6.5).
type envdMetrics struct {
	Timestamp  int64   `json:"ts"`
	CPUCount   int     `json:"cpu_count"`
	CPUUsedPct float64 `json:"cpu_used_pct"`
	MemTotal   uint64  `json:"mem_total"`
	MemUsed    uint64  `json:"mem_used"`
	DiskUsed   uint64  `json:"disk_used"`
	DiskTotal  uint64  `json:"disk_total"`
}

// Metrics returns one sample of the sandbox's resource use, read from its envd now. (The manager keeps
// no history; E2B's start/end range is answered with the current sample.)
func (m *Manager) Metrics(ctx context.Context, id string) ([]Metric, error) {
	r, err := m.store.Sandbox(ctx, id)
	if err == nil {
		err = visibleRecord(r)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics of sandbox %q: %w", id, err)
	}
	token := r.AccessToken
	var em envdMetrics
	if err := m.envdCall(ctx, id, token, http.MethodGet, "/metrics", nil, &em); err != nil {
		return nil, fmt.Errorf("metrics of sandbox %q: %w", id, err)
	}
	ts := time.Unix(em.Timestamp, 0).UTC()
	if em.Timestamp == 0 {
		ts = m.now().UTC()
	}
	return []Metric{{
		Timestamp:  ts,
		CPUCount:   em.CPUCount,
		CPUUsedPct: em.CPUUsedPct,
		MemUsed:    em.MemUsed,
		MemTotal:   em.MemTotal,
		DiskUsed:   em.DiskUsed,
		DiskTotal:  em.DiskTotal,
	}}, nil
}
