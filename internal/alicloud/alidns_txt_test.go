package alicloud_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// txtDomain is a fake hosting one Alidns domain, and what its record sink heard about TXT names.
type txtDomain struct {
	fake  *acctest.FakeAlibaba
	conns *alicloud.Conns

	mu   sync.Mutex
	sink []string // "fqdn [values]", in order
}

func newTXTDomain(t *testing.T, domain string) *txtDomain {
	t.Helper()
	d := &txtDomain{}
	d.fake = &acctest.FakeAlibaba{Fake: alifake.New(t, alifake.Options{
		Domains: []string{domain},
		RecordSink: alifake.RecordSinkFunc(func(fqdn, rtype string, values []string) {
			if rtype == "TXT" {
				d.mu.Lock()
				d.sink = append(d.sink, fmt.Sprintf("%s %v", fqdn, values))
				d.mu.Unlock()
			}
		}),
	})}
	d.conns = d.fake.Conns(t)
	return d
}

func (d *txtDomain) heard() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sink)
}

// txt are the sorted values of the TXT records the fake holds at fqdn.
func (d *txtDomain) txt(fqdn string) []string {
	var v []string
	for _, r := range d.fake.Records() {
		if r.Type == "TXT" && r.FQDN == fqdn {
			v = append(v, r.Value)
		}
	}
	slices.Sort(v)
	return v
}

func (d *txtDomain) noTXT(t *testing.T, when string) {
	t.Helper()
	for _, r := range d.fake.Records() {
		if r.Type == "TXT" {
			t.Errorf("%s: TXT record left: %+v", when, r)
		}
	}
}

func txtContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// A wildcard and its base name publish two values at one name: two records, each deleted by its own
// ID, next to a record another tool keeps there.
func TestAlidnsTXTWriterWildcardAndApexCoexist(t *testing.T) {
	t.Parallel()
	ctx := txtContext(t)
	d := newTXTDomain(t, "example.test")
	const name = "_acme-challenge.sbx.example.test"
	foreign, err := d.conns.DNS().AddTXT(ctx, "example.test", "_acme-challenge.sbx", "foreign", 600)
	if err != nil {
		t.Fatal(err)
	}

	var w acme.TXTWriter = alicloud.NewAlidnsTXTWriter(d.conns, "Example.test.")
	wildcard, err := w.SetTXT(ctx, name+".", "wildcard-digest")
	if err != nil {
		t.Fatal(err)
	}
	apex, err := w.SetTXT(ctx, "_ACME-challenge.sbx.example.test", "apex-digest")
	if err != nil {
		t.Fatal(err)
	}
	if wildcard.FQDN != name+"." || apex.FQDN != name+"." || wildcard.Value != "wildcard-digest" {
		t.Errorf("records %+v and %+v; want both named %s.", wildcard, apex, name)
	}
	if wildcard.ID == "" || apex.ID == "" || wildcard.ID == apex.ID || wildcard.ID == foreign || apex.ID == foreign {
		t.Errorf("record IDs %q and %q (foreign %q); want two new records", wildcard.ID, apex.ID, foreign)
	}
	if got := d.txt(name); !slices.Equal(got, []string{"apex-digest", "foreign", "wildcard-digest"}) {
		t.Fatalf("after two SetTXT the fake holds %q", got)
	}
	for _, r := range d.fake.Records() {
		if r.ID == wildcard.ID && (r.RR != "_acme-challenge.sbx" || r.TTL != alicloud.AlidnsTXTTTL) {
			t.Errorf("record %+v; want RR _acme-challenge.sbx, TTL %d", r, alicloud.AlidnsTXTTTL)
		}
	}
	// A retried challenge finds its record instead of failing on the duplicate.
	again, err := w.SetTXT(ctx, name, "apex-digest")
	if err != nil || again.ID != apex.ID {
		t.Errorf("SetTXT of a published value: %+v, %v; want record %s", again, err, apex.ID)
	}

	if err := w.DeleteTXT(ctx, wildcard); err != nil {
		t.Fatal(err)
	}
	if got := d.txt(name); !slices.Equal(got, []string{"apex-digest", "foreign"}) {
		t.Fatalf("after deleting the wildcard's record: %q", got)
	}
	if err := w.DeleteTXT(ctx, wildcard); err != nil {
		t.Errorf("deleting a record that is gone: %v", err)
	}
	if err := w.DeleteTXT(ctx, apex); err != nil {
		t.Fatal(err)
	}
	if got := d.txt(name); !slices.Equal(got, []string{"foreign"}) {
		t.Fatalf("after deleting both: %q; want only the other tool's record", got)
	}
	// A DNS server fed by the sink saw both challenge values at once.
	want := []string{
		name + " [foreign]",
		name + " [foreign wildcard-digest]",
		name + " [foreign wildcard-digest apex-digest]",
		name + " [foreign apex-digest]",
		name + " [foreign]",
	}
	if got := d.heard(); !slices.Equal(got, want) {
		t.Errorf("the record sink heard\n%q\nwant\n%q", got, want)
	}
}

