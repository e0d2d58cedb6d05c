package alifake

import (
	"net/http"
	"net/netip"
	"strings"
)

type vpc struct {
	meta
	id, name, description string
	cidr                  netip.Prefix
	isDefault             bool
	resourceGroupID       string
	vrouterID             string
	routeTableID          string
	pendingReads          int
	tags                  tagSet
}

type vswitch struct {
	meta
	id, vpcID, zone, name, description string
	cidr                               netip.Prefix
	isDefault                          bool
	pendingReads                       int
	tags                               tagSet
}

var vpcActions = map[string]rpcAction{
	"CreateVpc":                 createVpc,
	"DescribeVpcs":              describeVpcs,
	"DescribeVpcAttribute":      describeVpcAttribute,
	"ModifyVpcAttribute":        modifyVpcAttribute,
	"DeleteVpc":                 deleteVpc,
	"CreateVSwitch":             createVSwitch,
	"DescribeVSwitches":         describeVSwitches,
	"DescribeVSwitchAttributes": describeVSwitchAttributes,
	"ModifyVSwitchAttribute":    modifyVSwitchAttribute,
	"DeleteVSwitch":             deleteVSwitch,
	"TagResources":              tagResources,
	"UnTagResources":            untagResources,
	"ListTagResources":          listTagResources,
}

func vpcNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, "InvalidVpcId.NotFound", "Specified VPC (%s) does not exist.", id)
}

func vswitchNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, "InvalidVSwitchId.NotFound", "Specified virtual switch (%s) does not exist.", id)
}

// status reports a VPC's or vSwitch's Status, counting down its Pending reads.
func pendingStatus(pendingReads *int) string {
	if *pendingReads > 0 {
		*pendingReads--
		return "Pending"
	}
	return "Available"
}

func validName(name string) bool {
	if name == "" {
		return true
	}
	if len(name) > 128 || strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") {
		return false
	}
	c := name[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func createVpc(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	cidrText := c.p["CidrBlock"]
	if cidrText == "" {
		cidrText = "172.16.0.0/12"
	}
	cidr, ok := parseCIDR(cidrText, 8, 28)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "InvalidCidrBlock.Malformed", "Specified CIDR block %q is not valid.", cidrText)
	}
	if !validName(c.p["VpcName"]) {
		return nil, errorf(http.StatusBadRequest, "InvalidVpcName.Malformed", "Specified VPC name %q is not valid.", c.p["VpcName"])
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	s := f.st
	v := &vpc{meta: s.newMeta(), id: alibabaID("vpc-"), name: c.p["VpcName"], description: c.p["Description"], cidr: cidr,
		resourceGroupID: c.p["ResourceGroupId"], vrouterID: alibabaID("vrt-"), routeTableID: alibabaID("vtb-"),
		pendingReads: f.faults.PendingReads, tags: tagSet{}}
	v.tags.set(tags)
	s.vpcs[v.id] = v
	return map[string]any{"VpcId": v.id, "VRouterId": v.vrouterID, "RouteTableId": v.routeTableID, "ResourceGroupId": v.resourceGroupID}, nil
}

func (s *state) vpcView(v *vpc) map[string]any {
	ids := []string{}
	for _, vs := range sortedBySeq(s.vswitches, func(x *vswitch) int64 { return x.seq }) {
		if vs.vpcID == v.id {
			ids = append(ids, vs.id)
		}
	}
	return map[string]any{
		"VpcId": v.id, "VpcName": v.name, "Description": v.description, "CidrBlock": v.cidr.String(),
		"IsDefault": v.isDefault, "Status": pendingStatus(&v.pendingReads), "RegionId": s.f.opts.Region,
		"CreationTime": timeRPC(v.created), "VRouterId": v.vrouterID, "ResourceGroupId": v.resourceGroupID,
		"VSwitchIds": map[string]any{"VSwitchId": ids}, "RouterTableIds": map[string]any{"RouterTableIds": []string{v.routeTableID}},
		"Tags": v.tags.rpcTags(), "OwnerId": 1234567890123456,
	}
}

