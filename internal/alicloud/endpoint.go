// Package alicloud holds the provider's Alibaba Cloud plumbing and resources.
package alicloud

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
)

// Endpoint is where the requests of one Alibaba Cloud product go, parsed once from the configured URL
// and applied to every request.
//
// The v1 SDK (github.com/aliyun/alibaba-cloud-sdk-go) needs all three of Domain, Port and Scheme set
// on each request to reach anything but its built-in endpoints: RPC requests would accept
// "host:port" in Domain, but ROA requests (CS) format "scheme://Domain:Port/path" and break on it, and
// the SDK's default scheme is HTTP, which production must never use. Setting the three fields from
// one parsed Endpoint works for both styles.
type Endpoint struct {
	Scheme string // "HTTPS" or "HTTP", as the SDK spells it
	Host   string // host name or IP address, without port or brackets
	Port   string // always set: the URL's port, or 443 / 80 for the scheme
}

// ParseEndpoint parses an endpoint: a URL such as "https://vpc.aliyuncs.com" or
// "http://127.0.0.1:41213", or a bare host ("vpc.cn-hangzhou.aliyuncs.com", optionally with a port),
// which means HTTPS. Paths, queries and credentials in the URL are refused: Alibaba endpoints are hosts.
func ParseEndpoint(raw string) (Endpoint, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Endpoint{}, fmt.Errorf("endpoint is empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	var e Endpoint
	switch strings.ToLower(u.Scheme) {
	case "https":
		e.Scheme, e.Port = "HTTPS", "443"
	case "http":
		e.Scheme, e.Port = "HTTP", "80"
	default:
		return Endpoint{}, fmt.Errorf("endpoint %q: scheme must be https or http", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("endpoint %q: only a scheme, a host and a port are allowed", raw)
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q has no host", raw)
	}
	if p := u.Port(); p != "" {
		e.Port = p
	}
	return e, nil
}

// String is the endpoint as a URL.
func (e Endpoint) String() string {
	return strings.ToLower(e.Scheme) + "://" + net.JoinHostPort(e.Host, e.Port)
}

// domain is the host as the SDK puts it into "scheme://Domain:Port": IPv6 addresses in brackets.
func (e Endpoint) domain() string {
	if strings.Contains(e.Host, ":") {
		return "[" + e.Host + "]"
	}
	return e.Host
}

// ApplyRPC points an RPC request (Vpc, Ecs, Alidns, cas) at the endpoint: e.ApplyRPC(req.RpcRequest).
func (e Endpoint) ApplyRPC(r *requests.RpcRequest) {
	r.Domain, r.Port, r.Scheme = e.domain(), e.Port, e.Scheme
}

// ApplyROA points a ROA request (CS) at the endpoint: e.ApplyROA(req.RoaRequest).
func (e Endpoint) ApplyROA(r *requests.RoaRequest) {
	r.Domain, r.Port, r.Scheme = e.domain(), e.Port, e.Scheme
}

// ApplyCommon points a CommonRequest at the endpoint.
func (e Endpoint) ApplyCommon(r *requests.CommonRequest) {
	r.Domain, r.Port, r.Scheme = e.domain(), e.Port, e.Scheme
}
