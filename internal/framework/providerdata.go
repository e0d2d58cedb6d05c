// Package framework is the plumbing every resource and data source of the provider shares: the
// provider-data holder handed to them in Configure (manager defaults, cloud settings, lazily built
// cloud clients, timing), embeddable bases that implement Metadata and Configure, timeouts,
// composite import identifiers and the wording of errors as diagnostics.
//
// Layers point one way: internal/provider → internal/aws, internal/pool (and later clouds) →
// internal/framework. This package never imports a cloud package or a cloud SDK; each cloud
// package builds its clients from the plain settings here, through Lazy.
package framework

import (
	"context"
	"sync"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// ProviderData is what the provider's Configure hands every resource and data source.
type ProviderData struct {
	// Version is the provider's version: what the manager image it deploys defaults to.
	Version string
	// UserAgent names the provider and its version, for every API request.
	UserAgent string
	// Manager is where sandbox_pool & co. find a manager when they do not say themselves.
	Manager ManagerDefaults
	// AWS is the provider's aws block; empty fields fall back to the standard AWS chain.
	AWS AWSSettings
	// Alibaba is the provider's alicloud block; empty fields fall back to the ALIBABA_CLOUD_* variables.
	Alibaba AlibabaSettings
	// Timing paces waiters and retries (the zero value is production pacing).
	Timing Timing

	mu   sync.Mutex
	lazy map[string]*lazyEntry
}

// ManagerDefaults is the provider's manager block resolved against the environment. Empty fields
// are unset.
type ManagerDefaults struct {
	Endpoint  string
	AdminKey  string
	UserAgent string
	// ConnectAddress ("host:port") is dialed instead of the endpoint's host, which still names the
	// TLS server; it applies only to resources that use this endpoint.
	ConnectAddress string
	// CACertificate is PEM roots trusted for this endpoint in addition to the system's.
	CACertificate string
}

// AWSSettings is the provider's aws block as configured. Empty fields are unset: the AWS SDK's
// default chain (environment, shared config and credentials files, instance roles) fills them.
type AWSSettings struct {
	Region    string
	Profile   string
	AccessKey string
	SecretKey string
	Endpoints AWSEndpoints
}

// AWSEndpoints are per-service endpoint URLs that replace the AWS ones (for a fake, a proxy or a
// VPC endpoint).
type AWSEndpoints struct {
	EC2     string
	Route53 string
	STS     string
}

// AlibabaSettings is the provider's alicloud block as configured. Empty fields are unset: the
// ALIBABA_CLOUD_* environment variables fill them when an Alibaba Cloud resource first needs a client.
type AlibabaSettings struct {
	Region    string
	AccessKey string
	SecretKey string
	Endpoints AlibabaEndpoints
}

// AlibabaEndpoints are per-product endpoints (URLs, or hosts meaning HTTPS) that replace Alibaba
// Cloud's regional ones.
type AlibabaEndpoints struct {
	VPC    string
	ECS    string
	CS     string
	Alidns string
	CAS    string
}

// Timing bounds the waits of waiters and retries. The zero value lets every resource pace itself
// as it asks (production). Tests against fakes cap intervals and skip delays, so they never sleep
// for nothing; nothing user-facing sets it.
type Timing struct {
	// MaxInterval, when > 0, caps every poll interval and the cloud SDKs' retry backoff.
	MaxInterval time.Duration
	// SkipDelays drops the initial delays waiters ask for.
	SkipDelays bool
	// Clock, when set, replaces the wall clock of waits.
	Clock retry.Clock
}

// Pace applies the timing to a resource's pacing.
func (t Timing) Pace(p retry.Pacing) retry.Pacing {
	if t.SkipDelays {
		p.Delay = 0
	}
	if t.MaxInterval > 0 {
		if p.Interval <= 0 || p.Interval > t.MaxInterval {
			p.Interval = t.MaxInterval
		}
		if p.MaxInterval <= 0 || p.MaxInterval > t.MaxInterval {
			p.MaxInterval = t.MaxInterval
		}
		p.Delay = min(p.Delay, t.MaxInterval)
	}
	if t.Clock != nil {
		p.Clock = t.Clock
	}
	return p
}

type lazyEntry struct {
	mu    sync.Mutex
	done  bool
	value any
}

// Lazy returns the value build makes for key, building it on first use and keeping it for the
// life of the provider instance (one Terraform operation). Concurrent callers wait for one build.
// A failed build is not kept: the next caller tries again.
//
// Cloud packages keep their clients here, so that nothing is built, and no cloud is contacted,
// unless a resource of that cloud is in the configuration.
func Lazy[T any](ctx context.Context, d *ProviderData, key string, build func(context.Context) (T, error)) (T, error) {
	d.mu.Lock()
	if d.lazy == nil {
		d.lazy = map[string]*lazyEntry{}
	}
	e, ok := d.lazy[key]
	if !ok {
		e = &lazyEntry{}
		d.lazy[key] = e
	}
	d.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return e.value.(T), nil
	}
	v, err := build(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	e.value, e.done = v, true
	return v, nil
}
