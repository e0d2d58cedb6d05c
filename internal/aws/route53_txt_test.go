package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	route53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	sbxaws "github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// txtZone is a fake with one hosted zone, and what its record sink heard about TXT sets.
type txtZone struct {
	fake    *acctest.FakeAWS
	conns   *sbxaws.Conns
	zoneID  string
	changes []awsfake.RecordChange
}

func newTXTZone(t *testing.T, faults awsfake.Faults) *txtZone {
	t.Helper()
	z := &txtZone{fake: acctest.StartFakeAWS(t, faults)}
	z.fake.SetRecordSink(awsfake.RecordSinkFunc(func(c awsfake.RecordChange) {
		if c.Set.Type == "TXT" {
			z.changes = append(z.changes, c)
		}
	}))
	z.conns = z.fake.Conns(t)
	out, err := z.conns.Route53.CreateHostedZone(testContext(t), &route53.CreateHostedZoneInput{
		Name: awssdk.String("example.test"), CallerReference: awssdk.String(acctest.RandomName()),
	})
	if err != nil {
		t.Fatal(err)
	}
	z.zoneID = awssdk.ToString(out.HostedZone.Id)
	return z
}

// txt returns the unquoted values of the TXT set at name ("" when there is none) and its TTL.
func (z *txtZone) txt(name string) ([]string, int64) {
	for _, rs := range z.fake.RecordSets(z.zoneID) {
		if rs.Type == "TXT" && rs.Name == name {
			v := rs.TXTStrings()
			slices.Sort(v)
			return v, rs.TTL
		}
	}
	return nil, 0
}

