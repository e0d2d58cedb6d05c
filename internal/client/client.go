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
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
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

	connectAddress string         // "" dials the endpoint's host
	roots          *x509.CertPool // nil trusts the system's roots alone
	optErr         error          // the first invalid option, returned by New
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (default: one with DefaultTimeout). With WithConnectAddress
// or WithCACertificate its transport must be an *http.Transport (or nil), which the client copies.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithConnectAddress makes the client dial hostport (a "host:port", for example a load balancer's
// address) whatever the endpoint's host name resolves to, such as before its DNS record exists.
// The Host header and TLS still use the endpoint's host name: the certificate is verified against
// it, not against hostport. An invalid address makes New fail.
func WithConnectAddress(hostport string) Option {
	return func(c *Client) {
		if err := ParseConnectAddress(hostport); err != nil {
			c.setErr(err)
			return
		}
		c.connectAddress = hostport
	}
}

// WithCACertificate trusts the PEM certificates in pem (one or more, for example a staging or test
// ACME CA) in addition to the system's roots. PEM without a certificate makes New fail.
func WithCACertificate(pem string) Option {
	return func(c *Client) {
		pool, err := CertPool(pem)
		if err != nil {
			c.setErr(err)
			return
		}
		c.roots = pool
	}
}

func (c *Client) setErr(err error) {
	if c.optErr == nil {
		c.optErr = err
	}
}

// ParseConnectAddress checks that s is "host:port" with a non-empty host and a port from 1 to 65535.
func ParseConnectAddress(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("connect address %q: want host:port, for example 203.0.113.10:443 or lb.example.com:443: %w", s, err)
	}
	if host == "" {
		return fmt.Errorf("connect address %q: the host is empty; want host:port, for example 203.0.113.10:443", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("connect address %q: the port %q is not a number from 1 to 65535", s, port)
	}
	return nil
}

// CertPool returns the system's roots plus every certificate in pemText. It fails when pemText
// holds no PEM certificate or one that does not parse.
func CertPool(pemText string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots on this machine: trust the given ones alone
	}
	rest := []byte(pemText)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA certificate: PEM block %d is a %q, want CERTIFICATE blocks only", n+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: PEM block %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("CA certificate: no PEM certificate found (want one or more -----BEGIN CERTIFICATE----- blocks)")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("CA certificate: text after the last PEM certificate is not PEM")
	}
	return pool, nil
}

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
	if c.optErr != nil {
		return nil, fmt.Errorf("sandbox manager %s: %w", base, c.optErr)
	}
	if c.connectAddress != "" || c.roots != nil {
		if err := c.customizeTransport(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// customizeTransport gives the HTTP client a copy of its transport that dials the connect address
// and trusts the extra roots.
func (c *Client) customizeTransport() error {
	var tr *http.Transport
	switch t := c.http.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return fmt.Errorf("sandbox manager %s: a connect address or CA certificate needs an *http.Transport, the HTTP client has a %T", c.base, t)
	}
	if c.connectAddress != "" {
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		addr := c.connectAddress
		// Every request goes to the endpoint, so every connection goes to the connect address.
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}
		tr.Proxy = nil
	}
	if c.roots != nil {
		cfg := &tls.Config{}
		if tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
		}
		cfg.RootCAs = c.roots
		tr.TLSClientConfig = cfg
	}
	h := *c.http
	h.Transport = tr
	c.http = &h
	return nil
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
