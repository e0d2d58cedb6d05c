package awsfake

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const ec2Version = "2016-11-15"

type ec2Handler func(s *Server, p params) (any, error)

var ec2Actions = map[string]ec2Handler{
	"CreateVpc":                     (*Server).createVpc,
	"DescribeVpcs":                  (*Server).describeVpcs,
	"DeleteVpc":                     (*Server).deleteVpc,
	"ModifyVpcAttribute":            (*Server).modifyVpcAttribute,
	"DescribeVpcAttribute":          (*Server).describeVpcAttribute,
	"CreateTags":                    (*Server).createTags,
	"DeleteTags":                    (*Server).deleteTags,
	"DescribeTags":                  (*Server).describeTags,
	"CreateSubnet":                  (*Server).createSubnet,
	"DescribeSubnets":               (*Server).describeSubnets,
	"ModifySubnetAttribute":         (*Server).modifySubnetAttribute,
	"DeleteSubnet":                  (*Server).deleteSubnet,
	"CreateSecurityGroup":           (*Server).createSecurityGroup,
	"DescribeSecurityGroups":        (*Server).describeSecurityGroups,
	"DescribeSecurityGroupRules":    (*Server).describeSecurityGroupRules,
	"DeleteSecurityGroup":           (*Server).deleteSecurityGroup,
	"ModifySecurityGroupRules":      (*Server).modifySecurityGroupRules,
	"DescribeNetworkInterfaces":     (*Server).describeNetworkInterfaces,
	"DetachNetworkInterface":        (*Server).detachNetworkInterface,
	"DeleteNetworkInterface":        (*Server).deleteNetworkInterface,
	"AuthorizeSecurityGroupIngress": func(s *Server, p params) (any, error) { return s.authorize(p, false) },
	"AuthorizeSecurityGroupEgress":  func(s *Server, p params) (any, error) { return s.authorize(p, true) },
	"RevokeSecurityGroupIngress":    func(s *Server, p params) (any, error) { return s.revoke(p, false) },
	"RevokeSecurityGroupEgress":     func(s *Server, p params) (any, error) { return s.revoke(p, true) },
	"DescribeImages":                (*Server).describeImages,
	"DescribeAvailabilityZones":     (*Server).describeAvailabilityZones,
	"DescribeAccountAttributes":     (*Server).describeAccountAttributes,
}

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	fail := func(action string, e *apiError) {
		s.record("ec2", action, e.code)
		writeEC2Error(w, requestID, e)
	}
	body, err := readBody(r)
	if err != nil {
		fail("", errorf(400, "InvalidRequest", "%v", err))
		return
	}
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		if form, err = url.ParseQuery(string(body)); err != nil {
			fail("", errorf(400, "MalformedQueryString", "%v", err))
			return
		}
	}
	action := form.Get("Action")
	switch res, msg := verifySigV4(sigv4Request{r: r, body: body, service: "ec2"}, s.secretFor); res {
	case authOK:
	case authUnknownKey:
		fail(action, errorf(401, "AuthFailure", "AWS was not able to validate the provided access credentials"))
		return
	default:
		fail(action, errorf(401, "AuthFailure", "%s", msg))
		return
	}
	handler, ok := ec2Actions[action]
	if !ok {
		fail(action, errorf(400, "InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if v := form.Get("Version"); v != ec2Version {
		fail(action, errorf(400, "InvalidParameterValue", "Invalid Version %q for EC2, expected %s", v, ec2Version))
		return
	}
	p := params{v: form}
	s.mu.Lock()
	if s.throttled(action) {
		s.mu.Unlock()
		fail(action, errorf(503, "RequestLimitExceeded", "Request limit exceeded."))
		return
	}
	var out any
	if dry, _, _ := p.boolean("DryRun"); dry {
		err = errorf(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	} else {
		out, err = handler(s, p)
	}
	s.mu.Unlock()
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errorf(500, "InternalError", "%v", err)
		}
		fail(action, ae)
		return
	}
	s.record("ec2", action, "")
	if err := writeEC2Response(w, action, requestID, out); err != nil {
		fail(action, errorf(500, "InternalError", "%v", err))
	}
}

