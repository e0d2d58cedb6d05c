package alifake

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// RecordSink is told about every change of the records an Alidns fake holds, so that a DNS server can
// publish them (for ACME DNS-01, challtestsrv answering Pebble's queries).
type RecordSink interface {
	// RecordSetChanged is called after a record of name and type was added, updated, enabled or deleted,
	// with every enabled value the fake now holds for that name and type (none after the last one went).
	// fqdn is the absolute name without the trailing dot ("_acme-challenge.sbx.example.test"); wildcard
	// records keep their "*" label. rtype is upper case ("TXT", "A", "CNAME", ...). It is called outside
	// the fake's lock, in the order of the changes.
	RecordSetChanged(fqdn, rtype string, values []string)
}

// RecordSinkFunc adapts a function to RecordSink.
type RecordSinkFunc func(fqdn, rtype string, values []string)

// RecordSetChanged calls fn.
func (fn RecordSinkFunc) RecordSetChanged(fqdn, rtype string, values []string) {
	fn(fqdn, rtype, values)
}

type domain struct {
	meta
	id, name string
}

type record struct {
	meta
	id, domain, rr, rtype, value, line, status, remark string
	ttl, priority                                      int64
}

func (r *record) fqdn() string {
	if r.rr == "@" {
		return r.domain
	}
	return r.rr + "." + r.domain
}

var alidnsActions = map[string]rpcAction{
	"DescribeDomains":          describeDomains,
	"AddDomain":                addDomain,
	"AddDomainRecord":          addDomainRecord,
	"DescribeDomainRecords":    describeDomainRecords,
	"DescribeDomainRecordInfo": describeDomainRecordInfo,
	"UpdateDomainRecord":       updateDomainRecord,
	"DeleteDomainRecord":       deleteDomainRecord,
	"SetDomainRecordStatus":    setDomainRecordStatus,
}

var recordTypes = []string{"A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV", "CAA", "REDIRECT_URL", "FORWARD_URL"}

func recordNotFound(id string) *apiError {
	return errorf(http.StatusBadRequest, "DomainRecordNotBelongToUser", "The DNS record %s does not exist or does not belong to the account.", id)
}

func domainNotFound(name string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidDomainName.NoExist", "The domain name %q does not exist in the account.", name)
}

func nameServers() map[string]any {
	return map[string]any{"DnsServer": []string{"dns1.hichina.com", "dns2.hichina.com"}}
}

func (s *state) addDomain(name string) (*domain, *apiError) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if name == "" || !strings.Contains(name, ".") || strings.ContainsAny(name, " /*@") {
		return nil, errorf(http.StatusBadRequest, "InvalidDomainName.Format", "The domain name %q is not valid.", name)
	}
	if _, ok := s.domains[name]; ok {
		return nil, errorf(http.StatusBadRequest, "DomainAddedByOthers", "The domain name %q has already been added.", name)
	}
	m := s.newMeta()
	m.hiddenReads = 0
	d := &domain{meta: m, id: randomID("", 8) + "-" + randomID("", 4) + "-" + randomID("", 4) + "-" + randomID("", 12), name: name}
	s.domains[name] = d
	return d, nil
}

func addDomain(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	d, e := f.st.addDomain(c.p["DomainName"])
	if e != nil {
		return nil, e
	}
	return map[string]any{"DomainId": d.id, "DomainName": d.name, "PunyCode": d.name, "DnsServers": nameServers()}, nil
}

