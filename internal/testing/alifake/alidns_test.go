package alifake_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/alidns"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// sinkLog records RecordSink calls as "fqdn TYPE [values]".
type sinkLog struct {
	mu     sync.Mutex
	events []string
}

func (l *sinkLog) RecordSetChanged(fqdn, rtype string, values []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %s %v", fqdn, rtype, values))
}

func (l *sinkLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

func (s *sdk) addRecord(domain, rr, rtype, value string) (string, error) {
	req := alidns.CreateAddDomainRecordRequest()
	s.dnsEP.ApplyRPC(req.RpcRequest)
	req.DomainName, req.RR, req.Type, req.Value, req.TTL = domain, rr, rtype, value, requests.NewInteger(600)
	resp, err := s.dns.AddDomainRecord(req)
	if err != nil {
		return "", err
	}
	return resp.RecordId, nil
}

func (s *sdk) findRecords(domain string, set func(*alidns.DescribeDomainRecordsRequest)) []alidns.Record {
	req := alidns.CreateDescribeDomainRecordsRequest()
	s.dnsEP.ApplyRPC(req.RpcRequest)
	req.DomainName = domain
	set(req)
	return must(s.dns.DescribeDomainRecords(req)).DomainRecords.Record
}

func TestAlidnsRecords(t *testing.T) {
	defer failOnError(t)
	sink := &sinkLog{}
	f := alifake.New(t, alifake.Options{Domains: []string{"example.test"}, RecordSink: sink})
	s := clientFor(t, f)

	dreq := alidns.CreateDescribeDomainsRequest()
	s.dnsEP.ApplyRPC(dreq.RpcRequest)
	dreq.KeyWord = "example"
	if d := must(s.dns.DescribeDomains(dreq)).Domains.Domain; len(d) != 1 || d[0].DomainName != "example.test" || d[0].DomainId == "" {
		t.Fatalf("DescribeDomains: %+v", d)
	}
	add := alidns.CreateAddDomainRequest()
	s.dnsEP.ApplyRPC(add.RpcRequest)
	add.DomainName = "other.test"
	if r := must(s.dns.AddDomain(add)); r.DomainName != "other.test" || len(r.DnsServers.DnsServer) == 0 {
		t.Errorf("AddDomain: %+v", r)
	}

	wildcard := must(s.addRecord("example.test", "*.sbx", "A", "203.0.113.10"))
	txt1 := must(s.addRecord("example.test", "_acme-challenge.sbx", "TXT", "token-one"))
	txt2 := must(s.addRecord("example.test", "_acme-challenge.sbx", "TXT", "token-two"))
	_, err := s.addRecord("example.test", "_acme-challenge.sbx", "TXT", "token-two")
	serverError(t, err, http.StatusBadRequest, "DomainRecordDuplicate")
	_, err = s.addRecord("nothere.test", "www", "A", "203.0.113.1")
	serverError(t, err, http.StatusBadRequest, "InvalidDomainName.NoExist")
	_, err = s.addRecord("example.test", "*.sbx", "CNAME", "elsewhere.test")
	serverError(t, err, http.StatusBadRequest, "DomainRecordConflict")
	want := []string{
		"*.sbx.example.test A [203.0.113.10]",
		"_acme-challenge.sbx.example.test TXT [token-one]",
		"_acme-challenge.sbx.example.test TXT [token-one token-two]",
	}
	if got := sink.take(); !equal(got, want) {
		t.Errorf("sink after adds:\n got %q\nwant %q", got, want)
	}

	// Searches as the provider and lego make them.
	byRR := s.findRecords("example.test", func(r *alidns.DescribeDomainRecordsRequest) { r.RRKeyWord = "_acme-challenge.sbx" })
	if len(byRR) != 2 || byRR[0].RecordId != txt1 || byRR[1].RecordId != txt2 {
		t.Errorf("RRKeyWord: %+v", byRR)
	}
	fuzzy := s.findRecords("example.test", func(r *alidns.DescribeDomainRecordsRequest) { r.RRKeyWord = "sbx" })
	exact := s.findRecords("example.test", func(r *alidns.DescribeDomainRecordsRequest) { r.RRKeyWord, r.SearchMode = "sbx", "EXACT" })
	if len(fuzzy) != 3 || len(exact) != 0 {
		t.Errorf("RRKeyWord sbx: LIKE found %d, EXACT %d; want 3 and 0", len(fuzzy), len(exact))
	}
	typed := s.findRecords("example.test", func(r *alidns.DescribeDomainRecordsRequest) {
		r.TypeKeyWord, r.ValueKeyWord, r.SearchMode = "TXT", "two", "ADVANCED"
	})
	if len(typed) != 1 || typed[0].RecordId != txt2 || typed[0].Value != "token-two" || typed[0].TTL != 600 {
		t.Errorf("TypeKeyWord+ValueKeyWord: %+v", typed)
	}
	paged := s.findRecords("example.test", func(r *alidns.DescribeDomainRecordsRequest) {
		r.PageSize, r.PageNumber = requests.NewInteger(2), requests.NewInteger(2)
	})
	if len(paged) != 1 || paged[0].RecordId != txt2 {
		t.Errorf("page 2 of 2: %+v", paged)
	}

	info := alidns.CreateDescribeDomainRecordInfoRequest()
	s.dnsEP.ApplyRPC(info.RpcRequest)
	info.RecordId = wildcard
	if r := must(s.dns.DescribeDomainRecordInfo(info)); r.RR != "*.sbx" || r.Type != "A" || r.DomainName != "example.test" || r.Status != "ENABLE" {
		t.Errorf("DescribeDomainRecordInfo: %+v", r)
	}

	upd := func(value string) error {
		req := alidns.CreateUpdateDomainRecordRequest()
		s.dnsEP.ApplyRPC(req.RpcRequest)
		req.RecordId, req.RR, req.Type, req.Value, req.TTL = wildcard, "*.sbx", "A", value, requests.NewInteger(600)
		_, err := s.dns.UpdateDomainRecord(req)
		return err
	}
	must(0, upd("203.0.113.20"))
	serverError(t, upd("203.0.113.20"), http.StatusBadRequest, "DomainRecordDuplicate")

	del := func(id string) error {
		req := alidns.CreateDeleteDomainRecordRequest()
		s.dnsEP.ApplyRPC(req.RpcRequest)
		req.RecordId = id
		_, err := s.dns.DeleteDomainRecord(req)
		return err
	}
	must(0, del(txt1))
	serverError(t, del(txt1), http.StatusBadRequest, "DomainRecordNotBelongToUser")
	if err := f.DeleteOutOfBand(txt2); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"*.sbx.example.test A [203.0.113.20]",
		"_acme-challenge.sbx.example.test TXT [token-two]",
		"_acme-challenge.sbx.example.test TXT []",
	}
	if got := sink.take(); !equal(got, want) {
		t.Errorf("sink after update and deletes:\n got %q\nwant %q", got, want)
	}
	info2 := alidns.CreateDescribeDomainRecordInfoRequest()
	s.dnsEP.ApplyRPC(info2.RpcRequest)
	info2.RecordId = txt2
	_, err = s.dns.DescribeDomainRecordInfo(info2)
	se := serverError(t, err, http.StatusBadRequest, "DomainRecordNotBelongToUser")
	if !strings.Contains(se.Message(), txt2) {
		t.Errorf("message %q does not name the record", se.Message())
	}
	if recs := f.Records(); len(recs) != 1 || recs[0].FQDN != "*.sbx.example.test" {
		t.Errorf("fake holds %+v", recs)
	}
}
