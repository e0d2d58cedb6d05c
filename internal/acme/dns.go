package acme

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
)

// TXTRecord identifies one TXT value written for a DNS-01 challenge.
type TXTRecord struct {
	// FQDN is the record name with a trailing dot, e.g. "_acme-challenge.example.com.".
	FQDN string
	// Value is the TXT value (the key authorization digest).
	Value string
	// ID is whatever the writer needs to delete exactly this value later (an Alidns RecordId, say).
	// Writers that need nothing beyond FQDN and Value leave it empty.
	ID string
}

// TXTWriter writes and removes DNS-01 challenge records in a DNS service.
//
// A wildcard name and its apex (*.example.com and example.com) are validated through the same name,
// _acme-challenge.example.com, with two different values that must be published at the same time:
// SetTXT adds a value next to the ones already there (Route 53 merges it into the record set,
// Alidns adds one record per value) and DeleteTXT removes only its own value.
type TXTWriter interface {
	// SetTXT publishes value at fqdn and returns once the DNS service has accepted the change (for
	// Route 53, once the change is INSYNC). On error nothing must be left published.
	SetTXT(ctx context.Context, fqdn, value string) (TXTRecord, error)
	// DeleteTXT removes a value written by SetTXT. Removing one that is already gone is not an error.
	DeleteTXT(ctx context.Context, record TXTRecord) error
}

// Propagation says how to wait, after the TXT records are written, before asking the CA to validate.
// The zero value is lego's default: poll the zone's authoritative name servers (found through SOA
// and NS lookups via RecursiveNameservers) for up to 60 s, every 2 s.
type Propagation struct {
	// SkipCheck skips querying DNS: after Wait, the CA is asked to validate right away. Use it
	// against DNS servers without SOA and NS answers, such as a test DNS server.
	SkipCheck bool
	// Wait is a fixed delay before the check (or instead of it, with SkipCheck).
	Wait time.Duration
	// Timeout bounds the check (default 60 s).
	Timeout time.Duration
	// PollInterval is the delay between checks, and lego also sleeps it once before the first
	// check of each name, with SkipCheck too (default 2 s).
	PollInterval time.Duration
	// RecursiveNameservers ("host:port") are used for the check and to follow a CNAME on
	// _acme-challenge.<name> to the name actually written. Default: the system's resolvers.
	// lego v4 keeps this list in a package variable: one process should use one list.
	RecursiveNameservers []string
	// DisableAuthoritativeCheck only asks the recursive name servers, not the zone's authoritative ones.
	DisableAuthoritativeCheck bool
}

const (
	defaultPropagationTimeout = dns01.DefaultPropagationTimeout
	defaultPollInterval       = dns01.DefaultPollingInterval
	// cleanupTimeout bounds the deletion of challenge records, which runs even when the caller's
	// context is already done.
	cleanupTimeout = 2 * time.Minute
)

func (p Propagation) validate() error {
	if p.Wait < 0 || p.Timeout < 0 || p.PollInterval < 0 {
		return errors.New("propagation: wait, timeout and poll interval must not be negative")
	}
	return nil
}

// options turns the settings into lego's challenge options.
func (p Propagation) options() []dns01.ChallengeOption {
	var opts []dns01.ChallengeOption
	if p.SkipCheck || p.Wait > 0 {
		opts = append(opts, dns01.PropagationWait(p.Wait, p.SkipCheck))
	}
	if p.DisableAuthoritativeCheck {
		opts = append(opts, dns01.DisableAuthoritativeNssPropagationRequirement(), dns01.RecursiveNSsPropagationRequirement())
	}
	if len(p.RecursiveNameservers) > 0 && setRecursiveNameservers(p.RecursiveNameservers) {
		opts = append(opts, dns01.AddRecursiveNameservers(p.RecursiveNameservers))
	}
	return opts
}

var (
	nameserversMu   sync.Mutex
	nameserversLast []string
)