func describeDomains(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	kw := strings.ToLower(c.p["KeyWord"])
	exact := strings.EqualFold(c.p["SearchMode"], "EXACT")
	var match []*domain
	for _, d := range sortedBySeq(s.domains, func(x *domain) int64 { return x.seq }) {
		if kw != "" && (exact && d.name != kw || !exact && !strings.Contains(d.name, kw)) {
			continue
		}
		match = append(match, d)
	}
	page, size, lo, hi, e := paging(c.p, "PageNumber", "PageSize", 20, 100, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, d := range match[lo:hi] {
		n := 0
		for _, r := range s.records {
			if r.domain == d.name {
				n++
			}
		}
		list = append(list, map[string]any{"DomainId": d.id, "DomainName": d.name, "PunyCode": d.name, "AliDomain": false,
			"RecordCount": n, "CreateTime": timeRPC(d.created), "CreateTimestamp": d.created.UnixMilli(),
			"VersionCode": "mianfei", "VersionName": "Alibaba Cloud DNS", "DnsServers": nameServers()})
	}
	return map[string]any{"PageNumber": page, "PageSize": size, "TotalCount": len(match), "Domains": map[string]any{"Domain": list}}, nil
}

// recordInput validates the fields of AddDomainRecord and UpdateDomainRecord.
func recordInput(p params) (rr, rtype, value, line string, ttl, priority int64, e *apiError) {
	rr, rtype, value, line = strings.TrimSpace(p["RR"]), strings.ToUpper(p["Type"]), p["Value"], p["Line"]
	if rr == "" {
		return "", "", "", "", 0, 0, missingParam("RR")
	}
	if strings.ContainsAny(rr, " /") || strings.HasPrefix(rr, ".") || strings.HasSuffix(rr, ".") || strings.Contains(rr, "..") {
		return "", "", "", "", 0, 0, errorf(http.StatusBadRequest, "InvalidRR.Format", "The host record %q is not valid.", rr)
	}
	if rtype == "" {
		return "", "", "", "", 0, 0, missingParam("Type")
	}
	if !slices.Contains(recordTypes, rtype) {
		return "", "", "", "", 0, 0, errorf(http.StatusBadRequest, "InvalidType", "The record type %q is not valid.", p["Type"])
	}
	if value == "" {
		return "", "", "", "", 0, 0, missingParam("Value")
	}
	if line == "" {
		line = "default"
	}
	ttl = 600
	if v := p["TTL"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 86400 {
			return "", "", "", "", 0, 0, errorf(http.StatusBadRequest, "InvalidTTL", "The TTL %q is not valid.", v)
		}
		ttl = n
	}
	if rtype == "MX" {
		priority = 10
		if v := p["Priority"]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > 50 {
				return "", "", "", "", 0, 0, errorf(http.StatusBadRequest, "InvalidPriority", "The MX priority %q is not valid.", v)
			}
			priority = n
		}
	}
	return rr, rtype, value, line, ttl, priority, nil
}

// conflict checks a new or updated record against the others of its domain: an identical one is
// DomainRecordDuplicate, a CNAME sharing its name with other records is DomainRecordConflict.
func (s *state) conflict(self *record, dom, rr, rtype, value, line string) *apiError {
	for _, r := range s.records {
		if r == self || r.domain != dom || !strings.EqualFold(r.rr, rr) || r.line != line {
			continue
		}
		if r.rtype == rtype && r.value == value {
			return errorf(http.StatusBadRequest, "DomainRecordDuplicate", "The DNS record already exists.")
		}
		if (r.rtype == "CNAME") != (rtype == "CNAME") {
			return errorf(http.StatusBadRequest, "DomainRecordConflict", "The DNS record conflicts with another record (%s %s).", r.rtype, r.rr)
		}
	}
	return nil
}

func addDomainRecord(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	name := strings.ToLower(strings.TrimSuffix(c.p["DomainName"], "."))
	if name == "" {
		return nil, missingParam("DomainName")
	}
	if _, ok := s.domains[name]; !ok {
		return nil, domainNotFound(name)
	}
	rr, rtype, value, line, ttl, prio, e := recordInput(c.p)
	if e != nil {
		return nil, e
	}
	if e := s.conflict(nil, name, rr, rtype, value, line); e != nil {
		return nil, e
	}
	s.nextRec++
	r := &record{meta: s.newMeta(), id: strconv.FormatInt(s.nextRec, 10), domain: name, rr: rr, rtype: rtype, value: value,
		line: line, status: "ENABLE", ttl: ttl, priority: prio}
	s.records[r.id] = r
	s.notify(c, r.fqdn(), r.rtype)
	return map[string]any{"RecordId": r.id}, nil
}

// notify queues a RecordSink call for a name and type with the values held once the call is done.
func (s *state) notify(c *rpcCall, fqdn, rtype string) {
	sink := s.f.opts.RecordSink
	if sink == nil {
		return
	}
	var values []string
	for _, r := range sortedBySeq(s.records, func(x *record) int64 { return x.seq }) {
		if r.status == "ENABLE" && r.fqdn() == fqdn && r.rtype == rtype {
			values = append(values, r.value)
		}
	}
	c.after = append(c.after, func() { sink.RecordSetChanged(fqdn, rtype, values) })
}

func (s *state) recordView(r *record) map[string]any {
	return map[string]any{"RecordId": r.id, "DomainName": r.domain, "RR": r.rr, "Type": r.rtype, "Value": r.value,
		"TTL": r.ttl, "Line": r.line, "Priority": r.priority, "Status": r.status, "Remark": r.remark, "Locked": false, "Weight": 1}
}

