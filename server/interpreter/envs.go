package interpreter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// envSource fetches the sandbox's default environment variables from envd (GET /envs). A token that
// worked is remembered for later fetches.
type envSource struct {
	url    string // envd base URL; empty disables fetching
	token  string // default X-Access-Token
	client *http.Client

	mu        sync.Mutex
	goodToken string // the last token envd accepted
}

// envdStatusError is an answer of envd other than 200.
type envdStatusError struct {
	status int
	body   string
}

func (e *envdStatusError) Error() string {
	return fmt.Sprintf("fetch envd envs: status %d: %s", e.status, e.body)
}

func newEnvSource(url, token string, client *http.Client) *envSource {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &envSource{url: strings.TrimRight(url, "/"), token: token, client: client}
}

// get fetches the variables with token (or, when empty, the last token that worked, or the
// configured one).
func (e *envSource) get(ctx context.Context, token string) (map[string]string, error) {
	if e.url == "" {
		return map[string]string{}, nil
	}
	e.mu.Lock()
	if token == "" {
		token = e.goodToken
	}
	if token == "" {
		token = e.token
	}
	e.mu.Unlock()
	vars, err := e.fetch(ctx, token)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.goodToken = token
	e.mu.Unlock()
	return vars, nil
}

func (e *envSource) fetch(ctx context.Context, token string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/envs", nil)
	if err != nil {
		return nil, fmt.Errorf("envd envs request: %w", err)
	}
	if token != "" {
		req.Header.Set("X-Access-Token", token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch envd envs: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read envd envs: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &envdStatusError{status: resp.StatusCode, body: strings.TrimSpace(string(body))}
	}
	vars := map[string]string{}
	if err := json.Unmarshal(body, &vars); err != nil {
		return nil, fmt.Errorf("decode envd envs: %w", err)
	}
	return vars, nil
}
