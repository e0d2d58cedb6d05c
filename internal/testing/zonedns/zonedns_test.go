package zonedns_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/zonedns"
)

// sinkErrors collects what a sink reports, from the fakes' request goroutines.
type sinkErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *sinkErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

func (e *sinkErrors) check(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.errs) > 0 {
		t.Fatalf("sink errors: %v", e.errs)
	}
}

func start(t *testing.T) *zonedns.Server {
	t.Helper()
	s, err := zonedns.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func set(t *testing.T, s *zonedns.Server, name, typ string, values ...string) {
	t.Helper()
	if err := s.SetRecordSet(name, typ, values); err != nil {
		t.Fatal(err)
	}
}

// query asks the server over the network and returns the rcode and the answers as "name type rdata".
func query(t *testing.T, s *zonedns.Server, network, name string, qtype uint16) (string, []string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	var answers []string
	for _, rr := range r.Answer {
		answers = append(answers, rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype]+" "+
			strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	return dns.RcodeToString[r.Rcode], answers
}

func expect(t *testing.T, s *zonedns.Server, name string, qtype uint16, wantRcode string, want ...string) {
	t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		rcode, got := query(t, s, network, name, qtype)
		if rcode != wantRcode || !slices.Equal(got, want) {
			t.Errorf("%s %s over %s = %s %q, want %s %q", name, dns.TypeToString[qtype], network, rcode, got, wantRcode, want)
		}
	}
}

func TestAnswers(t *testing.T) {
	s := start(t)
	set(t, s, "*.sbx.example.test", "A", "127.8.0.1")
	set(t, s, "_acme-challenge.sbx.example.test.", "TXT", `"token-1"`, "token-2")
	set(t, s, "lb.example.test", "A", "127.8.0.2", "127.8.0.3")
	set(t, s, "*.alias.example.test", "CNAME", "lb.example.test")
	set(t, s, "www.alias.example.test", "CNAME", "elsewhere.invalid.")
	set(t, s, "sub.deep.example.test", "AAAA", "::1")

	// A wildcard answers under the asked name, for one label or several.
	expect(t, s, "api.sbx.example.test", dns.TypeA, "NOERROR", "api.sbx.example.test. A 127.8.0.1")
	expect(t, s, "49983-i1.sbx.example.test", dns.TypeA, "NOERROR", "49983-i1.sbx.example.test. A 127.8.0.1")
	expect(t, s, "a.b.sbx.example.test", dns.TypeA, "NOERROR", "a.b.sbx.example.test. A 127.8.0.1")
	// A name that exists is not covered by the wildcard: its own types only.
	expect(t, s, "_acme-challenge.sbx.example.test", dns.TypeTXT, "NOERROR",
		`_acme-challenge.sbx.example.test. TXT "token-1"`, `_acme-challenge.sbx.example.test. TXT "token-2"`)
	expect(t, s, "_acme-challenge.sbx.example.test", dns.TypeA, "NOERROR")
	// The wildcard's own name matches literally; the base name is not covered.
	expect(t, s, "*.sbx.example.test", dns.TypeA, "NOERROR", "*.sbx.example.test. A 127.8.0.1")
	expect(t, s, "sbx.example.test", dns.TypeA, "NOERROR") // exists: names below it do
	expect(t, s, "nothing.example.test", dns.TypeA, "NXDOMAIN")
	// CNAMEs are followed within the records held, also from a wildcard; one leaving them ends the chain.
	expect(t, s, "x.alias.example.test", dns.TypeA, "NOERROR",
		"x.alias.example.test. CNAME lb.example.test.", "lb.example.test. A 127.8.0.2", "lb.example.test. A 127.8.0.3")
	expect(t, s, "x.alias.example.test", dns.TypeCNAME, "NOERROR", "x.alias.example.test. CNAME lb.example.test.")
	expect(t, s, "www.alias.example.test", dns.TypeA, "NXDOMAIN", "www.alias.example.test. CNAME elsewhere.invalid.")
	// Empty non-terminals exist; the wildcard of an existing ancestor does not reach below them.
	expect(t, s, "deep.example.test", dns.TypeAAAA, "NOERROR")

	// Deleting a set shows at once.
	set(t, s, "*.sbx.example.test", "A")
	expect(t, s, "api.sbx.example.test", dns.TypeA, "NXDOMAIN")

	for _, bad := range [][]string{{"x.test", "A", "not-an-ip"}, {"x.test", "NOPE", "1"}, {"x.test", "CNAME", "a.test", "b.test"}} {
		if err := s.SetRecordSet(bad[0], bad[1], bad[2:]); err == nil {
			t.Errorf("SetRecordSet(%q) accepted", bad)
		}
	}
}

func TestRoute53Sink(t *testing.T) {
	s := start(t)
	var sinkErrs sinkErrors
	f := awsfake.StartTest(t, awsfake.Options{RecordSink: s.Route53Sink(sinkErrs.add)})
	key, secret := f.Credentials()
	r53 := route53.New(route53.Options{Region: f.Region(), BaseEndpoint: aws.String(f.Route53URL()),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	ctx := context.Background()
	zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.test"), CallerReference: aws.String("z1")})
	if err != nil {
		t.Fatal(err)
	}
	change := func(action r53types.ChangeAction, name, typ string, values ...string) {
		t.Helper()
		rs := &r53types.ResourceRecordSet{Name: aws.String(name), Type: r53types.RRType(typ), TTL: aws.Int64(60)}
		for _, v := range values {
			rs.ResourceRecords = append(rs.ResourceRecords, r53types.ResourceRecord{Value: aws.String(v)})
		}
		if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id,
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: rs}}}}); err != nil {
			t.Fatal(err)
		}
	}
	change(r53types.ChangeActionCreate, `\052.sbx.example.test`, "A", "127.8.0.9")
	change(r53types.ChangeActionUpsert, "_acme-challenge.sbx.example.test", "TXT", `"abc" "def"`)
	expect(t, s, "api.sbx.example.test", dns.TypeA, "NOERROR", "api.sbx.example.test. A 127.8.0.9")
	expect(t, s, "_acme-challenge.sbx.example.test", dns.TypeTXT, "NOERROR", `_acme-challenge.sbx.example.test. TXT "abc" "def"`)
	// The zone's own NS set is published too.
	if _, ns := query(t, s, "udp", "example.test", dns.TypeNS); len(ns) == 0 {
		t.Error("the zone's NS set is not served")
	}
	change(r53types.ChangeActionDelete, `*.sbx.example.test`, "A", "127.8.0.9")
	expect(t, s, "api.sbx.example.test", dns.TypeA, "NXDOMAIN")
	sinkErrs.check(t)
}