type xReturn struct {
	Return bool `xml:"return"`
}

func missingParameter(name string) *apiError {
	return errorf(400, "MissingParameter", "The request must contain the parameter %s", name)
}

// visible reports whether a describe call sees a resource, using up one of its hidden reads if not.
func (m *meta) visible() bool {
	if m.hiddenReads > 0 {
		m.hiddenReads--
		return false
	}
	return true
}

// kind describes one EC2 resource type for the generic describe, tag and not-found logic.
type kind struct {
	prefix, noun, code, tagType string
}

var (
	vpcKind    = kind{"vpc-", "vpc ID", "InvalidVpcID", "vpc"}
	subnetKind = kind{"subnet-", "subnet ID", "InvalidSubnetID", "subnet"}
	groupKind  = kind{"sg-", "security group", "InvalidGroup", "security-group"}
	ruleKind   = kind{"sgr-", "security group rule ID", "InvalidSecurityGroupRuleId", "security-group-rule"}
	imageKind  = kind{"ami-", "image id", "InvalidAMIID", "image"}
)

func (k kind) notFound(ids []string) *apiError {
	if k == imageKind {
		return errorf(400, k.code+".NotFound", "The image id '[%s]' does not exist", strings.Join(ids, ", "))
	}
	if len(ids) > 1 {
		return errorf(400, k.code+".NotFound", "The %ss '%s' do not exist", k.noun, strings.Join(ids, ", "))
	}
	return errorf(400, k.code+".NotFound", "The %s '%s' does not exist", k.noun, strings.Join(ids, ", "))
}

func (k kind) checkIDs(ids []string) error {
	for _, id := range ids {
		if !strings.HasPrefix(id, k.prefix) || len(id) <= len(k.prefix) {
			return errorf(400, k.code+".Malformed", "Invalid id: %q (expecting %q)", id, k.prefix+"...")
		}
	}
	return nil
}