// setRecursiveNameservers reports whether lego's process-wide list must be changed, so that calls
// with the list already in place don't write lego's package variable while another issuance reads it.
func setRecursiveNameservers(ns []string) bool {
	nameserversMu.Lock()
	defer nameserversMu.Unlock()
	if slices.Equal(ns, nameserversLast) {
		return false
	}
	nameserversLast = slices.Clone(ns)
	return true
}

// TXTError is a failure of the TXTWriter.
type TXTError struct {
	Op   string // "write" or "delete"
	FQDN string
	Err  error
}

func (e *TXTError) Error() string {
	return fmt.Sprintf("%s TXT record %s: %v", e.Op, e.FQDN, e.Err)
}

func (e *TXTError) Unwrap() error { return e.Err }

// dnsProvider is lego's challenge.Provider on top of a TXTWriter, for one issuance. It remembers
// every record it wrote until it has deleted it, so removeRemaining can delete whatever lego did not
// clean up.
type dnsProvider struct {
	ctx      context.Context
	writer   TXTWriter
	timeout  time.Duration
	interval time.Duration
	log      *slog.Logger

	mu        sync.Mutex
	presented int
	live      map[string]TXTRecord // by key authorization
}

var _ challenge.ProviderTimeout = (*dnsProvider)(nil)

func newDNSProvider(ctx context.Context, w TXTWriter, p Propagation, log *slog.Logger) *dnsProvider {
	d := &dnsProvider{
		ctx: ctx, writer: w, log: log,
		timeout: p.Timeout, interval: p.PollInterval,
		live: make(map[string]TXTRecord),
	}
	if d.timeout == 0 {
		d.timeout = defaultPropagationTimeout
	}
	if d.interval == 0 {
		d.interval = defaultPollInterval
	}
	return d
}

// Present writes the challenge record. domain is the identifier without "*." for a wildcard, so a
// wildcard and its apex arrive with the same domain and different key authorizations.
func (d *dnsProvider) Present(domain, _, keyAuth string) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	info := dns01.GetChallengeInfo(domain, keyAuth)
	rec, err := d.writer.SetTXT(d.ctx, info.EffectiveFQDN, info.Value)
	if err != nil {
		return &TXTError{Op: "write", FQDN: info.EffectiveFQDN, Err: err}
	}
	if rec.FQDN == "" {
		rec.FQDN, rec.Value = info.EffectiveFQDN, info.Value
	}
	d.log.Debug("DNS-01 record written", "domain", domain, "fqdn", rec.FQDN)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.presented++
	d.live[keyAuth] = rec
	return nil
}

// CleanUp deletes the record Present wrote for this key authorization, if any.
func (d *dnsProvider) CleanUp(domain, _, keyAuth string) error {
	d.mu.Lock()
	rec, ok := d.live[keyAuth]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	if err := d.delete(rec); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.live, keyAuth)
	d.mu.Unlock()
	d.log.Debug("DNS-01 record deleted", "domain", domain, "fqdn", rec.FQDN)
	return nil
}

func (d *dnsProvider) delete(rec TXTRecord) error {
	// Records must go even when the issuance was cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), cleanupTimeout)
	defer cancel()
	if err := d.writer.DeleteTXT(ctx, rec); err != nil {
		return &TXTError{Op: "delete", FQDN: rec.FQDN, Err: err}
	}
	return nil
}

// Timeout implements challenge.ProviderTimeout.
func (d *dnsProvider) Timeout() (timeout, interval time.Duration) { return d.timeout, d.interval }

// removeRemaining deletes the records lego did not clean up (or failed to), and reports the ones
// that could not be deleted.
func (d *dnsProvider) removeRemaining() error {
	d.mu.Lock()
	remaining := make(map[string]TXTRecord, len(d.live))
	for k, rec := range d.live {
		remaining[k] = rec
	}
	d.mu.Unlock()
	var errs []error
	for k, rec := range remaining {
		if err := d.delete(rec); err != nil {
			errs = append(errs, err)
			continue
		}
		d.mu.Lock()
		delete(d.live, k)
		d.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (d *dnsProvider) presentedAny() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.presented > 0
}
