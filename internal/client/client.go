// Package client is a small client for the sandbox manager's admin API (/admin/...): warm pools,
// API keys and the template catalogue. The Terraform provider is its main user.
//
// Every error it returns says which URL it was talking to. Transport failures are *RequestError
// (the manager could not be reached); answers with a non-2xx status are *APIError, which carries
// the manager's {code, message} body.
package client

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
)

// DefaultTimeout bounds one HTTP request when the caller's context has no earlier deadline.
const DefaultTimeout = 60 * time.Second

// Client talks to one sandbox manager with one admin key. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	adminKey  string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (default: one with DefaultTimeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the manager at endpoint (for example http://127.0.0.1:3000). The
// admin key may be empty; the manager then answers 401, which the caller reports.
func New(endpoint, adminKey string, opts ...Option) (*Client, error) {
	base, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		adminKey:  adminKey,
		http:      &http.Client{Timeout: DefaultTimeout},
		userAgent: "sandboxstack-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ParseEndpoint checks that endpoint is an absolute http(s) URL without query or fragment and
// returns it without a trailing slash.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	if !strings.Contains(endpoint, "://") {
		return nil, fmt.Errorf("sandbox manager endpoint %q: want an http:// or https:// URL, for example http://127.0.0.1:3000", endpoint)
	}
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return nil, fmt.Errorf("sandbox manager endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("sandbox manager endpoint %q: want an http:// or https:// URL", endpoint)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("sandbox manager endpoint %q: the URL has no host", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sandbox manager endpoint %q: the URL must not have a query or fragment", endpoint)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Endpoint is the manager's base URL.
func (c *Client) Endpoint() string { return c.base.String() }

// RequestError is a request that got no HTTP answer: the manager is down, the address is wrong,
// TLS failed, or the context ended.
type RequestError struct {
	Method string
	URL    string
	Err    error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// APIError is a non-2xx answer from the manager.
type APIError struct {
	Method     string
	URL        string
	StatusCode int
	// Message is the manager's error message (or the raw body when it was not JSON).
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether the manager rejected the admin key (401).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether the manager refused the admin API (403: started without
// SANDBOX_ADMIN_KEY).
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsConflict reports whether err is a 409 answer.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == status
}

// errorBody is the manager's error shape.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// maxBody bounds how much of an answer is read.
const maxBody = 8 << 20

// do sends a request with the admin key (and, if apiKey is set, X-API-Key instead) and decodes
// a JSON answer into out (nil: the body is discarded).
func (c *Client) do(ctx context.Context, method, path string, in, out any, apiKey string) error {
	u := c.base.JoinPath(path)
	target := u.String()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, target, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if apiKey != "" {
		req.Header.Set("X-API-Key", apiKey)
	} else if c.adminKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.adminKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Strip url.Error's own "Get \"...\":" prefix: RequestError names method and URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &RequestError{Method: method, URL: target, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &RequestError{Method: method, URL: target, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Method: method, URL: target, StatusCode: resp.StatusCode}
		var eb errorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Message != "" {
			ae.Message = eb.Message
		} else {
			ae.Message = strings.TrimSpace(string(raw))
			if ae.Message == "" {
				ae.Message = "(empty answer)"
			}
		}
		return ae
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer (%d bytes): %w", method, target, len(raw), err)
	}
	return nil
}

// Health checks GET /health, which needs no credentials.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/health", nil, nil, "")
}
