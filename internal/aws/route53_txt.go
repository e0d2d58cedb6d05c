package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	route53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Route53TXTTTL is the TTL of DNS-01 challenge record sets the writer creates (lego's default).
const Route53TXTTTL = 120

// route53ChangeTimeout bounds the wait for a change to be INSYNC (AWS: usually within 60 s).
const route53ChangeTimeout = 5 * time.Minute

// route53Pacing is how the wait for INSYNC polls: after 1 s, doubling up to 10 s (lego and
// terraform-provider-aws poll about as often).
var route53Pacing = retry.Pacing{Interval: time.Second, MaxInterval: 10 * time.Second}

// Route53TXTWriter publishes ACME DNS-01 challenge values in one Route 53 hosted zone.
//
// Route 53 keeps one record set per name and type, and a wildcard and its apex (*.example.com and
// example.com) are validated through the same name, _acme-challenge.example.com. So SetTXT merges
// its value into the record set there (UPSERT of the existing values plus its own) and DeleteTXT
// removes only its own value, deleting the set when no other value is left. Values written by other
// writers at the same name (another certificate, another tool) are kept.
type Route53TXTWriter struct {
	conns  *Conns
	zoneID string
}

var _ acme.TXTWriter = (*Route53TXTWriter)(nil)

// NewRoute53TXTWriter writes into the hosted zone zoneID ("Z…" or "/hostedzone/Z…").
func NewRoute53TXTWriter(c *Conns, zoneID string) *Route53TXTWriter {
	return &Route53TXTWriter{conns: c, zoneID: strings.TrimPrefix(zoneID, "/hostedzone/")}
}

// SetTXT adds value to the TXT record set at fqdn and waits until the change is INSYNC. If the wait
// fails (or ctx ends), the value is taken out again.
func (w *Route53TXTWriter) SetTXT(ctx context.Context, fqdn, value string) (acme.TXTRecord, error) {
	rec := acme.TXTRecord{FQDN: canonicalFQDN(fqdn), Value: value}
	if err := w.change(ctx, rec, true); err != nil {
		return acme.TXTRecord{}, err
	}
	return rec, nil
}

// DeleteTXT removes the value from the record set at its name; the set goes when it was the last.
// It returns once Route 53 has accepted the change, without waiting for INSYNC.
func (w *Route53TXTWriter) DeleteTXT(ctx context.Context, rec acme.TXTRecord) error {
	return w.change(ctx, acme.TXTRecord{FQDN: canonicalFQDN(rec.FQDN), Value: rec.Value}, false)
}

func (w *Route53TXTWriter) change(ctx context.Context, rec acme.TXTRecord, add bool) error {
	w.conns.route53TXTMu.Lock()
	defer w.conns.route53TXTMu.Unlock()
	return w.changeLocked(ctx, rec, add)
}

func (w *Route53TXTWriter) changeLocked(ctx context.Context, rec acme.TXTRecord, add bool) error {
	current, err := w.find(ctx, rec.FQDN)
	if err != nil {
		return err
	}
	quoted := quoteTXT(rec.Value)
	var values []string
	ttl := int64(Route53TXTTTL)
	if current != nil {
		ttl = awssdk.ToInt64(current.TTL)
		for _, r := range current.ResourceRecords {
			values = append(values, awssdk.ToString(r.Value))
		}
	}
	has := slices.ContainsFunc(values, func(v string) bool { return unquoteTXT(v) == rec.Value })
	var ch route53types.Change
	switch {
	case add && has, !add && !has:
		return nil
	case add:
		ch = upsertTXT(rec.FQDN, ttl, append(values, quoted))
	case len(values) == 1:
		// A DELETE must name the set exactly as it is.
		ch = route53types.Change{Action: route53types.ChangeActionDelete, ResourceRecordSet: current}
	default:
		ch = upsertTXT(rec.FQDN, ttl, slices.DeleteFunc(values, func(v string) bool { return unquoteTXT(v) == rec.Value }))
	}
	verb := "adding"
	if !add {
		verb = "removing"
	}
	out, err := w.conns.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: awssdk.String(w.zoneID),
		ChangeBatch: &route53types.ChangeBatch{
			Comment: awssdk.String("ACME DNS-01 challenge (terraform-provider-sandbox)"),
			Changes: []route53types.Change{ch},
		},
	})
	if err != nil {
		// The SDK's error text leaves out why the batch was refused.
		var icb *route53types.InvalidChangeBatch
		if errors.As(err, &icb) && len(icb.Messages) > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.Join(icb.Messages, "; "))
		}
		return fmt.Errorf("%s TXT value at %s in Route 53 hosted zone %s: %w", verb, rec.FQDN, w.zoneID, err)
	}
	if !add {
		// Nothing waits for a removal to be visible.
		return nil
	}
	if err := w.waitInSync(ctx, awssdk.ToString(out.ChangeInfo.Id)); err != nil {
		err = fmt.Errorf("waiting for Route 53 change at %s in hosted zone %s: %w", rec.FQDN, w.zoneID, err)
		// SetTXT must leave nothing behind when it fails. The caller's context may be done.
		undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), route53ChangeTimeout)
		defer cancel()
		if undoErr := w.changeLocked(undoCtx, rec, false); undoErr != nil {
			err = errors.Join(err, fmt.Errorf("taking the value out again: %w", undoErr))
		}
		return err
	}
	return nil
}