func describeVpcs(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	var ids map[string]bool
	if c.p["VpcId"] != "" {
		ids = splitIDs(c.p["VpcId"])
	}
	isDefault, e := c.p.boolParam("IsDefault")
	if e != nil {
		return nil, e
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	var match []*vpc
	for _, v := range sortedBySeq(s.vpcs, func(x *vpc) int64 { return x.seq }) {
		if ids != nil && !ids[v.id] || c.p["VpcName"] != "" && c.p["VpcName"] != v.name ||
			isDefault != nil && *isDefault != v.isDefault || !v.tags.matches(tags) ||
			c.p["ResourceGroupId"] != "" && c.p["ResourceGroupId"] != v.resourceGroupID {
			continue
		}
		if v.visible() {
			match = append(match, v)
		}
	}
	page, size, lo, hi, e := paging(c.p, "PageNumber", "PageSize", 10, 50, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, v := range match[lo:hi] {
		list = append(list, s.vpcView(v))
	}
	return map[string]any{"PageNumber": page, "PageSize": size, "TotalCount": len(match), "Vpcs": map[string]any{"Vpc": list}}, nil
}

// lookupVpc finds a VPC for a read (honouring NotFoundReads) or a write.
func (s *state) lookupVpc(id string, read bool) (*vpc, *apiError) {
	if id == "" {
		return nil, missingParam("VpcId")
	}
	v, ok := s.vpcs[id]
	if !ok || read && !v.visible() {
		return nil, vpcNotFound(id)
	}
	return v, nil
}

func describeVpcAttribute(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	v, e := f.st.lookupVpc(c.p["VpcId"], true)
	if e != nil {
		return nil, e
	}
	return f.st.vpcView(v), nil
}

func modifyVpcAttribute(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	v, e := f.st.lookupVpc(c.p["VpcId"], false)
	if e != nil {
		return nil, e
	}
	if name, ok := c.p["VpcName"]; ok {
		if !validName(name) {
			return nil, errorf(http.StatusBadRequest, "InvalidVpcName.Malformed", "Specified VPC name %q is not valid.", name)
		}
		v.name = name
	}
	if d, ok := c.p["Description"]; ok {
		v.description = d
	}
	if cidrText := c.p["CidrBlock"]; cidrText != "" {
		cidr, ok := parseCIDR(cidrText, 8, 28)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "InvalidCidrBlock.Malformed", "Specified CIDR block %q is not valid.", cidrText)
		}
		for _, vs := range f.st.vswitches {
			if vs.vpcID == v.id && !contains(cidr, vs.cidr) {
				return nil, errorf(http.StatusBadRequest, "InvalidCidrBlock.InUse", "The new CIDR block does not contain vSwitch %s.", vs.id)
			}
		}
		v.cidr = cidr
	}
	return nil, nil
}

func deleteVpc(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	v, e := s.lookupVpc(c.p["VpcId"], false)
	if e != nil {
		return nil, e
	}
	if f.injectedDependency("DeleteVpc") {
		return nil, errorf(http.StatusBadRequest, "DependencyViolation", "Specified object has dependent resources.")
	}
	for _, vs := range s.vswitches {
		if vs.vpcID == v.id {
			return nil, errorf(http.StatusBadRequest, "DependencyViolation.VSwitch", "Specified VPC has vSwitches (%s).", vs.id)
		}
	}
	for _, sg := range s.sgs {
		if sg.vpcID == v.id {
			return nil, errorf(http.StatusBadRequest, "DependencyViolation.SecurityGroup", "Specified VPC has security groups (%s).", sg.id)
		}
	}
	delete(s.vpcs, v.id)
	return nil, nil
}

