package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

// Route53TXTTTL is the TTL of DNS-01 challenge record sets the writer creates (lego's default).
const Route53TXTTTL = 120

// Route53TXTWriter publishes ACME DNS-01 challenge values in one Route 53 hosted zone, through the
// same record-set code as sandbox_aws_route53_record (AddTXTValue / RemoveTXTValue).
//
// Route 53 keeps one record set per name and type, and a wildcard and its apex (*.example.com and
// example.com) are validated through the same name, _acme-challenge.example.com. So SetTXT merges its
// value into the record set there and DeleteTXT removes only its own value, deleting the set when no
// other value is left. Values written by other writers at the same name are kept.
type Route53TXTWriter struct {
	conns  *Conns
	zoneID string
}

var _ acme.TXTWriter = (*Route53TXTWriter)(nil)

// NewRoute53TXTWriter writes into the hosted zone zoneID ("Z…" or "/hostedzone/Z…").
func NewRoute53TXTWriter(c *Conns, zoneID string) *Route53TXTWriter {
	return &Route53TXTWriter{conns: c, zoneID: cleanZoneID(zoneID)}
}

// SetTXT adds value to the TXT record set at fqdn and waits until the change is INSYNC. If that
// fails (or ctx ends), the value is taken out again, so a failed SetTXT leaves nothing behind.
func (w *Route53TXTWriter) SetTXT(ctx context.Context, fqdn, value string) (acme.TXTRecord, error) {
	rec := acme.TXTRecord{FQDN: canonicalRecordName(fqdn), Value: value}
	err := AddTXTValue(ctx, w.conns, w.zoneID, rec.FQDN, value, Route53TXTTTL)
	if err == nil {
		return rec, nil
	}
	err = fmt.Errorf("in Route 53 hosted zone %s: %w", w.zoneID, err)
	// The caller's context may be done; the undo still gets its own time.
	undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), route53ChangeTimeout)
	defer cancel()
	if undoErr := removeTXTValue(undoCtx, w.conns, w.zoneID, rec.FQDN, value, false); undoErr != nil {
		err = errors.Join(err, fmt.Errorf("taking the value out again: %w", undoErr))
	}
	return acme.TXTRecord{}, err
}

// DeleteTXT removes the value from the record set at its name; the set goes when it was the last.
// It returns once Route 53 has accepted the change, without waiting for INSYNC.
func (w *Route53TXTWriter) DeleteTXT(ctx context.Context, rec acme.TXTRecord) error {
	if err := removeTXTValue(ctx, w.conns, w.zoneID, rec.FQDN, rec.Value, false); err != nil {
		return fmt.Errorf("in Route 53 hosted zone %s: %w", w.zoneID, err)
	}
	return nil
}

// Advise words AWS errors (credentials, permissions, throttling, an unreachable endpoint) for
// diagnostics of callers outside this package, such as the ACME certificate writing through
// Route53TXTWriter. ok is false for errors it does not recognise.
func Advise(op framework.Op, err error) (framework.Advice, bool) { return advise(op, err) }