// selectRecs is the shared core of the Describe* actions: by ID (every ID must exist, or NotFound) or all,
// then filtered, in creation order, honouring eventual-consistency hiding.
func selectRecs[R any](k kind, recs map[string]R, ids []string, metaOf func(R) *meta, match func(R) (bool, error)) ([]R, error) {
	if err := k.checkIDs(ids); err != nil {
		return nil, err
	}
	var picked []R
	if len(ids) > 0 {
		var missing []string
		for _, id := range dedupe(ids) {
			r, ok := recs[id]
			if !ok || !metaOf(r).visible() {
				missing = append(missing, id)
				continue
			}
			picked = append(picked, r)
		}
		if len(missing) > 0 {
			return nil, k.notFound(missing)
		}
	} else {
		for _, r := range recs {
			picked = append(picked, r)
		}
	}
	sortBySeq(picked, func(r R) int { return metaOf(r).seq })
	var out []R
	for _, r := range picked {
		ok, err := match(r)
		if err != nil {
			return nil, err
		}
		if !ok || (len(ids) == 0 && !metaOf(r).visible()) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func dedupe(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// tagSpecs reads TagSpecification.N for a create action whose resource has the given tag type.
func tagSpecs(p params, resourceType string) (map[string]string, error) {
	tags := map[string]string{}
	for _, spec := range p.structs("TagSpecification") {
		if rt := spec.get("ResourceType"); rt != resourceType {
			return nil, errorf(400, "InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", rt)
		}
		t, err := readTags(spec)
		if err != nil {
			return nil, err
		}
		for k, v := range t {
			tags[k] = v
		}
	}
	return tags, nil
}

func readTags(p params) (map[string]string, error) {
	tags := map[string]string{}
	for _, t := range p.structs("Tag") {
		key := t.get("Key")
		switch {
		case key == "":
			return nil, errorf(400, "InvalidParameterValue", "Tag key must not be empty")
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			return nil, errorf(400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		case len(key) > 128 || len(t.get("Value")) > 256:
			return nil, errorf(400, "InvalidParameterValue", "Tag %q is too long", key)
		}
		tags[key] = t.get("Value")
	}
	return tags, nil
}

func (s *Server) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s", s.region, s.accountID, resource)
}

// --- VPCs --------------------------------------------------------------------------------------------

func (s *Server) xVpc(v *vpcRec) xVpc {
	return xVpc{
		VpcID: v.ID, OwnerID: s.accountID, State: v.State, CidrBlock: v.CIDR,
		CidrAssoc:     []xCidrAssoc{{AssociationID: "vpc-cidr-assoc-" + strings.TrimPrefix(v.ID, "vpc-"), CidrBlock: v.CIDR, State: "associated"}},
		DhcpOptionsID: "dopt-" + s.accountID[:8] + "0fake", InstanceTenancy: "default", IsDefault: v.IsDefault, Tags: xTags(v.Tags),
	}
}

func (s *Server) createVpc(p params) (any, error) {
	cidr := p.get("CidrBlock")
	if cidr == "" {
		return nil, missingParameter("cidrBlock")
	}
	prefix, ok := parseCIDR(cidr)
	if !ok || !prefix.Addr().Is4() {
		return nil, errorf(400, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	if prefix.Bits() < 16 || prefix.Bits() > 28 {
		return nil, errorf(400, "InvalidVpc.Range", "The CIDR '%s' is invalid.", cidr)
	}
	tags, err := tagSpecs(p, "vpc")
	if err != nil {
		return nil, err
	}
	vpc := s.st.addVPC(cidr, false, false)
	vpc.Tags = tags
	vpc.hiddenReads = s.faults.NotFoundReads
	if g := s.st.defaultGroup(vpc.ID); g != nil {
		g.hiddenReads = s.faults.NotFoundReads
	}
	return struct {
		Vpc xVpc `xml:"vpc"`
	}{s.xVpc(vpc)}, nil
}

func (s *Server) vpcAttrs(v *vpcRec) map[string][]string {
	return map[string][]string{
		"vpc-id": {v.ID}, "cidr": {v.CIDR}, "cidr-block-association.cidr-block": {v.CIDR},
		"cidrBlock": {v.CIDR}, "is-default": {boolString(v.IsDefault)}, "isDefault": {boolString(v.IsDefault)},
		"state": {v.State}, "owner-id": {s.accountID}, "instance-tenancy": {"default"},
	}
}

func (s *Server) describeVpcs(p params) (any, error) {
	filters := parseFilters(p)
	recs, err := selectRecs(vpcKind, s.st.vpcs, p.list("VpcId"), func(v *vpcRec) *meta { return &v.meta },
		func(v *vpcRec) (bool, error) { return matchFilters(filters, s.vpcAttrs(v), v.Tags) })
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, p)
	if err != nil {
		return nil, err
	}
	out := struct {
		Vpcs      []xVpc `xml:"vpcSet>item"`
		NextToken string `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, v := range page {
		out.Vpcs = append(out.Vpcs, s.xVpc(v))
	}
	return out, nil
}

func (s *Server) vpc(id string) (*vpcRec, error) {
	if id == "" {
		return nil, missingParameter("vpcId")
	}
	if err := vpcKind.checkIDs([]string{id}); err != nil {
		return nil, err
	}
	v, ok := s.st.vpcs[id]
	if !ok {
		return nil, vpcKind.notFound([]string{id})
	}
	return v, nil
}

// blockDelete applies the pinned-resource and first-delete faults shared by every delete.
func (s *Server) blockDelete(m *meta, id string, dependency *apiError) error {
	first := !m.deleteTried
	m.deleteTried = true
	if s.st.pinned[id] > 0 || s.st.eniUsing(id) != nil || (first && s.faults.DependencyViolationOnFirstDelete) {
		return dependency
	}
	return nil
}

func (s *Server) deleteVpc(p params) (any, error) {
	v, err := s.vpc(p.get("VpcId"))
	if err != nil {
		return nil, err
	}
	dependency := errorf(400, "DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", v.ID)
	for _, sub := range s.st.subnets {
		if sub.VPCID == v.ID {
			return nil, dependency
		}
	}
	for _, g := range s.st.groups {
		if g.VPCID == v.ID && g.Name != "default" {
			return nil, dependency
		}
	}
	if err := s.blockDelete(&v.meta, v.ID, dependency); err != nil {
		return nil, err
	}
	if g := s.st.defaultGroup(v.ID); g != nil {
		s.st.removeGroup(g.ID)
	}
	delete(s.st.vpcs, v.ID)
	return xReturn{true}, nil
}

func (s *Server) modifyVpcAttribute(p params) (any, error) {
	v, err := s.vpc(p.get("VpcId"))
	if err != nil {
		return nil, err
	}
	var set []string
	for _, attr := range []string{"EnableDnsSupport", "EnableDnsHostnames", "EnableNetworkAddressUsageMetrics"} {
		if p.has(attr + ".Value") {
			set = append(set, attr)
		}
	}
	if len(set) != 1 {
		return nil, errorf(400, "InvalidParameterCombination", "Exactly one attribute must be modified per request, got %d", len(set))
	}
	value, _, err := p.boolean(set[0] + ".Value")
	if err != nil {
		return nil, err
	}
	switch set[0] {
	case "EnableDnsSupport":
		v.EnableDNSSupport = value
	case "EnableDnsHostnames":
		v.EnableDNSHostnames = value
	default:
		return nil, errorf(400, "InvalidParameterValue", "The fake does not model %s", set[0])
	}
	return xReturn{true}, nil
}

func (s *Server) describeVpcAttribute(p params) (any, error) {
	v, err := s.vpc(p.get("VpcId"))
	if err != nil {
		return nil, err
	}
	out := struct {
		VpcID              string      `xml:"vpcId"`
		EnableDNSSupport   *xBoolValue `xml:"enableDnsSupport,omitempty"`
		EnableDNSHostnames *xBoolValue `xml:"enableDnsHostnames,omitempty"`
		EnableNAUMetrics   *xBoolValue `xml:"enableNetworkAddressUsageMetrics,omitempty"`
	}{VpcID: v.ID}
	switch attr := p.get("Attribute"); attr {
	case "enableDnsSupport":
		out.EnableDNSSupport = &xBoolValue{v.EnableDNSSupport}
	case "enableDnsHostnames":
		out.EnableDNSHostnames = &xBoolValue{v.EnableDNSHostnames}
	case "enableNetworkAddressUsageMetrics":
		out.EnableNAUMetrics = &xBoolValue{false}
	case "":
		return nil, missingParameter("attribute")
	default:
		return nil, errorf(400, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}

// --- Subnets -----------------------------------------------------------------------------------------

func (s *Server) xSubnet(sub *subnetRec) xSubnet {
	prefix, _ := parseCIDR(sub.CIDR)
	return xSubnet{
		SubnetID: sub.ID, SubnetArn: s.arn("subnet/" + sub.ID), State: sub.State, VpcID: sub.VPCID,
		OwnerID: s.accountID, CidrBlock: sub.CIDR, AvailableIPs: 1<<(32-prefix.Bits()) - 5,
		AvailabilityZone: sub.AvailabilityZone, AvailabilityZone2: sub.AvailabilityZoneID,
		DefaultForAz: sub.DefaultForAZ, MapPublicIP: sub.MapPublicIPOnLaunch,
		PrivateDNS: xPrivateDNS{HostnameType: "ip-name"}, Tags: xTags(sub.Tags),
	}
}

func (s *Server) createSubnet(p params) (any, error) {
	v, err := s.vpc(p.get("VpcId"))
	if err != nil {
		return nil, err
	}
	cidr := p.get("CidrBlock")
	if cidr == "" {
		return nil, missingParameter("cidrBlock")
	}
	prefix, ok := parseCIDR(cidr)
	if !ok || !prefix.Addr().Is4() {
		return nil, errorf(400, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	vpcPrefix, _ := parseCIDR(v.CIDR)
	if prefix.Bits() < 16 || prefix.Bits() > 28 || !prefixContains(vpcPrefix, prefix) {
		return nil, errorf(400, "InvalidSubnet.Range", "The CIDR '%s' is invalid.", cidr)
	}
	for _, other := range s.st.subnets {
		if op, _ := parseCIDR(other.CIDR); other.VPCID == v.ID && op.Overlaps(prefix) {
			return nil, errorf(400, "InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", cidr)
		}
	}
	zones := zoneNames(s.region)
	zone := zones[0]
	if az := p.get("AvailabilityZone"); az != "" {
		zone = az
	} else if id := p.get("AvailabilityZoneId"); id != "" {
		zone = ""
		for _, z := range zones {
			if zoneID(z) == id {
				zone = z
			}
		}
		if zone == "" {
			return nil, errorf(400, "InvalidParameterValue", "Value (%s) for parameter availabilityZoneId is invalid.", id)
		}
	}
	if !slices.Contains(zones, zone) {
		return nil, errorf(400, "InvalidParameterValue", "Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", zone, strings.Join(zones, ", "))
	}
	tags, err := tagSpecs(p, "subnet")
	if err != nil {
		return nil, err
	}
	sub := &subnetRec{Subnet: Subnet{
		ID: randomID("subnet-", 17), VPCID: v.ID, CIDR: cidr, AvailabilityZone: zone, AvailabilityZoneID: zoneID(zone),
		State: "available", Tags: tags,
	}, meta: s.st.nextMeta(false)}
	sub.hiddenReads = s.faults.NotFoundReads
	if n := s.faults.SubnetPendingReads; n > 0 {
		sub.State, sub.pendingReads = "pending", n
	}
	s.st.subnets[sub.ID] = sub
	return struct {
		Subnet xSubnet `xml:"subnet"`
	}{s.xSubnet(sub)}, nil
}

func (s *Server) subnetAttrs(sub *subnetRec) map[string][]string {
	return map[string][]string{
		"subnet-id": {sub.ID}, "vpc-id": {sub.VPCID}, "cidr-block": {sub.CIDR}, "cidr": {sub.CIDR}, "cidrBlock": {sub.CIDR},
		"availability-zone": {sub.AvailabilityZone}, "availabilityZone": {sub.AvailabilityZone},
		"availability-zone-id": {sub.AvailabilityZoneID}, "default-for-az": {boolString(sub.DefaultForAZ)},
		"defaultForAz": {boolString(sub.DefaultForAZ)}, "state": {sub.State}, "owner-id": {s.accountID},
		"map-public-ip-on-launch": {boolString(sub.MapPublicIPOnLaunch)}, "subnet-arn": {s.arn("subnet/" + sub.ID)},
	}
}

func (s *Server) describeSubnets(p params) (any, error) {
	filters := parseFilters(p)
	recs, err := selectRecs(subnetKind, s.st.subnets, p.list("SubnetId"), func(v *subnetRec) *meta { return &v.meta },
		func(v *subnetRec) (bool, error) { return matchFilters(filters, s.subnetAttrs(v), v.Tags) })
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, p)
	if err != nil {
		return nil, err
	}
	out := struct {
		Subnets   []xSubnet `xml:"subnetSet>item"`
		NextToken string    `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, sub := range page {
		out.Subnets = append(out.Subnets, s.xSubnet(sub))
		if sub.pendingReads > 0 {
			if sub.pendingReads--; sub.pendingReads == 0 {
				sub.State = "available"
			}
		}
	}
	return out, nil
}

func (s *Server) subnet(id string) (*subnetRec, error) {
	if id == "" {
		return nil, missingParameter("subnetId")
	}
	if err := subnetKind.checkIDs([]string{id}); err != nil {
		return nil, err
	}
	sub, ok := s.st.subnets[id]
	if !ok {
		return nil, subnetKind.notFound([]string{id})
	}
	return sub, nil
}

func (s *Server) modifySubnetAttribute(p params) (any, error) {
	sub, err := s.subnet(p.get("SubnetId"))
	if err != nil {
		return nil, err
	}
	var set []string
	for k := range p.v {
		if name, ok := strings.CutSuffix(k, ".Value"); ok {
			set = append(set, name)
		} else if k == "PrivateDnsHostnameTypeOnLaunch" || strings.HasSuffix(k, "AtDeviceIndex") {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		return nil, errorf(400, "InvalidParameterCombination", "Only one attribute can be modified at a time, got %d", len(set))
	}
	if set[0] != "MapPublicIpOnLaunch" {
		return nil, errorf(400, "InvalidParameterValue", "The fake models only MapPublicIpOnLaunch, not %s", set[0])
	}
	value, _, err := p.boolean("MapPublicIpOnLaunch.Value")
	if err != nil {
		return nil, err
	}
	sub.MapPublicIPOnLaunch = value
	return xReturn{true}, nil
}

func (s *Server) deleteSubnet(p params) (any, error) {
	sub, err := s.subnet(p.get("SubnetId"))
	if err != nil {
		return nil, err
	}
	dependency := errorf(400, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", sub.ID)
	if err := s.blockDelete(&sub.meta, sub.ID, dependency); err != nil {
		return nil, err
	}
	delete(s.st.subnets, sub.ID)
	return xReturn{true}, nil
}

// --- Tags --------------------------------------------------------------------------------------------

// taggable finds the tag map of any resource the fake holds.
func (s *Server) taggable(id string) (map[string]string, string, error) {
	for _, k := range []kind{vpcKind, subnetKind, groupKind, ruleKind, imageKind, eniKind} {
		if !strings.HasPrefix(id, k.prefix) {
			continue
		}
		var tags map[string]string
		switch k {
		case vpcKind:
			if r, ok := s.st.vpcs[id]; ok {
				tags = r.Tags
			}
		case subnetKind:
			if r, ok := s.st.subnets[id]; ok {
				tags = r.Tags
			}
		case groupKind:
			if r, ok := s.st.groups[id]; ok {
				tags = r.Tags
			}
		case ruleKind:
			if r, ok := s.st.rules[id]; ok {
				tags = r.Tags
			}
		case imageKind:
			if r, ok := s.st.images[id]; ok {
				tags = r.Tags
			}
		case eniKind:
			if r, ok := s.st.enis[id]; ok {
				tags = r.Tags
			}
		}
		if tags == nil {
			return nil, "", k.notFound([]string{id})
		}
		return tags, k.tagType, nil
	}
	return nil, "", errorf(400, "InvalidID", "The ID '%s' is not valid", id)
}

func (s *Server) createTags(p params) (any, error) {
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParameter("resourceIdSet")
	}
	tags, err := readTags(p)
	if err != nil {
		return nil, err
	}
	var maps []map[string]string
	for _, id := range ids {
		m, _, err := s.taggable(id)
		if err != nil {
			return nil, err
		}
		maps = append(maps, m)
	}
	for _, m := range maps {
		for k, v := range tags {
			m[k] = v
		}
		if len(m) > 50 {
			return nil, errorf(400, "TagLimitExceeded", "The maximum number of tags per resource (50) has been exceeded.")
		}
	}
	return xReturn{true}, nil
}

func (s *Server) deleteTags(p params) (any, error) {
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParameter("resourceIdSet")
	}
	for _, id := range ids {
		m, _, err := s.taggable(id)
		if err != nil {
			return nil, err
		}
		specs := p.structs("Tag")
		if len(specs) == 0 {
			clear(m)
		}
		for _, t := range specs {
			key := t.get("Key")
			if have, ok := m[key]; ok && (!t.has("Value") || t.get("Value") == have) {
				delete(m, key)
			}
		}
	}
	return xReturn{true}, nil
}

func (s *Server) describeTags(p params) (any, error) {
	filters := parseFilters(p)
	var all []xTagDescription
	add := func(id, typ string, tags map[string]string) {
		for _, t := range xTags(tags) {
			all = append(all, xTagDescription{ResourceID: id, ResourceType: typ, Key: t.Key, Value: t.Value})
		}
	}
	for _, v := range sortedValues(s.st.vpcs, func(v *vpcRec) int { return v.seq }) {
		add(v.ID, vpcKind.tagType, v.Tags)
	}
	for _, v := range sortedValues(s.st.subnets, func(v *subnetRec) int { return v.seq }) {
		add(v.ID, subnetKind.tagType, v.Tags)
	}
	for _, v := range sortedValues(s.st.groups, func(v *sgRec) int { return v.seq }) {
		add(v.ID, groupKind.tagType, v.Tags)
	}
	for _, v := range sortedValues(s.st.rules, func(v *ruleRec) int { return v.seq }) {
		add(v.ID, ruleKind.tagType, v.Tags)
	}
	for _, v := range sortedValues(s.st.enis, func(v *eniRec) int { return v.seq }) {
		add(v.ID, eniKind.tagType, v.Tags)
	}
	var matched []xTagDescription
	for _, t := range all {
		ok, err := matchFilters(filters, map[string][]string{
			"resource-id": {t.ResourceID}, "resource-type": {t.ResourceType}, "key": {t.Key}, "value": {t.Value},
		}, map[string]string{t.Key: t.Value})
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, t)
		}
	}
	page, next, err := paginate(matched, p)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags      []xTagDescription `xml:"tagSet>item"`
		NextToken string            `xml:"nextToken,omitempty"`
	}{page, next}, nil
}

// --- Availability zones, account attributes ----------------------------------------------------------

func (s *Server) describeAvailabilityZones(p params) (any, error) {
	filters := parseFilters(p)
	names, ids := p.list("ZoneName"), p.list("ZoneId")
	var out []xAZ
	for _, z := range zoneNames(s.region) {
		if (len(names) > 0 || len(ids) > 0) && !slices.Contains(names, z) && !slices.Contains(ids, zoneID(z)) {
			continue
		}
		az := xAZ{ZoneName: z, ZoneID: zoneID(z), State: "available", OptInStatus: "opt-in-not-required",
			RegionName: s.region, GroupName: s.region, NetworkBorderGroup: s.region, ZoneType: "availability-zone"}
		ok, err := matchFilters(filters, map[string][]string{
			"zone-name": {az.ZoneName}, "zone-id": {az.ZoneID}, "state": {az.State}, "region-name": {s.region},
			"zone-type": {az.ZoneType}, "opt-in-status": {az.OptInStatus}, "group-name": {az.GroupName},
		}, nil)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, az)
		}
	}
	for _, n := range names {
		if !slices.Contains(zoneNames(s.region), n) {
			return nil, errorf(400, "InvalidParameterValue", "The zone '%s' does not exist.", n)
		}
	}
	return struct {
		Zones []xAZ `xml:"availabilityZoneInfo>item"`
	}{out}, nil
}

func (s *Server) describeAccountAttributes(p params) (any, error) {
	defaultVPC := "none"
	if v := s.st.defaultVPC(); v != nil {
		defaultVPC = v.ID
	}
	all := []xAccountAttribute{
		{"supported-platforms", []string{"VPC"}},
		{"default-vpc", []string{defaultVPC}},
		{"max-instances", []string{"20"}},
		{"vpc-max-security-groups-per-interface", []string{"5"}},
		{"max-elastic-ips", []string{"5"}},
		{"vpc-max-elastic-ips", []string{"5"}},
	}
	want := p.list("AttributeName")
	var out []xAccountAttribute
	for _, a := range all {
		if len(want) == 0 || slices.Contains(want, a.Name) {
			out = append(out, a)
		}
	}
	return struct {
		Attributes []xAccountAttribute `xml:"accountAttributeSet>item"`
	}{out}, nil
}