func createVSwitch(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	v, e := s.lookupVpc(c.p["VpcId"], false)
	if e != nil {
		return nil, e
	}
	zone := c.p["ZoneId"]
	if zone == "" {
		return nil, missingParam("ZoneId")
	}
	if !s.validZone(zone) {
		return nil, errorf(http.StatusBadRequest, "InvalidZoneId.NotFound", "Specified zone %q does not exist in region %s.", zone, f.opts.Region)
	}
	if c.p["CidrBlock"] == "" {
		return nil, missingParam("CidrBlock")
	}
	cidr, ok := parseCIDR(c.p["CidrBlock"], 16, 29)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "InvalidCidrBlock.Malformed", "Specified CIDR block %q is not valid.", c.p["CidrBlock"])
	}
	if !contains(v.cidr, cidr) {
		return nil, errorf(http.StatusBadRequest, "InvalidCidrBlock.Mismatch",
			"Specified CIDR block %s is not within the VPC's CIDR block %s.", cidr, v.cidr)
	}
	for _, other := range s.vswitches {
		if other.vpcID == v.id && other.cidr.Overlaps(cidr) {
			return nil, errorf(http.StatusBadRequest, "InvalidCidrBlock.Overlapped",
				"Specified CIDR block %s overlaps with vSwitch %s (%s).", cidr, other.id, other.cidr)
		}
	}
	if !validName(c.p["VSwitchName"]) {
		return nil, errorf(http.StatusBadRequest, "InvalidVSwitchName.Malformed", "Specified vSwitch name %q is not valid.", c.p["VSwitchName"])
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	vs := &vswitch{meta: s.newMeta(), id: alibabaID("vsw-"), vpcID: v.id, zone: zone, name: c.p["VSwitchName"],
		description: c.p["Description"], cidr: cidr, pendingReads: f.faults.PendingReads, tags: tagSet{}}
	vs.tags.set(tags)
	s.vswitches[vs.id] = vs
	return map[string]any{"VSwitchId": vs.id}, nil
}

func (s *state) validZone(zone string) bool {
	for _, z := range s.f.opts.Zones {
		if z == zone {
			return true
		}
	}
	return false
}

func (s *state) vswitchView(vs *vswitch) map[string]any {
	free := int64(1)<<(32-vs.cidr.Bits()) - 4
	return map[string]any{
		"VSwitchId": vs.id, "VpcId": vs.vpcID, "ZoneId": vs.zone, "VSwitchName": vs.name, "Description": vs.description,
		"CidrBlock": vs.cidr.String(), "IsDefault": vs.isDefault, "Status": pendingStatus(&vs.pendingReads),
		"CreationTime": timeRPC(vs.created), "AvailableIpAddressCount": free, "ShareType": "Sharing",
		"RouteTable": map[string]any{"RouteTableId": s.vpcs[vs.vpcID].routeTableIDOrEmpty(), "RouteTableType": "System"},
		"Tags":       vs.tags.rpcTags(), "OwnerId": 1234567890123456,
	}
}

func (v *vpc) routeTableIDOrEmpty() string {
	if v == nil {
		return ""
	}
	return v.routeTableID
}

