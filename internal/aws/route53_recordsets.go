package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Route 53 record sets: the one place that writes them. Resources (sandbox_aws_route53_record) and
// DNS-01 challenge solvers (AddTXTValue/RemoveTXTValue) go through here, so names, TXT quoting and
// waiting for INSYNC are done the same way everywhere.
//
// Route 53 gotchas handled here: names come back fully qualified, lower case, and with '*' as
// \052; TXT values travel quoted, in strings of at most 255 characters; one name and type is one
// record set, so adding a value means listing the set and writing the merged values; a DELETE must
// repeat the set exactly.

// route53ChangeTimeout bounds the wait for a change to reach every Route 53 server.
const route53ChangeTimeout = 30 * time.Minute

// route53Pacing is how waits for INSYNC poll: Route 53 throttles eager pollers, and changes take
// tens of seconds anyway (terraform-provider-aws waits 10-30 s before its first poll).
var route53Pacing = retry.Pacing{Delay: 10 * time.Second, Interval: 5 * time.Second, MaxInterval: 15 * time.Second}

// canonicalRecordName is a name as Route 53 stores it, for comparing: lower case, fully qualified
// (trailing dot), and with the escapes \DDD (octal, like \052 for '*') decoded.
func canonicalRecordName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) && isOctal(name[i+1:i+4]) {
			n, _ := strconv.ParseUint(name[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(name[i])
	}
	s := strings.ToLower(b.String())
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}

// sameRecordName compares names the way Route 53 does.
func sameRecordName(a, b string) bool { return canonicalRecordName(a) == canonicalRecordName(b) }

// fqdnOf is the name fully qualified without the trailing dot, '*' decoded: what users write.
func fqdnOf(name string) string { return strings.TrimSuffix(canonicalRecordName(name), ".") }

// quoteTXT turns one TXT value into what Route 53 takes: quoted character strings of at most 255
// bytes each, with quotes and backslashes escaped.
func quoteTXT(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, v[:255])
		v = v[255:]
	}
	parts = append(parts, v)
	for i, p := range parts {
		p = strings.ReplaceAll(p, `\`, `\\`)
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
	}
	return strings.Join(parts, " ")
}

// unquoteTXT undoes quoteTXT: the character strings of a TXT value, joined.
func unquoteTXT(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return v // not quoted (a record written by a tool that did not quote)
	}
	var b strings.Builder
	in, escaped := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			if c >= '0' && c <= '9' && i+2 < len(v) && isDecimal(v[i:i+3]) {
				n, _ := strconv.Atoi(v[i : i+3])
				b.WriteByte(byte(n))
				i += 2
			} else {
				b.WriteByte(c)
			}
			escaped = false
		case c == '\\' && in:
			escaped = true
		case c == '"':
			in = !in
		case in:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDecimal(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// recordValues are the set's values as users write them (TXT unquoted).
func recordValues(rs *r53types.ResourceRecordSet) []string {
	var out []string
	for _, r := range rs.ResourceRecords {
		v := awssdk.ToString(r.Value)
		if rs.Type == r53types.RRTypeTxt {
			v = unquoteTXT(v)
		}
		out = append(out, v)
	}
	return out
}

// wireRecords are values as Route 53 takes them (TXT quoted).
func wireRecords(typ r53types.RRType, values []string) []r53types.ResourceRecord {
	out := make([]r53types.ResourceRecord, 0, len(values))
	for _, v := range values {
		if typ == r53types.RRTypeTxt {
			v = quoteTXT(v)
		}
		out = append(out, r53types.ResourceRecord{Value: awssdk.String(v)})
	}
	return out
}

// cleanZoneID drops the "/hostedzone/" prefix Route 53 puts on zone IDs.
func cleanZoneID(id string) string { return strings.TrimPrefix(id, "/hostedzone/") }

// findRecordSet is the zone's set of that name and type (simple routing: no set identifier).
func findRecordSet(ctx context.Context, conn *route53.Client, zoneID, name string, typ r53types.RRType) (*r53types.ResourceRecordSet, error) {
	start := strings.Replace(canonicalRecordName(name), "*", `\052`, 1)
	out, err := conn.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId:    awssdk.String(zoneID),
		StartRecordName: awssdk.String(start),
		StartRecordType: typ,
		MaxItems:        awssdk.Int32(10),
	})
	if isCode(err, "NoSuchHostedZone") {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("listing record sets of zone %s: %w", zoneID, err)
	}
	for i := range out.ResourceRecordSets {
		rs := &out.ResourceRecordSets[i]
		if sameRecordName(awssdk.ToString(rs.Name), name) && rs.Type == typ && rs.SetIdentifier == nil {
			return rs, nil
		}
	}
	return nil, retry.NotFoundf("no %s record set %s in hosted zone %s", typ, fqdnOf(name), zoneID)
}

// changeRecordSet submits one change and waits until Route 53 reports it INSYNC.
func changeRecordSet(ctx context.Context, c *Conns, zoneID string, action r53types.ChangeAction, rs *r53types.ResourceRecordSet, comment string, wait bool) error {
	out, err := c.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: awssdk.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: awssdk.String(comment),
			Changes: []r53types.Change{{Action: action, ResourceRecordSet: rs}},
		},
	})
	if err != nil {
		// The SDK's error text leaves out why the batch was refused.
		var icb *r53types.InvalidChangeBatch
		if errors.As(err, &icb) && len(icb.Messages) > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.Join(icb.Messages, "; "))
		}
		return err
	}
	if !wait {
		return nil
	}
	return waitChangeInsync(ctx, c, awssdk.ToString(out.ChangeInfo.Id))
}

// waitChangeInsync waits until a change has reached every Route 53 server.
func waitChangeInsync(ctx context.Context, c *Conns, changeID string) error {
	conf := retry.StateChangeConf[string]{
		Pending: []string{string(r53types.ChangeStatusPending)},
		Target:  []string{string(r53types.ChangeStatusInsync)},
		Refresh: func(ctx context.Context) (string, string, error) {
			out, err := c.Route53.GetChange(ctx, &route53.GetChangeInput{Id: awssdk.String(changeID)})
			if err != nil {
				return "", "", err
			}
			return changeID, string(out.ChangeInfo.Status), nil
		},
		Timeout: route53ChangeTimeout,
		Pacing:  c.Pace(route53Pacing),
	}
	if _, err := conf.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for change %s to be INSYNC: %w", strings.TrimPrefix(changeID, "/change/"), err)
	}
	return nil
}

// isRecordSetNotFoundOnDelete recognises Route 53's answer to deleting a set that is gone.
func isRecordSetNotFoundOnDelete(err error) bool {
	var icb *r53types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		return false
	}
	for _, m := range icb.Messages {
		if strings.Contains(m, "but it was not found") {
			return true
		}
	}
	return icb.Message != nil && strings.Contains(*icb.Message, "but it was not found")
}

// deleteRecordSet deletes the set of that name and type as it is now (Route 53 wants the exact
// values); a set that is gone already is fine.
func deleteRecordSet(ctx context.Context, c *Conns, zoneID, name string, typ r53types.RRType) error {
	rs, err := findRecordSet(ctx, c.Route53, zoneID, name, typ)
	if retry.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	err = changeRecordSet(ctx, c, zoneID, r53types.ChangeActionDelete, rs, "deleted by terraform-provider-sandbox", true)
	if isRecordSetNotFoundOnDelete(err) {
		return nil
	}
	return err
}

// recordLocks serialises read-modify-write of one record set within a provider instance: two DNS-01
// challenges for *.example.com and example.com both write _acme-challenge.example.com.
type recordLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (l *recordLocks) lock(key string) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m, ok := l.locks[key]
	if !ok {
		m = &sync.Mutex{}
		l.locks[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// AddTXTValue publishes value in the TXT set name of the zone, keeping the set's other values (a
// DNS-01 challenge for *.example.com and one for example.com share _acme-challenge.example.com), and
// waits until the change is INSYNC. ttl applies when the set is new; an existing set keeps its own.
func AddTXTValue(ctx context.Context, c *Conns, zoneID, name, value string, ttl int64) error {
	zoneID = cleanZoneID(zoneID)
	defer c.records.lock(zoneID + "|" + canonicalRecordName(name))()
	rs, err := findRecordSet(ctx, c.Route53, zoneID, name, r53types.RRTypeTxt)
	var values []string
	switch {
	case retry.IsNotFound(err):
	case err != nil:
		return err
	default:
		values = recordValues(rs)
		if slices.Contains(values, value) {
			return nil
		}
		// The set's other values keep the TTL their writer chose.
		ttl = awssdk.ToInt64(rs.TTL)
	}
	values = append(values, value)
	set := &r53types.ResourceRecordSet{Name: awssdk.String(canonicalRecordName(name)), Type: r53types.RRTypeTxt,
		TTL: awssdk.Int64(ttl), ResourceRecords: wireRecords(r53types.RRTypeTxt, values)}
	if err := changeRecordSet(ctx, c, zoneID, r53types.ChangeActionUpsert, set, "TXT value added by terraform-provider-sandbox", true); err != nil {
		return fmt.Errorf("adding a TXT value to %s: %w", fqdnOf(name), err)
	}
	return nil
}

// RemoveTXTValue takes value out of the TXT set name, deleting the set when it was the last value,
// and waits until the change is INSYNC. A value or set that is gone already is fine.
func RemoveTXTValue(ctx context.Context, c *Conns, zoneID, name, value string) error {
	return removeTXTValue(ctx, c, zoneID, name, value, true)
}

// removeTXTValue is RemoveTXTValue; without wait it returns once Route 53 has accepted the change
// (a challenge value that is being cleaned up need not be gone from every server first).
func removeTXTValue(ctx context.Context, c *Conns, zoneID, name, value string, wait bool) error {
	zoneID = cleanZoneID(zoneID)
	defer c.records.lock(zoneID + "|" + canonicalRecordName(name))()
	rs, err := findRecordSet(ctx, c.Route53, zoneID, name, r53types.RRTypeTxt)
	if retry.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	values := recordValues(rs)
	rest := slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == value })
	switch {
	case len(rest) == len(values):
		return nil
	case len(rest) == 0:
		err = changeRecordSet(ctx, c, zoneID, r53types.ChangeActionDelete, rs, "TXT set removed by terraform-provider-sandbox", wait)
		if isRecordSetNotFoundOnDelete(err) {
			err = nil
		}
	default:
		set := &r53types.ResourceRecordSet{Name: rs.Name, Type: r53types.RRTypeTxt, TTL: rs.TTL,
			ResourceRecords: wireRecords(r53types.RRTypeTxt, rest)}
		err = changeRecordSet(ctx, c, zoneID, r53types.ChangeActionUpsert, set, "TXT value removed by terraform-provider-sandbox", wait)
	}
	if err != nil {
		return fmt.Errorf("removing a TXT value from %s: %w", fqdnOf(name), err)
	}
	return nil
}