// The domain's own name is the host record "@".
func TestAlidnsTXTWriterApexRecord(t *testing.T) {
	t.Parallel()
	ctx := txtContext(t)
	d := newTXTDomain(t, "example.test")
	w := alicloud.NewAlidnsTXTWriter(d.conns, "example.test")
	rec, err := w.SetTXT(ctx, "example.test.", "v")
	if err != nil {
		t.Fatal(err)
	}
	if recs := d.fake.Records(); len(recs) != 1 || recs[0].RR != "@" || recs[0].ID != rec.ID {
		t.Fatalf("the fake holds %+v; want one @ record %s", recs, rec.ID)
	}
	if err := w.DeleteTXT(ctx, rec); err != nil {
		t.Fatal(err)
	}
	d.noTXT(t, "after DeleteTXT")
}

func TestAlidnsTXTWriterErrors(t *testing.T) {
	t.Parallel()
	ctx := txtContext(t)
	d := newTXTDomain(t, "example.test")

	// A domain the account does not host.
	_, err := alicloud.NewAlidnsTXTWriter(d.conns, "other.test").SetTXT(ctx, "_acme-challenge.other.test.", "v")
	if retry.ErrorCode(err) != "InvalidDomainName.NoExist" || !strings.Contains(err.Error(), "other.test") {
		t.Errorf("unknown domain: %v; want InvalidDomainName.NoExist naming the domain", err)
	}
	// A name outside the writer's domain (for example a CNAME on _acme-challenge pointing elsewhere).
	w := alicloud.NewAlidnsTXTWriter(d.conns, "example.test")
	if _, err := w.SetTXT(ctx, "_acme-challenge.notexample.test.", "v"); err == nil ||
		!strings.Contains(err.Error(), "_acme-challenge.notexample.test is not inside Alidns domain example.test") {
		t.Errorf("name outside the domain: %v", err)
	}
	if calls := d.fake.CallCount("AddDomainRecord"); calls != 1 {
		t.Errorf("%d AddDomainRecord calls; want only the unknown domain's", calls)
	}

	// Throttling until the caller gives up: the throttling error, not a bare deadline.
	// (The deadlines below are long enough for a loaded machine to get a call through.)
	d.fake.SetThrottle("AddDomainRecord", alifake.Throttle{Next: 1 << 20})
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = w.SetTXT(short, "_acme-challenge.example.test.", "throttled")
	if retry.ErrorCode(err) != "Throttling.User" {
		t.Errorf("throttled until the deadline: %v", err)
	}
	if n := d.fake.CallCount("AddDomainRecord"); n < 3 { // the unknown domain's, and two throttled
		t.Errorf("%d AddDomainRecord calls; want the throttled call retried", n)
	}
	d.fake.SetThrottle("AddDomainRecord", alifake.Throttle{})
	d.noTXT(t, "after throttling")
	// Alidns refused every write with an API error, so nothing was created and nothing is undone.
	if n := d.fake.CallCount("DescribeDomainRecords") + d.fake.CallCount("DeleteDomainRecord"); n != 0 {
		t.Errorf("%d lookups or deletes after refused writes; want none", n)
	}

	// Alidns creates the record but reads do not show it before the caller gives up: the record is
	// deleted again by the ID Alidns answered.
	d.fake.SetNotFoundReads(1 << 20)
	short, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := w.SetTXT(short, "_acme-challenge.example.test.", "invisible"); err == nil {
		t.Error("SetTXT returned before reads showed the record")
	}
	d.noTXT(t, "after a record that never became readable")
	if n := d.fake.CallCount("DeleteDomainRecord"); n != 1 {
		t.Errorf("%d DeleteDomainRecord calls; want the invisible record deleted by its ID", n)
	}
	d.fake.SetNotFoundReads(0)

	// A throttled call that is retried in time goes through.
	d.fake.SetThrottle("AddDomainRecord", alifake.Throttle{Next: 2})
	rec, err := w.SetTXT(ctx, "_acme-challenge.example.test.", "v")
	if err != nil {
		t.Fatalf("after two throttled attempts: %v", err)
	}
	if err := w.DeleteTXT(ctx, acme.TXTRecord{FQDN: rec.FQDN, Value: rec.Value}); err == nil {
		t.Error("DeleteTXT without a record ID succeeded")
	}
	if err := w.DeleteTXT(ctx, rec); err != nil {
		t.Fatal(err)
	}
	d.noTXT(t, "at the end")
}