func TestRoute53TXTWriterMergesAndRemovesOnlyItsValues(t *testing.T) {
	ctx := testContext(t)
	z := newTXTZone(t, awsfake.Faults{ChangePendingReads: 2})
	const name = "_acme-challenge.sbx.example.test."
	// A value another tool keeps at the same name, with its own TTL.
	_, err := z.conns.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: awssdk.String(z.zoneID),
		ChangeBatch: &route53types.ChangeBatch{Changes: []route53types.Change{{
			Action: route53types.ChangeActionCreate,
			ResourceRecordSet: &route53types.ResourceRecordSet{Name: awssdk.String(name), Type: route53types.RRTypeTxt,
				TTL: awssdk.Int64(300), ResourceRecords: []route53types.ResourceRecord{{Value: awssdk.String(`"foreign"`)}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	w := sbxaws.NewRoute53TXTWriter(z.conns, z.zoneID) // with the /hostedzone/ prefix
	wildcard, err := w.SetTXT(ctx, "_acme-challenge.sbx.example.test", "wildcard-digest")
	if err != nil {
		t.Fatal(err)
	}
	apex, err := w.SetTXT(ctx, "_ACME-challenge.sbx.example.test.", "apex-digest")
	if err != nil {
		t.Fatal(err)
	}
	if wildcard.FQDN != name || apex.FQDN != name {
		t.Errorf("records named %q and %q, want %q", wildcard.FQDN, apex.FQDN, name)
	}
	if got, ttl := z.txt(name); !slices.Equal(got, []string{"apex-digest", "foreign", "wildcard-digest"}) || ttl != 300 {
		t.Fatalf("after two SetTXT: %q TTL %d; want both values merged into the existing set, its TTL kept", got, ttl)
	}
	// Writing a value that is there already changes nothing.
	calls := len(z.fake.Calls())
	if _, err := w.SetTXT(ctx, name, "apex-digest"); err != nil {
		t.Fatal(err)
	}
	for _, c := range z.fake.Calls()[calls:] {
		if c.Action == "ChangeResourceRecordSets" {
			t.Error("SetTXT of a present value sent a change")
		}
	}

	if err := w.DeleteTXT(ctx, wildcard); err != nil {
		t.Fatal(err)
	}
	if got, _ := z.txt(name); !slices.Equal(got, []string{"apex-digest", "foreign"}) {
		t.Fatalf("after deleting the wildcard's value: %q", got)
	}
	if err := w.DeleteTXT(ctx, wildcard); err != nil {
		t.Errorf("deleting a value that is gone: %v", err)
	}
	if err := w.DeleteTXT(ctx, apex); err != nil {
		t.Fatal(err)
	}
	if got, _ := z.txt(name); !slices.Equal(got, []string{"foreign"}) {
		t.Fatalf("after deleting both values: %q; want only the other tool's", got)
	}
	// Every change waited for INSYNC: each GetChange answered PENDING twice first.
	gets := 0
	for _, c := range z.fake.Calls() {
		if c.Action == "GetChange" {
			gets++
		}
	}
	// The two SetTXT changes waited for INSYNC (PENDING twice first); the CREATE above and the
	// removals did not wait.
	if len(z.changes) != 5 || gets != 2*3 {
		t.Errorf("%d GetChange calls for %d changes; want 5 changes, the 2 writes polled until INSYNC (3 reads each)", gets, len(z.changes))
	}
}

func TestRoute53TXTWriterDeletesTheSetWithItsLastValue(t *testing.T) {
	ctx := testContext(t)
	z := newTXTZone(t, awsfake.Faults{})
	w := sbxaws.NewRoute53TXTWriter(z.conns, strings.TrimPrefix(z.zoneID, "/hostedzone/"))
	rec, err := w.SetTXT(ctx, "_acme-challenge.example.test.", "only")
	if err != nil {
		t.Fatal(err)
	}
	if got, ttl := z.txt(rec.FQDN); !slices.Equal(got, []string{"only"}) || ttl != sbxaws.Route53TXTTTL {
		t.Fatalf("new set %q TTL %d", got, ttl)
	}
	if err := w.DeleteTXT(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := z.txt(rec.FQDN); got != nil {
		t.Fatalf("set still there: %q", got)
	}
	if last := z.changes[len(z.changes)-1]; !last.Deleted {
		t.Errorf("the last change was %+v; want the set deleted", last)
	}
}

func TestRoute53TXTWriterErrors(t *testing.T) {
	ctx := testContext(t)
	z := newTXTZone(t, awsfake.Faults{})
	var w acme.TXTWriter = sbxaws.NewRoute53TXTWriter(z.conns, z.zoneID)

	_, err := w.SetTXT(ctx, "_acme-challenge.other.test.", "v")
	if err == nil || !strings.Contains(err.Error(), "InvalidChangeBatch") || !strings.Contains(err.Error(), "not permitted in zone example.test") {
		t.Errorf("name outside the zone: %v; want InvalidChangeBatch with its message", err)
	}
	_, err = sbxaws.NewRoute53TXTWriter(z.conns, "ZNOSUCHZONE").SetTXT(ctx, "_acme-challenge.example.test.", "v")
	if errorCode(err) != "NoSuchHostedZone" {
		t.Errorf("unknown zone: %v", err)
	}
	z.fake.ThrottleNext("ChangeResourceRecordSets", sbxaws.MaxSDKAttempts)
	_, err = w.SetTXT(ctx, "_acme-challenge.example.test.", "v")
	if errorCode(err) != "PriorRequestNotComplete" {
		t.Errorf("throttled %d times: %v", sbxaws.MaxSDKAttempts, err)
	}
	for _, rs := range z.fake.RecordSets(z.zoneID) {
		if rs.Type == "TXT" {
			t.Errorf("TXT set left after failures: %+v", rs)
		}
	}
	// A write that never gets INSYNC before the caller gives up is taken out again.
	z.fake.SetFaults(awsfake.Faults{ChangePendingReads: 1 << 20})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := w.SetTXT(short, "_acme-challenge.example.test.", "slow"); err == nil {
		t.Error("SetTXT returned before the change was INSYNC")
	}
	for _, rs := range z.fake.RecordSets(z.zoneID) {
		if rs.Type == "TXT" {
			t.Errorf("TXT set left after a write that never got INSYNC: %+v", rs)
		}
	}
	z.fake.SetFaults(awsfake.Faults{})

	// The SDK retries throttling: one fewer throttled answer and the write goes through.
	z.fake.ThrottleNext("ChangeResourceRecordSets", sbxaws.MaxSDKAttempts-1)
	if _, err := w.SetTXT(context.WithoutCancel(ctx), "_acme-challenge.example.test.", "v"); err != nil {
		t.Errorf("after %d throttled attempts: %v", sbxaws.MaxSDKAttempts-1, err)
	}
}
