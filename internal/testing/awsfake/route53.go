package awsfake

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

const route53Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// HostedZone is a Route 53 hosted zone as the fake holds it.
type HostedZone struct {
	ID              string // without the "/hostedzone/" prefix
	Name            string // fully qualified, lower case, with the trailing dot
	CallerReference string
	Comment         string
	Private         bool
	VPCID           string // the associated VPC of a private zone
	VPCRegion       string
	NameServers     []string
	Tags            map[string]string
}

// RecordSet is one Route 53 record set. Name is fully qualified, lower case, and holds '*' itself (the API
// shows it as \052). TXT values keep their quotes, as on the wire.
type RecordSet struct {
	Name          string
	Type          string
	TTL           int64
	Values        []string
	Alias         *AliasTarget
	SetIdentifier string
	Weight        *int64
}

// AliasTarget is the target of an alias record set.
type AliasTarget struct {
	HostedZoneID         string
	DNSName              string
	EvaluateTargetHealth bool
}

// TXTStrings returns the set's values with the quoting of TXT records undone (`"a" "b"` becomes `ab`).
func (rs RecordSet) TXTStrings() []string {
	out := make([]string, 0, len(rs.Values))
	for _, v := range rs.Values {
		out = append(out, unquoteTXT(v))
	}
	return out
}

func unquoteTXT(v string) string {
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

// RecordChange is one applied change, as told to a RecordSink.
type RecordChange struct {
	ZoneID   string
	ZoneName string
	// Deleted is true when the set is gone; otherwise Set is its content after the change (CREATE or UPSERT).
	Deleted bool
	Set     RecordSet
}

// RecordSink hears about every record set change the Route 53 fake applies (including a new zone's NS and
// SOA sets and their removal with the zone): in the order applied, one call at a time, and before the
// request that made the change is answered. A test DNS server (such as challtestsrv) implements it to serve
// what Route 53 would. A sink may call the Server's methods.
type RecordSink interface {
	RecordSetChanged(RecordChange)
}

// RecordSinkFunc adapts a function to RecordSink.
type RecordSinkFunc func(RecordChange)

// RecordSetChanged calls f.
func (f RecordSinkFunc) RecordSetChanged(c RecordChange) { f(c) }

type zoneRec struct {
	HostedZone
	meta
	sets map[string]*RecordSet
}

type changeRec struct {
	id           string
	submitted    time.Time
	reads        int
	pendingReads int
	pendingFor   time.Duration
}

func setKey(name, typ, setID string) string { return name + "|" + typ + "|" + setID }

// --- names -------------------------------------------------------------------------------------------

// canonicalName lower-cases a DNS name, decodes \ooo escapes and adds the trailing dot.
func canonicalName(name string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' {
			if i+3 < len(name) {
				if n, err := strconv.ParseUint(name[i+1:i+4], 8, 8); err == nil {
					b.WriteByte(byte(n))
					i += 3
					continue
				}
			}
			return "", fmt.Errorf("invalid escape in %q", name)
		}
		b.WriteByte(c)
	}
	out := strings.ToLower(b.String())
	if out == "" || out == "." {
		return "", errors.New("empty name")
	}
	if !strings.HasSuffix(out, ".") {
		out += "."
	}
	if strings.Contains(out, "..") || len(out) > 255 {
		return "", fmt.Errorf("invalid name %q", name)
	}
	return out, nil
}

