package alicloud

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/alidns"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Alidns error codes the record code acts on.
var (
	// errRecordNotFound are the answers for a record that does not exist (any more).
	errRecordNotFound = []string{"DomainRecordNotBelongToUser", "InvalidRR.NoExist", "InvalidRecordId.NotFound"}
	// errRecordBusy are transient refusals of record changes.
	errRecordBusy = []string{"LastOperationNotFinished", "OperationConflict"}
)

const errRecordDuplicate = "DomainRecordDuplicate"

// Record is an Alidns record.
type Record struct {
	ID, Domain, RR, Type, Value, Line, Status string
	TTL                                       int64
}

// FQDN is the record's full name.
func (r Record) FQDN() string {
	if r.RR == "@" {
		return r.Domain
	}
	return r.RR + "." + r.Domain
}

// DNSRecords writes and reads Alidns records. It is what sandbox_alicloud_dns_record uses, and what an
// ACME DNS-01 solver uses to publish and remove "_acme-challenge" TXT records.
type DNSRecords struct{ c *Conns }

// DNS is the provider's Alidns record client.
func (c *Conns) DNS() DNSRecords { return DNSRecords{c: c} }

// Add creates a record and returns it as Alidns has it, once reads show it. When Alidns created the
// record but reads do not show it in time, the error comes with a Record holding only its ID, so that
// the caller can delete it.
func (d DNSRecords) Add(ctx context.Context, r Record) (*Record, error) {
	c := d.c
	in := alidns.CreateAddDomainRecordRequest()
	c.rpc("alidns", in.RpcRequest)
	in.DomainName, in.RR, in.Type, in.Value = r.Domain, r.RR, r.Type, r.Value
	if r.TTL > 0 {
		in.TTL = requests.NewInteger64(r.TTL)
	}
	if r.Line != "" {
		in.Line = r.Line
	}
	out, err := retry.Do(ctx, propagationTimeout, c.Pace(pacing), retry.OnErrorCodes(errRecordBusy...),
		func(ctx context.Context) (*alidns.AddDomainRecordResponse, error) {
			return call(ctx, c, func() (*alidns.AddDomainRecordResponse, error) { return c.DNSClient.AddDomainRecord(in) })
		})
	if err != nil {
		return nil, err
	}
	got, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(pacing), true, func(ctx context.Context) (*Record, error) {
		return d.Get(ctx, out.RecordId)
	})
	if err != nil {
		return &Record{ID: out.RecordId}, fmt.Errorf("reading the new record %s: %w", out.RecordId, err)
	}
	return got, nil
}

// AddTXT publishes a TXT record (several TXT records may share a name, as ACME needs for a wildcard and
// its base name); it returns the record's ID for Delete, also together with an error when the record
// was created but could not be read back.
func (d DNSRecords) AddTXT(ctx context.Context, domain, rr, value string, ttl int64) (string, error) {
	r, err := d.Add(ctx, Record{Domain: domain, RR: rr, Type: "TXT", Value: value, TTL: ttl})
	if isCode(err, errRecordDuplicate) {
		// Already published (a retried challenge): find it.
		existing, ferr := d.Find(ctx, domain, rr, "TXT", value)
		if ferr != nil {
			return "", fmt.Errorf("%w (and finding the existing record: %v)", err, ferr)
		}
		return existing.ID, nil
	}
	if err != nil {
		if r != nil {
			return r.ID, err
		}
		return "", err
	}
	return r.ID, nil
}

// Get reads a record by ID; a retry.NotFoundError when it does not exist.
func (d DNSRecords) Get(ctx context.Context, id string) (*Record, error) {
	c := d.c
	in := alidns.CreateDescribeDomainRecordInfoRequest()
	c.rpc("alidns", in.RpcRequest)
	in.RecordId = id
	out, err := call(ctx, c, func() (*alidns.DescribeDomainRecordInfoResponse, error) {
		return c.DNSClient.DescribeDomainRecordInfo(in)
	})
	if isCode(err, errRecordNotFound...) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	return &Record{ID: out.RecordId, Domain: out.DomainName, RR: out.RR, Type: out.Type, Value: out.Value, Line: out.Line,
		Status: out.Status, TTL: out.TTL}, nil
}

