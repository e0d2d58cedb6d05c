package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Pool is a warm pool as the admin API reports it. Timeout is in seconds (0: each sandbox keeps
// the timeout its create request asks for). Ready is how many warm sandboxes exist right now.
type Pool struct {
	Name      string    `json:"name"`
	Template  string    `json:"template"`
	Size      int64     `json:"size"`
	Timeout   int64     `json:"timeout"`
	Resources Resources `json:"resources"`
	Ready     int64     `json:"ready"`
}

// Resources are the CPU (millicores) and memory (MB) of each sandbox of a pool; 0 keeps the
// template's.
type Resources struct {
	CPUMillis int64 `json:"cpuMillis"`
	MemoryMB  int64 `json:"memoryMB"`
}

// PoolSpec is the body of PUT /admin/pools/{name}.
type PoolSpec struct {
	Template  string    `json:"template"`
	Size      int64     `json:"size"`
	Timeout   int64     `json:"timeout"`
	Resources Resources `json:"resources"`
}

// ListPools returns every pool.
func (c *Client) ListPools(ctx context.Context) ([]Pool, error) {
	var out []Pool
	if err := c.do(ctx, http.MethodGet, "/admin/pools", nil, &out, ""); err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return out, nil
}

// GetPool returns the pool named name; IsNotFound(err) when there is none.
func (c *Client) GetPool(ctx context.Context, name string) (Pool, error) {
	var out Pool
	if err := c.do(ctx, http.MethodGet, "/admin/pools/"+url.PathEscape(name), nil, &out, ""); err != nil {
		return Pool{}, fmt.Errorf("get pool %q: %w", name, err)
	}
	return out, nil
}

// PutPool creates the pool or replaces its settings. The manager answers 404 when the template
// is unknown, with the available templates in the message.
func (c *Client) PutPool(ctx context.Context, name string, spec PoolSpec) (Pool, error) {
	var out Pool
	if err := c.do(ctx, http.MethodPut, "/admin/pools/"+url.PathEscape(name), spec, &out, ""); err != nil {
		return Pool{}, fmt.Errorf("put pool %q: %w", name, err)
	}
	return out, nil
}

// DeletePool deletes the pool and stops its warm sandboxes; IsNotFound(err) when there is none.
func (c *Client) DeletePool(ctx context.Context, name string) error {
	if err := c.do(ctx, http.MethodDelete, "/admin/pools/"+url.PathEscape(name), nil, nil, ""); err != nil {
		return fmt.Errorf("delete pool %q: %w", name, err)
	}
	return nil
}

// APIKey is an API key's metadata. Key (the plaintext e2b_… value) is set only in CreateKey's
// answer: the manager stores keys hashed. Source is "store" (created through the API) or "env"
// (seeded from the manager's SANDBOX_API_KEYS; such keys cannot be deleted through the API).
type APIKey struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Key       string `json:"key,omitempty"`
	CreatedAt string `json:"createdAt"`
	Source    string `json:"source"`
}

// CreateKey creates an API key called name and returns it with its plaintext.
func (c *Client) CreateKey(ctx context.Context, name string) (APIKey, error) {
	var out APIKey
	if err := c.do(ctx, http.MethodPost, "/admin/keys", map[string]string{"name": name}, &out, ""); err != nil {
		return APIKey{}, fmt.Errorf("create api key %q: %w", name, err)
	}
	return out, nil
}

// ListKeys returns every API key's metadata.
func (c *Client) ListKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	if err := c.do(ctx, http.MethodGet, "/admin/keys", nil, &out, ""); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// GetKey returns one API key's metadata; IsNotFound(err) when there is none.
func (c *Client) GetKey(ctx context.Context, id string) (APIKey, error) {
	var out APIKey
	if err := c.do(ctx, http.MethodGet, "/admin/keys/"+url.PathEscape(id), nil, &out, ""); err != nil {
		return APIKey{}, fmt.Errorf("get api key %q: %w", id, err)
	}
	return out, nil
}

// DeleteKey revokes an API key; IsNotFound(err) when there is none, IsConflict(err) when the key
// was seeded from the manager's environment.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodDelete, "/admin/keys/"+url.PathEscape(id), nil, nil, ""); err != nil {
		return fmt.Errorf("delete api key %q: %w", id, err)
	}
	return nil
}

// Template is a template in the manager's catalogue and whether this manager can run it now.
type Template struct {
	TemplateID string   `json:"templateID"`
	Aliases    []string `json:"aliases"`
	CPUCount   int64    `json:"cpuCount"`
	MemoryMB   int64    `json:"memoryMB"`
	Available  bool     `json:"available"`
	Reason     string   `json:"reason,omitempty"`
}

// Templates lists the manager's templates, with whether each can run there and why not.
func (c *Client) Templates(ctx context.Context) ([]Template, error) {
	var out []Template
	if err := c.do(ctx, http.MethodGet, "/admin/templates", nil, &out, ""); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return out, nil
}