func describeDomainRecords(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	name := strings.ToLower(strings.TrimSuffix(c.p["DomainName"], "."))
	if name == "" {
		return nil, missingParam("DomainName")
	}
	if _, ok := s.domains[name]; !ok {
		return nil, domainNotFound(name)
	}
	mode := strings.ToUpper(c.p["SearchMode"])
	switch mode {
	case "":
		mode = "LIKE"
	case "LIKE", "EXACT", "ADVANCED", "COMBINATION":
	default:
		return nil, invalidParam("SearchMode", c.p["SearchMode"])
	}
	// like matches case-insensitively as Alidns does: a substring, or the whole value in EXACT mode.
	like := func(have, want string) bool {
		have, want = strings.ToLower(have), strings.ToLower(want)
		if mode == "EXACT" {
			return have == want
		}
		return strings.Contains(have, want)
	}
	kw, rrKW, typeKW, valueKW := c.p["KeyWord"], c.p["RRKeyWord"], c.p["TypeKeyWord"], c.p["ValueKeyWord"]
	var match []*record
	for _, r := range sortedBySeq(s.records, func(x *record) int64 { return x.seq }) {
		if r.domain != name ||
			kw != "" && !like(r.rr, kw) && !like(r.value, kw) ||
			rrKW != "" && !like(r.rr, rrKW) ||
			valueKW != "" && !like(r.value, valueKW) ||
			typeKW != "" && !strings.EqualFold(r.rtype, typeKW) ||
			c.p["Type"] != "" && !strings.EqualFold(r.rtype, c.p["Type"]) ||
			c.p["Line"] != "" && c.p["Line"] != r.line ||
			c.p["Status"] != "" && !strings.EqualFold(c.p["Status"], r.status) {
			continue
		}
		if r.visible() {
			match = append(match, r)
		}
	}
	page, size, lo, hi, e := paging(c.p, "PageNumber", "PageSize", 20, 500, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, r := range match[lo:hi] {
		list = append(list, s.recordView(r))
	}
	return map[string]any{"PageNumber": page, "PageSize": size, "TotalCount": len(match), "DomainRecords": map[string]any{"Record": list}}, nil
}

func (s *state) lookupRecord(id string, read bool) (*record, *apiError) {
	if id == "" {
		return nil, missingParam("RecordId")
	}
	r, ok := s.records[id]
	if !ok || read && !r.visible() {
		return nil, recordNotFound(id)
	}
	return r, nil
}

func describeDomainRecordInfo(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	r, e := f.st.lookupRecord(c.p["RecordId"], true)
	if e != nil {
		return nil, e
	}
	out := f.st.recordView(r)
	out["DomainId"] = f.st.domains[r.domain].id
	out["PunyCode"] = r.domain
	return out, nil
}

func updateDomainRecord(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	r, e := s.lookupRecord(c.p["RecordId"], false)
	if e != nil {
		return nil, e
	}
	rr, rtype, value, line, ttl, prio, e := recordInput(c.p)
	if e != nil {
		return nil, e
	}
	if rr == r.rr && rtype == r.rtype && value == r.value && line == r.line && ttl == r.ttl && prio == r.priority {
		// Alidns refuses an update that changes nothing.
		return nil, errorf(http.StatusBadRequest, "DomainRecordDuplicate", "The DNS record already exists.")
	}
	if e := s.conflict(r, r.domain, rr, rtype, value, line); e != nil {
		return nil, e
	}
	oldName, oldType := r.fqdn(), r.rtype
	r.rr, r.rtype, r.value, r.line, r.ttl, r.priority = rr, rtype, value, line, ttl, prio
	s.notify(c, oldName, oldType)
	if oldName != r.fqdn() || oldType != r.rtype {
		s.notify(c, r.fqdn(), r.rtype)
	}
	return map[string]any{"RecordId": r.id}, nil
}

func setDomainRecordStatus(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	r, e := f.st.lookupRecord(c.p["RecordId"], false)
	if e != nil {
		return nil, e
	}
	status := strings.ToUpper(c.p["Status"])
	if status != "ENABLE" && status != "DISABLE" {
		return nil, invalidParam("Status", c.p["Status"])
	}
	r.status = status
	f.st.notify(c, r.fqdn(), r.rtype)
	return map[string]any{"RecordId": r.id, "Status": strings.ToUpper(status[:1]) + strings.ToLower(status[1:])}, nil
}

func deleteDomainRecord(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	r, e := s.lookupRecord(c.p["RecordId"], false)
	if e != nil {
		return nil, e
	}
	delete(s.records, r.id)
	s.notify(c, r.fqdn(), r.rtype)
	return map[string]any{"RecordId": r.id}, nil
}