func describeVSwitches(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	isDefault, e := c.p.boolParam("IsDefault")
	if e != nil {
		return nil, e
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	var match []*vswitch
	for _, vs := range sortedBySeq(s.vswitches, func(x *vswitch) int64 { return x.seq }) {
		if c.p["VpcId"] != "" && c.p["VpcId"] != vs.vpcID || c.p["VSwitchId"] != "" && c.p["VSwitchId"] != vs.id ||
			c.p["ZoneId"] != "" && c.p["ZoneId"] != vs.zone || c.p["VSwitchName"] != "" && c.p["VSwitchName"] != vs.name ||
			isDefault != nil && *isDefault != vs.isDefault || !vs.tags.matches(tags) {
			continue
		}
		if vs.visible() {
			match = append(match, vs)
		}
	}
	page, size, lo, hi, e := paging(c.p, "PageNumber", "PageSize", 10, 50, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, vs := range match[lo:hi] {
		list = append(list, s.vswitchView(vs))
	}
	return map[string]any{"PageNumber": page, "PageSize": size, "TotalCount": len(match), "VSwitches": map[string]any{"VSwitch": list}}, nil
}

func (s *state) lookupVSwitch(id string, read bool) (*vswitch, *apiError) {
	if id == "" {
		return nil, missingParam("VSwitchId")
	}
	vs, ok := s.vswitches[id]
	if !ok || read && !vs.visible() {
		return nil, vswitchNotFound(id)
	}
	return vs, nil
}

func describeVSwitchAttributes(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	vs, e := f.st.lookupVSwitch(c.p["VSwitchId"], true)
	if e != nil {
		return nil, e
	}
	out := f.st.vswitchView(vs)
	out["CloudResources"] = map[string]any{"CloudResourceSetType": []any{}}
	return out, nil
}

func modifyVSwitchAttribute(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	vs, e := f.st.lookupVSwitch(c.p["VSwitchId"], false)
	if e != nil {
		return nil, e
	}
	if name, ok := c.p["VSwitchName"]; ok {
		if !validName(name) {
			return nil, errorf(http.StatusBadRequest, "InvalidVSwitchName.Malformed", "Specified vSwitch name %q is not valid.", name)
		}
		vs.name = name
	}
	if d, ok := c.p["Description"]; ok {
		vs.description = d
	}
	return nil, nil
}

func deleteVSwitch(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	vs, e := s.lookupVSwitch(c.p["VSwitchId"], false)
	if e != nil {
		return nil, e
	}
	if vs.pendingReads > 0 {
		return nil, errorf(http.StatusBadRequest, "IncorrectVSwitchStatus", "The current status of vSwitch %s does not support this operation.", vs.id)
	}
	if f.injectedDependency("DeleteVSwitch") {
		return nil, errorf(http.StatusBadRequest, "DependencyViolation", "Specified vSwitch has dependent resources.")
	}
	if s.inUse[vs.id] {
		return nil, errorf(http.StatusBadRequest, "DependencyViolation", "Specified vSwitch %s has dependent resources.", vs.id)
	}
	for _, cl := range s.clusters {
		for _, id := range cl.vswitchIDs {
			if id == vs.id {
				return nil, errorf(http.StatusBadRequest, "DependencyViolation", "Specified vSwitch %s is used by cluster %s.", vs.id, cl.id)
			}
		}
	}
	delete(s.vswitches, vs.id)
	return nil, nil
}

// taggable finds a VPC or vSwitch's tags by Alibaba's TagResources resource type.
func (s *state) taggable(resourceType, id string) (tagSet, *apiError) {
	switch strings.ToUpper(resourceType) {
	case "VPC":
		if v, ok := s.vpcs[id]; ok {
			return v.tags, nil
		}
		return nil, vpcNotFound(id)
	case "VSWITCH":
		if vs, ok := s.vswitches[id]; ok {
			return vs.tags, nil
		}
		return nil, vswitchNotFound(id)
	case "":
		return nil, missingParam("ResourceType")
	}
	return nil, invalidParam("ResourceType", resourceType)
}

func tagResources(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	ids := c.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParam("ResourceId.N")
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	if len(tags) == 0 {
		return nil, missingParam("Tag.N")
	}
	sets := make([]tagSet, 0, len(ids))
	for _, id := range ids {
		t, e := f.st.taggable(c.p["ResourceType"], id)
		if e != nil {
			return nil, e
		}
		sets = append(sets, t)
	}
	for _, t := range sets {
		t.set(tags)
	}
	return nil, nil
}

func untagResources(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	ids := c.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParam("ResourceId.N")
	}
	all, e := c.p.boolParam("All")
	if e != nil {
		return nil, e
	}
	keys := c.p.list("TagKey")
	for _, id := range ids {
		t, e := f.st.taggable(c.p["ResourceType"], id)
		if e != nil {
			return nil, e
		}
		if all != nil && *all {
			clear(t)
		}
		for _, k := range keys {
			delete(t, k)
		}
	}
	return nil, nil
}

func listTagResources(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	ids := c.p.list("ResourceId")
	filter, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	if len(ids) == 0 && len(filter) == 0 {
		return nil, missingParam("ResourceId.N")
	}
	rt := strings.ToUpper(c.p["ResourceType"])
	if len(ids) == 0 {
		switch rt {
		case "VPC":
			for _, v := range sortedBySeq(s.vpcs, func(x *vpc) int64 { return x.seq }) {
				ids = append(ids, v.id)
			}
		case "VSWITCH":
			for _, vs := range sortedBySeq(s.vswitches, func(x *vswitch) int64 { return x.seq }) {
				ids = append(ids, vs.id)
			}
		}
	}
	out := []map[string]any{}
	for _, id := range ids {
		t, e := s.taggable(rt, id)
		if e != nil {
			return nil, e
		}
		if !t.matches(filter) {
			continue
		}
		for _, k := range t.keys() {
			out = append(out, map[string]any{"ResourceId": id, "ResourceType": "ALIYUN::VPC::" + rt, "TagKey": k, "TagValue": t[k]})
		}
	}
	return map[string]any{"NextToken": "", "TagResources": map[string]any{"TagResource": out}}, nil
}