// Find looks a record up by name, type and value (exact matches); a retry.NotFoundError when none matches.
func (d DNSRecords) Find(ctx context.Context, domain, rr, rtype, value string) (*Record, error) {
	c := d.c
	in := alidns.CreateDescribeDomainRecordsRequest()
	c.rpc("alidns", in.RpcRequest)
	in.DomainName, in.RRKeyWord, in.TypeKeyWord, in.ValueKeyWord, in.SearchMode = domain, rr, rtype, value, "EXACT"
	in.PageSize = requests.NewInteger(500)
	out, err := call(ctx, c, func() (*alidns.DescribeDomainRecordsResponse, error) { return c.DNSClient.DescribeDomainRecords(in) })
	if err != nil {
		return nil, err
	}
	for _, r := range out.DomainRecords.Record {
		if strings.EqualFold(r.RR, rr) && strings.EqualFold(r.Type, rtype) && r.Value == value {
			return &Record{ID: r.RecordId, Domain: r.DomainName, RR: r.RR, Type: r.Type, Value: r.Value, Line: r.Line,
				Status: r.Status, TTL: r.TTL}, nil
		}
	}
	return nil, retry.NotFoundf("no %s record %s.%s with value %q", rtype, rr, domain, value)
}

// Update changes a record's name, type, value and TTL (Alidns refuses an update that changes nothing).
func (d DNSRecords) Update(ctx context.Context, r Record) error {
	c := d.c
	in := alidns.CreateUpdateDomainRecordRequest()
	c.rpc("alidns", in.RpcRequest)
	in.RecordId, in.RR, in.Type, in.Value = r.ID, r.RR, r.Type, r.Value
	if r.TTL > 0 {
		in.TTL = requests.NewInteger64(r.TTL)
	}
	_, err := retry.Do(ctx, propagationTimeout, c.Pace(pacing), retry.OnErrorCodes(errRecordBusy...),
		func(ctx context.Context) (*alidns.UpdateDomainRecordResponse, error) {
			return call(ctx, c, func() (*alidns.UpdateDomainRecordResponse, error) { return c.DNSClient.UpdateDomainRecord(in) })
		})
	return err
}

// Delete removes a record; one that is gone already is not an error.
func (d DNSRecords) Delete(ctx context.Context, id string, timeout time.Duration) error {
	c := d.c
	err := retry.Retry(ctx, timeout, c.Pace(pacing), retry.OnErrorCodes(errRecordBusy...), func(ctx context.Context) error {
		in := alidns.CreateDeleteDomainRecordRequest()
		c.rpc("alidns", in.RpcRequest)
		in.RecordId = id
		_, err := call(ctx, c, func() (*alidns.DeleteDomainRecordResponse, error) { return c.DNSClient.DeleteDomainRecord(in) })
		return err
	})
	if isCode(err, errRecordNotFound...) {
		return nil
	}
	return err
}

// Split finds the Alidns domain a name belongs to (the longest domain of the account that is a suffix
// of it) and the host record within it: "_acme-challenge.sbx.example.com." → ("example.com",
// "_acme-challenge.sbx"). An ACME solver is handed full names; Alidns wants domain and RR.
func (d DNSRecords) Split(ctx context.Context, fqdn string) (domain, rr string, err error) {
	name := strings.ToLower(strings.TrimSuffix(fqdn, "."))
	labels := strings.Split(name, ".")
	for i := 0; i < len(labels)-1; i++ {
		candidate := strings.Join(labels[i:], ".")
		ok, err := d.hasDomain(ctx, candidate)
		if err != nil {
			return "", "", err
		}
		if ok {
			if i == 0 {
				return candidate, "@", nil
			}
			return candidate, strings.Join(labels[:i], "."), nil
		}
	}
	return "", "", retry.NotFoundf("no domain of this Alibaba Cloud account contains %s (add it to Alibaba Cloud DNS)", name)
}

func (d DNSRecords) hasDomain(ctx context.Context, name string) (bool, error) {
	c := d.c
	in := alidns.CreateDescribeDomainsRequest()
	c.rpc("alidns", in.RpcRequest)
	in.KeyWord, in.SearchMode = name, "EXACT"
	out, err := call(ctx, c, func() (*alidns.DescribeDomainsResponse, error) { return c.DNSClient.DescribeDomains(in) })
	if err != nil {
		return false, err
	}
	for _, dom := range out.Domains.Domain {
		if strings.EqualFold(dom.DomainName, name) {
			return true, nil
		}
	}
	return false, nil
}
