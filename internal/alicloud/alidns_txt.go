package alicloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// AlidnsTXTTTL is the TTL of DNS-01 challenge records the writer creates: the lowest TTL every
// Alidns edition accepts (paid editions go lower, the free one does not).
const AlidnsTXTTTL = 600

// errDomainNotFound is Alidns's answer for a domain the account does not host.
const errDomainNotFound = "InvalidDomainName.NoExist"

// txtDeleteTimeout bounds the retries of a busy record's deletion (the caller's context may end it sooner).
const txtDeleteTimeout = 2 * time.Minute

// AlidnsTXTWriter publishes ACME DNS-01 challenge values in one Alidns domain, through the same record
// code as sandbox_alicloud_dns_record.
//
// Alidns keeps one record per value, so the two values a wildcard and its base name need at the same
// name (_acme-challenge.example.com) are two records. SetTXT returns the record's ID in
// TXTRecord.ID and DeleteTXT deletes by that ID: records of the same name written by others are kept.
type AlidnsTXTWriter struct {
	dns    DNSRecords
	domain string
}

var _ acme.TXTWriter = (*AlidnsTXTWriter)(nil)

// NewAlidnsTXTWriter writes into the Alidns domain ("example.com", as the Alibaba Cloud DNS console
// lists it).
func NewAlidnsTXTWriter(c *Conns, domain string) *AlidnsTXTWriter {
	return &AlidnsTXTWriter{dns: c.DNS(), domain: normalizeDomain(domain)}
}

func normalizeDomain(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
}

// rr is the host record of fqdn within the writer's domain ("@" for the domain itself).
func (w *AlidnsTXTWriter) rr(fqdn string) (string, error) {
	name := normalizeDomain(fqdn)
	if name == w.domain {
		return "@", nil
	}
	if rr, ok := strings.CutSuffix(name, "."+w.domain); ok && rr != "" {
		return rr, nil
	}
	return "", fmt.Errorf("%s is not inside Alidns domain %s", name, w.domain)
}

// SetTXT adds a TXT record with value at fqdn and returns once reads show it. A value that is
// published there already (a retried challenge) is found and returned. If the write fails (or ctx
// ends) after Alidns may have created the record, the record is deleted again, so a failed SetTXT
// leaves nothing behind.
func (w *AlidnsTXTWriter) SetTXT(ctx context.Context, fqdn, value string) (acme.TXTRecord, error) {
	rr, err := w.rr(fqdn)
	if err != nil {
		return acme.TXTRecord{}, err
	}
	rec := acme.TXTRecord{FQDN: normalizeDomain(fqdn) + ".", Value: value}
	rec.ID, err = w.dns.AddTXT(ctx, w.domain, rr, value, AlidnsTXTTTL)
	if err == nil {
		return rec, nil
	}
	err = fmt.Errorf("in Alidns domain %s: %w", w.domain, err)
	if !mayHaveCreated(rec.ID, err) {
		return acme.TXTRecord{}, err
	}
	// The caller's context may be done; the undo gets its own time.
	undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), txtDeleteTimeout)
	defer cancel()
	if undoErr := w.undo(undoCtx, rec.ID, rr, value); undoErr != nil {
		err = errors.Join(err, fmt.Errorf("taking the record out again: %w", undoErr))
	}
	return acme.TXTRecord{}, err
}

// mayHaveCreated reports whether a failed AddTXT may have left a record behind: Alidns answered with
// the record's ID, or the request ended without an answer from Alidns (a cut connection, the
// deadline), or Alidns found the value published already. An API error means nothing was created.
func mayHaveCreated(id string, err error) bool {
	if id != "" {
		return true
	}
	var refused *sdkerrors.ServerError
	return !errors.As(err, &refused) || isCode(err, errRecordDuplicate)
}

// undo deletes the record a failed SetTXT may have created: by its ID when Alidns answered with one,
// else by looking for it (the request may have been cut short after Alidns created the record).
func (w *AlidnsTXTWriter) undo(ctx context.Context, id, rr, value string) error {
	if id != "" {
		return w.dns.Delete(ctx, id, txtDeleteTimeout)
	}
	r, err := w.dns.Find(ctx, w.domain, rr, "TXT", value)
	if retry.IsNotFound(err) || isCode(err, errDomainNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return w.dns.Delete(ctx, r.ID, txtDeleteTimeout)
}

// DeleteTXT deletes the record SetTXT created; one that is gone already is fine.
func (w *AlidnsTXTWriter) DeleteTXT(ctx context.Context, rec acme.TXTRecord) error {
	if rec.ID == "" {
		return fmt.Errorf("the TXT record %s has no Alidns record ID", rec.FQDN)
	}
	if err := w.dns.Delete(ctx, rec.ID, txtDeleteTimeout); err != nil {
		return fmt.Errorf("in Alidns domain %s, record %s: %w", w.domain, rec.ID, err)
	}
	return nil
}

// Advise words Alibaba Cloud errors (settings, credentials, permissions, throttling, an unreachable
// endpoint) for diagnostics of callers outside this package, such as the ACME certificate writing
// through AlidnsTXTWriter. ok is false for errors it does not recognise.
func Advise(op framework.Op, err error) (framework.Advice, bool) { return advise(op, err) }