// find returns the TXT record set at fqdn, or nil.
func (w *Route53TXTWriter) find(ctx context.Context, fqdn string) (*route53types.ResourceRecordSet, error) {
	out, err := w.conns.Route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId:    awssdk.String(w.zoneID),
		StartRecordName: awssdk.String(fqdn),
		StartRecordType: route53types.RRTypeTxt,
		MaxItems:        awssdk.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("reading TXT record set %s in Route 53 hosted zone %s: %w", fqdn, w.zoneID, err)
	}
	for i := range out.ResourceRecordSets {
		rs := &out.ResourceRecordSets[i]
		if rs.Type == route53types.RRTypeTxt && canonicalFQDN(awssdk.ToString(rs.Name)) == fqdn && rs.SetIdentifier == nil {
			return rs, nil
		}
	}
	return nil, nil
}

func (w *Route53TXTWriter) waitInSync(ctx context.Context, changeID string) error {
	conf := retry.StateChangeConf[string]{
		Pending: []string{string(route53types.ChangeStatusPending)},
		Target:  []string{string(route53types.ChangeStatusInsync)},
		Refresh: func(ctx context.Context) (string, string, error) {
			out, err := w.conns.Route53.GetChange(ctx, &route53.GetChangeInput{Id: awssdk.String(changeID)})
			if err != nil {
				return "", "", err
			}
			return changeID, string(out.ChangeInfo.Status), nil
		},
		Timeout: route53ChangeTimeout,
		Pacing:  w.conns.Pace(route53Pacing),
	}
	_, err := conf.Wait(ctx)
	return err
}

func upsertTXT(fqdn string, ttl int64, values []string) route53types.Change {
	rrs := make([]route53types.ResourceRecord, 0, len(values))
	for _, v := range values {
		rrs = append(rrs, route53types.ResourceRecord{Value: awssdk.String(v)})
	}
	return route53types.Change{
		Action: route53types.ChangeActionUpsert,
		ResourceRecordSet: &route53types.ResourceRecordSet{
			Name: awssdk.String(fqdn), Type: route53types.RRTypeTxt, TTL: awssdk.Int64(ttl), ResourceRecords: rrs,
		},
	}
}

// canonicalFQDN lower-cases a name, adds the trailing dot and decodes Route 53's \052 for '*'.
func canonicalFQDN(name string) string {
	name = strings.ToLower(strings.ReplaceAll(name, `\052`, "*"))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// quoteTXT is a TXT value in Route 53's zone-file form: quoted, split into 255-byte strings.
func quoteTXT(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, strconv.Quote(v[:255]))
		v = v[255:]
	}
	return strings.Join(append(parts, strconv.Quote(v)), " ")
}

// unquoteTXT undoes quoteTXT (and reads values other tools wrote, quoted or not).
func unquoteTXT(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	in, escaped := false, false
	for _, c := range v {
		switch {
		case escaped:
			b.WriteRune(c)
			escaped = false
		case c == '\\' && in:
			escaped = true
		case c == '"':
			in = !in
		case in:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Advise words AWS errors (credentials, permissions, throttling, an unreachable endpoint) for
// diagnostics of callers outside this package, such as the ACME certificate writing through
// Route53TXTWriter. ok is false for errors it does not recognise.
func Advise(op framework.Op, err error) (framework.Advice, bool) { return advise(op, err) }