// wireName escapes a canonical name the way Route 53 returns it: anything but letters, digits, '-', '_'
// and '.' as \ooo, so '*' comes back as \052.
func wireName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// nameOrder is the sort key Route 53 lists names in: labels reversed (com.example.www).
func nameOrder(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

func inZone(name, zone string) bool { return name == zone || strings.HasSuffix(name, "."+zone) }

// --- wire types --------------------------------------------------------------------------------------

type xRRSet struct {
	Name            string     `xml:"Name"`
	Type            string     `xml:"Type"`
	SetIdentifier   string     `xml:"SetIdentifier,omitempty"`
	Weight          *int64     `xml:"Weight,omitempty"`
	TTL             *int64     `xml:"TTL,omitempty"`
	ResourceRecords []xRR      `xml:"ResourceRecords>ResourceRecord,omitempty"`
	AliasTarget     *xAliasTgt `xml:"AliasTarget,omitempty"`
	HealthCheckID   string     `xml:"HealthCheckId,omitempty"`
}

type xRR struct {
	Value string `xml:"Value"`
}

type xAliasTgt struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xHostedZone struct {
	ID              string  `xml:"Id"`
	Name            string  `xml:"Name"`
	CallerReference string  `xml:"CallerReference"`
	Config          xConfig `xml:"Config"`
	Count           int     `xml:"ResourceRecordSetCount"`
}

type xConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type xChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type xDelegationSet struct {
	NameServers []string `xml:"NameServers>NameServer"`
}

type xVPC struct {
	Region string `xml:"VPCRegion,omitempty"`
	ID     string `xml:"VPCId,omitempty"`
}

func (z *zoneRec) wire() xHostedZone {
	return xHostedZone{ID: "/hostedzone/" + z.ID, Name: wireName(z.Name), CallerReference: z.CallerReference,
		Config: xConfig{Comment: z.Comment, PrivateZone: z.Private}, Count: len(z.sets)}
}

func (rs *RecordSet) wire() xRRSet {
	out := xRRSet{Name: wireName(rs.Name), Type: rs.Type, SetIdentifier: rs.SetIdentifier, Weight: rs.Weight}
	if rs.Alias != nil {
		out.AliasTarget = &xAliasTgt{rs.Alias.HostedZoneID, wireName(rs.Alias.DNSName), rs.Alias.EvaluateTargetHealth}
		return out
	}
	ttl := rs.TTL
	out.TTL = &ttl
	for _, v := range rs.Values {
		out.ResourceRecords = append(out.ResourceRecords, xRR{v})
	}
	return out
}

// --- HTTP --------------------------------------------------------------------------------------------

type r53Request struct {
	r      *http.Request
	body   []byte
	zoneID string
	status int // success status (201 for CreateHostedZone)
	header http.Header
}

type r53Handler func(s *Server, req *r53Request) (any, []RecordChange, error)

// route53Route maps a method and path onto an operation.
func route53Route(method, path string) (string, r53Handler, string) {
	rest, ok := strings.CutPrefix(path, "/2013-04-01/")
	if !ok {
		return "", nil, ""
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "hostedzone" && method == http.MethodPost:
		return "CreateHostedZone", (*Server).createHostedZone, ""
	case len(parts) == 1 && parts[0] == "hostedzone" && method == http.MethodGet:
		return "ListHostedZones", (*Server).listHostedZones, ""
	case len(parts) == 1 && parts[0] == "hostedzonesbyname" && method == http.MethodGet:
		return "ListHostedZonesByName", (*Server).listHostedZonesByName, ""
	case len(parts) == 2 && parts[0] == "hostedzone" && method == http.MethodGet:
		return "GetHostedZone", (*Server).getHostedZone, parts[1]
	case len(parts) == 2 && parts[0] == "hostedzone" && method == http.MethodDelete:
		return "DeleteHostedZone", (*Server).deleteHostedZone, parts[1]
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && method == http.MethodPost:
		return "ChangeResourceRecordSets", (*Server).changeResourceRecordSets, parts[1]
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && method == http.MethodGet:
		return "ListResourceRecordSets", (*Server).listResourceRecordSets, parts[1]
	case len(parts) == 3 && parts[0] == "tags" && method == http.MethodPost:
		return "ChangeTagsForResource", (*Server).changeTagsForResource, parts[1] + "/" + parts[2]
	case len(parts) == 3 && parts[0] == "tags" && method == http.MethodGet:
		return "ListTagsForResource", (*Server).listTagsForResource, parts[1] + "/" + parts[2]
	case len(parts) == 2 && parts[0] == "change" && method == http.MethodGet:
		return "GetChange", (*Server).getChange, parts[1]
	}
	return "", nil, ""
}

func (s *Server) serveRoute53(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	action, handler, id := route53Route(r.Method, r.URL.Path)
	fail := func(e *apiError) {
		s.record("route53", action, e.code)
		writeQueryError(w, requestID, e)
	}
	body, err := readBody(r)
	if err != nil {
		fail(errorf(400, "InvalidInput", "%v", err))
		return
	}
	switch res, msg := verifySigV4(sigv4Request{r: r, body: body, service: "route53"}, s.secretFor); res {
	case authOK:
	case authMissing:
		fail(errorf(403, "MissingAuthenticationToken", "%s", msg))
		return
	case authUnknownKey:
		fail(errorf(403, "InvalidClientTokenId", "%s", msg))
		return
	case authBadSignature:
		fail(errorf(403, "SignatureDoesNotMatch", "%s", msg))
		return
	default:
		fail(errorf(400, "IncompleteSignature", "%s", msg))
		return
	}
	if handler == nil {
		fail(errorf(404, "UnknownOperationException", "No operation for %s %s", r.Method, r.URL.Path))
		return
	}
	req := &r53Request{r: r, body: body, zoneID: id, status: http.StatusOK, header: w.Header()}
	s.mu.Lock()
	if s.throttled(action) {
		code := orDefault(s.faults.Route53ThrottleCode, "PriorRequestNotComplete")
		s.mu.Unlock()
		msg := "Rate exceeded"
		if code == "PriorRequestNotComplete" {
			msg = "The request was rejected because Route 53 was still processing a prior request."
		}
		fail(errorf(400, code, "%s", msg))
		return
	}
	out, changes, err := handler(s, req)
	if s.sink != nil {
		for _, c := range changes {
			s.undelivered = append(s.undelivered, delivery{s.sink, c})
		}
	}
	s.mu.Unlock()
	s.deliverChanges()
	if err != nil {
		var batch *changeBatchError
		if errors.As(err, &batch) {
			s.record("route53", action, "InvalidChangeBatch")
			writeInvalidChangeBatch(w, requestID, batch.messages)
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errorf(500, "InternalFailure", "%v", err)
		}
		fail(ae)
		return
	}
	b, err := xml.Marshal(out)
	if err != nil {
		fail(errorf(500, "InternalFailure", "encode %s response: %v", action, err))
		return
	}
	s.record("route53", action, "")
	w.Header().Set("x-amzn-RequestId", requestID)
	writeXML(w, req.status, b)
}

// delivery is a change waiting to be told to the sink that was set when it was applied.
type delivery struct {
	sink   RecordSink
	change RecordChange
}

// deliverChanges tells sinks about applied changes in the order they were applied, outside s.mu (so a sink
// may call the Server) and before the request that made them is answered.
func (s *Server) deliverChanges() {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	for {
		s.mu.Lock()
		queue := s.undelivered
		s.undelivered = nil
		s.mu.Unlock()
		if len(queue) == 0 {
			return
		}
		for _, d := range queue {
			d.sink.RecordSetChanged(d.change)
		}
	}
}

type changeBatchError struct{ messages []string }

func (e *changeBatchError) Error() string {
	return "InvalidChangeBatch: " + strings.Join(e.messages, "; ")
}

func writeInvalidChangeBatch(w http.ResponseWriter, requestID string, messages []string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<InvalidChangeBatch xmlns="%s"><Messages>`, route53Namespace)
	for _, m := range messages {
		b.WriteString("<Message>")
		xml.EscapeText(&b, []byte(m)) //nolint:errcheck // bytes.Buffer
		b.WriteString("</Message>")
	}
	fmt.Fprintf(&b, "</Messages><RequestId>%s</RequestId></InvalidChangeBatch>", requestID)
	w.Header().Set("x-amzn-RequestId", requestID)
	writeXML(w, http.StatusBadRequest, b.Bytes())
}

func invalidInput(format string, args ...any) *apiError {
	return errorf(400, "InvalidInput", format, args...)
}

func (s *Server) zone(id string) (*zoneRec, error) {
	z, ok := s.st.zones[id]
	if !ok {
		return nil, errorf(404, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
	}
	return z, nil
}

func (s *Server) newChange() xChangeInfo {
	c := &changeRec{id: "C" + strings.ToUpper(randomID("", 20)), submitted: s.now(),
		pendingReads: s.faults.ChangePendingReads, pendingFor: s.faults.ChangePendingFor}
	s.st.changes[c.id] = c
	return xChangeInfo{ID: "/change/" + c.id, Status: "PENDING", SubmittedAt: c.submitted.UTC().Format("2006-01-02T15:04:05.000Z")}
}

// --- hosted zones ------------------------------------------------------------------------------------

func (s *Server) createHostedZone(req *r53Request) (any, []RecordChange, error) {
	var in struct {
		Name            string `xml:"Name"`
		CallerReference string `xml:"CallerReference"`
		Config          struct {
			Comment     string `xml:"Comment"`
			PrivateZone bool   `xml:"PrivateZone"`
		} `xml:"HostedZoneConfig"`
		VPC xVPC `xml:"VPC"`
	}
	if err := xml.Unmarshal(req.body, &in); err != nil {
		return nil, nil, invalidInput("Invalid XML: %v", err)
	}
	if in.CallerReference == "" {
		return nil, nil, invalidInput("CallerReference is required")
	}
	name, err := canonicalName(in.Name)
	if err != nil {
		return nil, nil, errorf(400, "InvalidDomainName", "%s is reserved or not a valid domain name", in.Name)
	}
	if _, dup := s.st.callers[in.CallerReference]; dup {
		return nil, nil, errorf(409, "HostedZoneAlreadyExists", "A hosted zone has already been created with the specified caller reference.")
	}
	private := in.VPC.ID != ""
	if in.Config.PrivateZone && !private {
		return nil, nil, invalidInput("A private hosted zone needs a VPC")
	}
	if private {
		if in.VPC.Region == s.region {
			if _, ok := s.st.vpcs[in.VPC.ID]; !ok {
				return nil, nil, errorf(400, "InvalidVPCId", "The VPC: %s you provided is not authorized to make the association.", in.VPC.ID)
			}
		}
	}
	z := &zoneRec{HostedZone: HostedZone{
		ID: "Z" + strings.ToUpper(randomID("", 20)), Name: name, CallerReference: in.CallerReference,
		Comment: in.Config.Comment, Private: private, VPCID: in.VPC.ID, VPCRegion: in.VPC.Region, Tags: map[string]string{},
	}, meta: s.st.nextMeta(false), sets: map[string]*RecordSet{}}
	sum := hexSHA256([]byte(z.ID))
	n, _ := strconv.ParseUint(sum[:4], 16, 16)
	for i, tld := range []string{"com", "net", "org", "co.uk"} {
		z.NameServers = append(z.NameServers, fmt.Sprintf("ns-%d.awsdns-%02d.%s.", (int(n)+i*512)%2048, (int(n)/7+i)%64, tld))
	}
	z.sets[setKey(name, "NS", "")] = &RecordSet{Name: name, Type: "NS", TTL: 172800, Values: slices.Clone(z.NameServers)}
	z.sets[setKey(name, "SOA", "")] = &RecordSet{Name: name, Type: "SOA", TTL: 900,
		Values: []string{z.NameServers[0] + " awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}}
	s.st.zones[z.ID] = z
	s.st.callers[in.CallerReference] = z.ID
	req.status = http.StatusCreated
	req.header.Set("Location", "https://route53.amazonaws.com/2013-04-01/hostedzone/"+z.ID)
	out := struct {
		XMLName       xml.Name        `xml:"CreateHostedZoneResponse"`
		Xmlns         string          `xml:"xmlns,attr"`
		HostedZone    xHostedZone     `xml:"HostedZone"`
		ChangeInfo    xChangeInfo     `xml:"ChangeInfo"`
		DelegationSet *xDelegationSet `xml:"DelegationSet,omitempty"`
		VPC           *xVPC           `xml:"VPC,omitempty"`
	}{Xmlns: route53Namespace, HostedZone: z.wire(), ChangeInfo: s.newChange()}
	if private {
		out.VPC = &in.VPC
	} else {
		out.DelegationSet = &xDelegationSet{z.NameServers}
	}
	var changes []RecordChange
	for _, rs := range z.sortedSets() {
		changes = append(changes, RecordChange{ZoneID: z.ID, ZoneName: z.Name, Set: cloneSet(rs)})
	}
	return out, changes, nil
}

func (s *Server) getHostedZone(req *r53Request) (any, []RecordChange, error) {
	z, err := s.zone(req.zoneID)
	if err != nil {
		return nil, nil, err
	}
	out := struct {
		XMLName       xml.Name        `xml:"GetHostedZoneResponse"`
		Xmlns         string          `xml:"xmlns,attr"`
		HostedZone    xHostedZone     `xml:"HostedZone"`
		DelegationSet *xDelegationSet `xml:"DelegationSet,omitempty"`
		VPCs          []xVPC          `xml:"VPCs>VPC,omitempty"`
	}{Xmlns: route53Namespace, HostedZone: z.wire()}
	if z.Private {
		out.VPCs = []xVPC{{Region: z.VPCRegion, ID: z.VPCID}}
	} else {
		out.DelegationSet = &xDelegationSet{z.NameServers}
	}
	return out, nil, nil
}

func maxItems(req *r53Request, def int) (int, error) {
	raw := req.r.URL.Query().Get("maxitems")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, invalidInput("maxitems must be a positive integer, not %q", raw)
	}
	return min(n, def), nil
}

func (s *Server) listHostedZones(req *r53Request) (any, []RecordChange, error) {
	limit, err := maxItems(req, 100)
	if err != nil {
		return nil, nil, err
	}
	zones := sortedValues(s.st.zones, func(z *zoneRec) int { return z.seq })
	start := 0
	if marker := req.r.URL.Query().Get("marker"); marker != "" {
		start = slices.IndexFunc(zones, func(z *zoneRec) bool { return z.ID == marker })
		if start < 0 {
			return nil, nil, invalidInput("Invalid marker %q", marker)
		}
	}
	out := struct {
		XMLName     xml.Name      `xml:"ListHostedZonesResponse"`
		Xmlns       string        `xml:"xmlns,attr"`
		HostedZones []xHostedZone `xml:"HostedZones>HostedZone"`
		Marker      string        `xml:"Marker,omitempty"`
		IsTruncated bool          `xml:"IsTruncated"`
		NextMarker  string        `xml:"NextMarker,omitempty"`
		MaxItems    int           `xml:"MaxItems"`
	}{Xmlns: route53Namespace, Marker: req.r.URL.Query().Get("marker"), MaxItems: limit}
	for i := start; i < len(zones); i++ {
		if len(out.HostedZones) == limit {
			out.IsTruncated, out.NextMarker = true, zones[i].ID
			break
		}
		out.HostedZones = append(out.HostedZones, zones[i].wire())
	}
	return out, nil, nil
}

func (s *Server) listHostedZonesByName(req *r53Request) (any, []RecordChange, error) {
	limit, err := maxItems(req, 100)
	if err != nil {
		return nil, nil, err
	}
	q := req.r.URL.Query()
	zones := sortedValues(s.st.zones, func(z *zoneRec) int { return z.seq })
	slices.SortStableFunc(zones, func(a, b *zoneRec) int {
		if c := strings.Compare(nameOrder(a.Name), nameOrder(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	dnsName, startID := q.Get("dnsname"), q.Get("hostedzoneid")
	if startID != "" && dnsName == "" {
		return nil, nil, invalidInput("hostedzoneid requires dnsname")
	}
	start := 0
	if dnsName != "" {
		name, err := canonicalName(dnsName)
		if err != nil {
			return nil, nil, errorf(400, "InvalidDomainName", "%s is not a valid domain name", dnsName)
		}
		start = len(zones)
		for i, z := range zones {
			if c := strings.Compare(nameOrder(z.Name), nameOrder(name)); c > 0 || c == 0 && z.ID >= startID {
				start = i
				break
			}
		}
	}
	out := struct {
		XMLName          xml.Name      `xml:"ListHostedZonesByNameResponse"`
		Xmlns            string        `xml:"xmlns,attr"`
		HostedZones      []xHostedZone `xml:"HostedZones>HostedZone"`
		DNSName          string        `xml:"DNSName,omitempty"`
		HostedZoneID     string        `xml:"HostedZoneId,omitempty"`
		IsTruncated      bool          `xml:"IsTruncated"`
		NextDNSName      string        `xml:"NextDNSName,omitempty"`
		NextHostedZoneID string        `xml:"NextHostedZoneId,omitempty"`
		MaxItems         int           `xml:"MaxItems"`
	}{Xmlns: route53Namespace, DNSName: dnsName, HostedZoneID: startID, MaxItems: limit}
	for i := start; i < len(zones); i++ {
		if len(out.HostedZones) == limit {
			out.IsTruncated, out.NextDNSName, out.NextHostedZoneID = true, wireName(zones[i].Name), zones[i].ID
			break
		}
		out.HostedZones = append(out.HostedZones, zones[i].wire())
	}
	return out, nil, nil
}

func (s *Server) deleteHostedZone(req *r53Request) (any, []RecordChange, error) {
	z, err := s.zone(req.zoneID)
	if err != nil {
		return nil, nil, err
	}
	for _, rs := range z.sets {
		if !(rs.Name == z.Name && (rs.Type == "NS" || rs.Type == "SOA")) {
			return nil, nil, errorf(400, "HostedZoneNotEmpty", "The specified hosted zone contains non-required resource record sets and so cannot be deleted.")
		}
	}
	var changes []RecordChange
	for _, rs := range z.sortedSets() {
		changes = append(changes, RecordChange{ZoneID: z.ID, ZoneName: z.Name, Deleted: true, Set: cloneSet(rs)})
	}
	delete(s.st.zones, z.ID)
	delete(s.st.callers, z.CallerReference)
	return struct {
		XMLName    xml.Name    `xml:"DeleteHostedZoneResponse"`
		Xmlns      string      `xml:"xmlns,attr"`
		ChangeInfo xChangeInfo `xml:"ChangeInfo"`
	}{Xmlns: route53Namespace, ChangeInfo: s.newChange()}, changes, nil
}

func (s *Server) getChange(req *r53Request) (any, []RecordChange, error) {
	c, ok := s.st.changes[req.zoneID]
	if !ok {
		return nil, nil, errorf(404, "NoSuchChange", "Could not find resource with ID: %s", req.zoneID)
	}
	c.reads++
	status := "INSYNC"
	if c.reads <= c.pendingReads || s.now().Before(c.submitted.Add(c.pendingFor)) {
		status = "PENDING"
	}
	return struct {
		XMLName    xml.Name    `xml:"GetChangeResponse"`
		Xmlns      string      `xml:"xmlns,attr"`
		ChangeInfo xChangeInfo `xml:"ChangeInfo"`
	}{Xmlns: route53Namespace, ChangeInfo: xChangeInfo{ID: "/change/" + c.id, Status: status,
		SubmittedAt: c.submitted.UTC().Format("2006-01-02T15:04:05.000Z")}}, nil, nil
}

// --- record sets -------------------------------------------------------------------------------------

func (z *zoneRec) sortedSets() []*RecordSet {
	out := make([]*RecordSet, 0, len(z.sets))
	for _, rs := range z.sets {
		out = append(out, rs)
	}
	slices.SortFunc(out, compareSets)
	return out
}

func compareSets(a, b *RecordSet) int {
	if c := strings.Compare(nameOrder(a.Name), nameOrder(b.Name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.SetIdentifier, b.SetIdentifier)
}

func cloneSet(rs *RecordSet) RecordSet {
	out := *rs
	out.Values = slices.Clone(rs.Values)
	if rs.Alias != nil {
		a := *rs.Alias
		out.Alias = &a
	}
	if rs.Weight != nil {
		w := *rs.Weight
		out.Weight = &w
	}
	return out
}

var recordTypes = []string{"A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT"}

func (s *Server) changeResourceRecordSets(req *r53Request) (any, []RecordChange, error) {
	z, err := s.zone(req.zoneID)
	if err != nil {
		return nil, nil, err
	}
	var in struct {
		Comment string `xml:"ChangeBatch>Comment"`
		Changes []struct {
			Action string `xml:"Action"`
			Set    xRRSet `xml:"ResourceRecordSet"`
		} `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.Unmarshal(req.body, &in); err != nil {
		return nil, nil, invalidInput("Invalid XML: %v", err)
	}
	if len(in.Changes) == 0 {
		return nil, nil, invalidInput("1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	// Apply to a copy; commit only if every change is valid, as Route 53 applies a batch atomically.
	sets := map[string]*RecordSet{}
	for k, v := range z.sets {
		sets[k] = v
	}
	var messages []string
	var changes []RecordChange
	for _, c := range in.Changes {
		if !slices.Contains([]string{"CREATE", "DELETE", "UPSERT"}, c.Action) {
			return nil, nil, invalidInput("Invalid XML ; value '%s' for Action is not CREATE, DELETE or UPSERT", c.Action)
		}
		if !slices.Contains(recordTypes, c.Set.Type) {
			return nil, nil, invalidInput("Invalid XML ; value '%s' for Type is not a valid record type", c.Set.Type)
		}
		rs, msg := s.parseSet(z, c.Set)
		if msg != "" {
			messages = append(messages, msg)
			continue
		}
		key := setKey(rs.Name, rs.Type, rs.SetIdentifier)
		label := fmt.Sprintf("[name='%s', type='%s'", wireName(rs.Name), rs.Type)
		if rs.SetIdentifier != "" {
			label += fmt.Sprintf(", set-identifier='%s'", rs.SetIdentifier)
		}
		label += "]"
		have, exists := sets[key]
		apex := rs.Name == z.Name && (rs.Type == "NS" || rs.Type == "SOA")
		switch c.Action {
		case "CREATE":
			if exists {
				messages = append(messages, fmt.Sprintf("Tried to create resource record set %s but it already exists", label))
				continue
			}
		case "DELETE":
			if !exists {
				messages = append(messages, fmt.Sprintf("Tried to delete resource record set %s but it was not found", label))
				continue
			}
			if !sameSet(have, rs) {
				messages = append(messages, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", label))
				continue
			}
			if apex {
				messages = append(messages, fmt.Sprintf("A HostedZone must contain at least one %s record for the zone itself.", rs.Type))
				continue
			}
			delete(sets, key)
			changes = append(changes, RecordChange{ZoneID: z.ID, ZoneName: z.Name, Deleted: true, Set: cloneSet(have)})
			continue
		}
		if msg := cnameConflict(sets, rs, z.Name); msg != "" {
			messages = append(messages, msg)
			continue
		}
		if msg := s.checkAlias(sets, z, rs); msg != "" {
			messages = append(messages, msg)
			continue
		}
		sets[key] = rs
		changes = append(changes, RecordChange{ZoneID: z.ID, ZoneName: z.Name, Set: cloneSet(rs)})
	}
	if len(messages) > 0 {
		return nil, nil, &changeBatchError{messages}
	}
	z.sets = sets
	info := s.newChange()
	info.Comment = in.Comment
	return struct {
		XMLName    xml.Name    `xml:"ChangeResourceRecordSetsResponse"`
		Xmlns      string      `xml:"xmlns,attr"`
		ChangeInfo xChangeInfo `xml:"ChangeInfo"`
	}{Xmlns: route53Namespace, ChangeInfo: info}, changes, nil
}

// parseSet validates one ResourceRecordSet of a change; a non-empty message is an InvalidChangeBatch message.
func (s *Server) parseSet(z *zoneRec, in xRRSet) (*RecordSet, string) {
	name, err := canonicalName(in.Name)
	if err != nil {
		return nil, fmt.Sprintf("Invalid name: %v", err)
	}
	if !inZone(name, z.Name) {
		return nil, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", wireName(name), wireName(z.Name))
	}
	rs := &RecordSet{Name: name, Type: in.Type, SetIdentifier: in.SetIdentifier, Weight: in.Weight}
	if (in.SetIdentifier == "") != (in.Weight == nil) {
		return nil, fmt.Sprintf("Invalid request: SetIdentifier and Weight must be given together for %s", wireName(name))
	}
	if in.AliasTarget != nil {
		if in.TTL != nil || len(in.ResourceRecords) > 0 {
			return nil, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with [Action=?, Name=%s, Type=%s]", wireName(name), in.Type)
		}
		target, err := canonicalName(in.AliasTarget.DNSName)
		if err != nil || in.AliasTarget.HostedZoneID == "" {
			return nil, fmt.Sprintf("Invalid alias target for %s", wireName(name))
		}
		rs.Alias = &AliasTarget{HostedZoneID: strings.TrimPrefix(in.AliasTarget.HostedZoneID, "/hostedzone/"), DNSName: target,
			EvaluateTargetHealth: in.AliasTarget.EvaluateTargetHealth}
		return rs, ""
	}
	if in.TTL == nil || len(in.ResourceRecords) == 0 {
		return nil, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Name=%s, Type=%s]", wireName(name), in.Type)
	}
	if *in.TTL < 0 || *in.TTL > 2147483647 {
		return nil, fmt.Sprintf("Invalid TTL %d", *in.TTL)
	}
	rs.TTL = *in.TTL
	for _, rr := range in.ResourceRecords {
		if msg := checkValue(in.Type, rr.Value); msg != "" {
			return nil, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: %s encountered with '%s''", msg, rr.Value)
		}
		rs.Values = append(rs.Values, rr.Value)
	}
	if in.Type == "CNAME" && len(rs.Values) > 1 {
		return nil, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: CNAME with multiple values for %s'", wireName(name))
	}
	if in.Type == "CNAME" && name == z.Name {
		return nil, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", wireName(name), wireName(z.Name))
	}
	return rs, ""
}

func checkValue(typ, v string) string {
	switch typ {
	case "A":
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			return "ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address)"
		}
	case "AAAA":
		if a, err := netip.ParseAddr(v); err != nil || !a.Is6() || a.Is4In6() {
			return "AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address)"
		}
	case "TXT", "SPF":
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return "InvalidCharacterString (Value should be enclosed in quotation marks)"
		}
	case "CNAME":
		if _, err := canonicalName(v); err != nil {
			return "DomainLabelEmpty (Domain label is empty)"
		}
	}
	return ""
}

func sameSet(a, b *RecordSet) bool {
	if (a.Alias == nil) != (b.Alias == nil) || (a.Weight == nil) != (b.Weight == nil) {
		return false
	}
	if a.Weight != nil && *a.Weight != *b.Weight {
		return false
	}
	if a.Alias != nil {
		return *a.Alias == *b.Alias
	}
	return a.TTL == b.TTL && sameMembers(a.Values, b.Values)
}

// sameMembers compares value lists as sets: Route 53 does not keep the order of a set's values.
func sameMembers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func cnameConflict(sets map[string]*RecordSet, rs *RecordSet, zone string) string {
	for _, other := range sets {
		if other.Name != rs.Name || other.Type == rs.Type {
			continue
		}
		if rs.Type == "CNAME" || other.Type == "CNAME" {
			return fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", rs.Type, wireName(rs.Name), wireName(zone))
		}
	}
	return ""
}

// checkAlias requires an alias into one of the fake's own zones to name an existing set of the same type.
func (s *Server) checkAlias(sets map[string]*RecordSet, z *zoneRec, rs *RecordSet) string {
	if rs.Alias == nil {
		return ""
	}
	target, ok := s.st.zones[rs.Alias.HostedZoneID]
	if !ok {
		return "" // a load balancer's, CloudFront's or S3's zone: not modelled, accepted
	}
	targetSets := target.sets
	if target.ID == z.ID {
		targetSets = sets
	}
	if !inZone(rs.Alias.DNSName, target.Name) {
		return fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but the alias target name does not lie within the target zone", wireName(rs.Alias.DNSName), rs.Type, target.ID)
	}
	for _, t := range targetSets {
		if t.Name == rs.Alias.DNSName && t.Type == rs.Type {
			return ""
		}
	}
	return fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but that target was not found", wireName(rs.Alias.DNSName), rs.Type, target.ID)
}

func (s *Server) listResourceRecordSets(req *r53Request) (any, []RecordChange, error) {
	z, err := s.zone(req.zoneID)
	if err != nil {
		return nil, nil, err
	}
	limit, err := maxItems(req, 300)
	if err != nil {
		return nil, nil, err
	}
	q := req.r.URL.Query()
	startName, startType, startID := q.Get("name"), q.Get("type"), q.Get("identifier")
	if startType != "" && startName == "" {
		return nil, nil, invalidInput("The input is not valid: type requires name")
	}
	sets := z.sortedSets()
	start := 0
	if startName != "" {
		name, err := canonicalName(startName)
		if err != nil {
			return nil, nil, invalidInput("Invalid name %q", startName)
		}
		from := &RecordSet{Name: name, Type: startType, SetIdentifier: startID}
		start = len(sets)
		for i, rs := range sets {
			if compareSets(rs, from) >= 0 {
				start = i
				break
			}
		}
	}
	out := struct {
		XMLName              xml.Name `xml:"ListResourceRecordSetsResponse"`
		Xmlns                string   `xml:"xmlns,attr"`
		Sets                 []xRRSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated          bool     `xml:"IsTruncated"`
		NextRecordName       string   `xml:"NextRecordName,omitempty"`
		NextRecordType       string   `xml:"NextRecordType,omitempty"`
		NextRecordIdentifier string   `xml:"NextRecordIdentifier,omitempty"`
		MaxItems             int      `xml:"MaxItems"`
	}{Xmlns: route53Namespace, MaxItems: limit}
	for i := start; i < len(sets); i++ {
		if len(out.Sets) == limit {
			out.IsTruncated = true
			out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = wireName(sets[i].Name), sets[i].Type, sets[i].SetIdentifier
			break
		}
		out.Sets = append(out.Sets, sets[i].wire())
	}
	return out, nil, nil
}

// --- tags --------------------------------------------------------------------------------------------

type xR53Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// taggedZone resolves the "{ResourceType}/{ResourceId}" of the tag operations; only hosted zones are modelled.
func (s *Server) taggedZone(resource string) (*zoneRec, error) {
	typ, id, _ := strings.Cut(resource, "/")
	if typ != "hostedzone" {
		return nil, invalidInput("The fake models tags of hosted zones only, not %q", typ)
	}
	return s.zone(id)
}

func (s *Server) changeTagsForResource(req *r53Request) (any, []RecordChange, error) {
	z, err := s.taggedZone(req.zoneID)
	if err != nil {
		return nil, nil, err
	}
	var in struct {
		Add    []xR53Tag `xml:"AddTags>Tag"`
		Remove []string  `xml:"RemoveTagKeys>Key"`
	}
	if err := xml.Unmarshal(req.body, &in); err != nil {
		return nil, nil, invalidInput("Invalid XML: %v", err)
	}
	if len(in.Add) > 10 || len(in.Remove) > 10 {
		return nil, nil, invalidInput("At most 10 tags can be added and 10 removed per request")
	}
	tags := maps.Clone(z.Tags)
	for _, k := range in.Remove {
		delete(tags, k)
	}
	for _, t := range in.Add {
		if t.Key == "" || strings.HasPrefix(strings.ToLower(t.Key), "aws:") || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, nil, invalidInput("Invalid tag key %q", t.Key)
		}
		tags[t.Key] = t.Value
	}
	if len(tags) > 50 {
		return nil, nil, invalidInput("A hosted zone can have at most 50 tags")
	}
	z.Tags = tags
	return struct {
		XMLName xml.Name `xml:"ChangeTagsForResourceResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
	}{Xmlns: route53Namespace}, nil, nil
}

func (s *Server) listTagsForResource(req *r53Request) (any, []RecordChange, error) {
	z, err := s.taggedZone(req.zoneID)
	if err != nil {
		return nil, nil, err
	}
	out := struct {
		XMLName xml.Name  `xml:"ListTagsForResourceResponse"`
		Xmlns   string    `xml:"xmlns,attr"`
		Type    string    `xml:"ResourceTagSet>ResourceType"`
		ID      string    `xml:"ResourceTagSet>ResourceId"`
		Tags    []xR53Tag `xml:"ResourceTagSet>Tags>Tag"`
	}{Xmlns: route53Namespace, Type: "hostedzone", ID: z.ID}
	for _, t := range xTags(z.Tags) {
		out.Tags = append(out.Tags, xR53Tag(t))
	}
	return out, nil, nil
}