func TestAlidnsSink(t *testing.T) {
	s := start(t)
	var sinkErrs sinkErrors
	f := alifake.New(t, alifake.Options{Domains: []string{"example.test"}, RecordSink: s.AlidnsSink(sinkErrs.add)})
	ak, sk := f.Credentials()
	conns, err := alicloud.ConnsFor(context.Background(), &framework.ProviderData{Alibaba: framework.AlibabaSettings{
		Region: f.Region(), AccessKey: ak, SecretKey: sk, Endpoints: framework.AlibabaEndpoints{Alidns: f.URL(alifake.Alidns)}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	add := func(rr, typ, value string) *alicloud.Record {
		t.Helper()
		r, err := conns.DNS().Add(ctx, alicloud.Record{Domain: "example.test", RR: rr, Type: typ, Value: value, TTL: 600})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wild := add("*.sbx", "A", "127.8.0.7")
	add("_acme-challenge.sbx", "TXT", "token-a")
	add("_acme-challenge.sbx", "TXT", "token-b")
	add("www", "CNAME", "api.sbx.example.test")
	expect(t, s, "api.sbx.example.test", dns.TypeA, "NOERROR", "api.sbx.example.test. A 127.8.0.7")
	expect(t, s, "www.example.test", dns.TypeA, "NOERROR",
		"www.example.test. CNAME api.sbx.example.test.", "api.sbx.example.test. A 127.8.0.7")
	expect(t, s, "_acme-challenge.sbx.example.test", dns.TypeTXT, "NOERROR",
		`_acme-challenge.sbx.example.test. TXT "token-a"`, `_acme-challenge.sbx.example.test. TXT "token-b"`)
	if err := f.DeleteOutOfBand(wild.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, s, "api.sbx.example.test", dns.TypeA, "NXDOMAIN")
	sinkErrs.check(t)
	// The address resolves through Go's resolver pointed at the server, as a client would use it.
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.Addr())
	}}
	add("*.sbx", "A", "127.8.0.8")
	addrs, err := r.LookupHost(ctx, "49983-abc.sbx.example.test")
	if err != nil || !slices.Equal(addrs, []string{"127.8.0.8"}) {
		t.Fatalf("LookupHost = %v, %v", addrs, err)
	}
}

// What the server cannot serve as the fake holds it is reported, not published half-right.
func TestSinksReportWhatTheyCannotServe(t *testing.T) {
	s := start(t)
	var errs sinkErrors
	s.AlidnsSink(errs.add).RecordSetChanged("x.example.test", "MX", []string{"mail.example.test"})
	s.Route53Sink(errs.add).RecordSetChanged(awsfake.RecordChange{Set: awsfake.RecordSet{Name: "lb.example.test.", Type: "A",
		Alias: &awsfake.AliasTarget{HostedZoneID: "Z35SXDOTRQ7X7K", DNSName: "elb.example.test."}}})
	s.Route53Sink(errs.add).RecordSetChanged(awsfake.RecordChange{Set: awsfake.RecordSet{Name: "w.example.test.", Type: "A",
		Values: []string{"192.0.2.1"}, SetIdentifier: "blue"}})
	errs.mu.Lock()
	n := len(errs.errs)
	errs.mu.Unlock()
	if n != 3 {
		t.Errorf("%d errors reported, want 3: %v", n, errs.errs)
	}
	expect(t, s, "x.example.test", dns.TypeMX, "NXDOMAIN")
	expect(t, s, "lb.example.test", dns.TypeA, "NXDOMAIN")
}
