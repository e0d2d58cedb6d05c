package alifake

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type securityGroup struct {
	meta
	id, vpcID, name, description, sgType, resourceGroupID string
	tags                                                  tagSet
	rules                                                 []*sgRule
}

// sgRule is one security group permission. Its identity (key) leaves out Priority and Description,
// as ECS's does: authorizing an existing rule again succeeds without creating another.
type sgRule struct {
	id, direction, protocol, portRange, sourcePortRange, nicType, policy, priority, description                  string
	sourceCidr, destCidr, ipv6SourceCidr, ipv6DestCidr, sourceGroup, destGroup, sourcePrefixList, destPrefixList string
	created                                                                                                      time.Time
}

func (r *sgRule) key() string {
	return strings.Join([]string{r.direction, r.protocol, r.portRange, r.sourcePortRange, r.nicType, r.policy,
		r.sourceCidr, r.destCidr, r.ipv6SourceCidr, r.ipv6DestCidr, r.sourceGroup, r.destGroup, r.sourcePrefixList, r.destPrefixList}, "|")
}

const maxRulesPerGroup = 200

var ecsActions = map[string]rpcAction{
	"CreateSecurityGroup":            createSecurityGroup,
	"DescribeSecurityGroups":         describeSecurityGroups,
	"DescribeSecurityGroupAttribute": describeSecurityGroupAttribute,
	"ModifySecurityGroupAttribute":   modifySecurityGroupAttribute,
	"DeleteSecurityGroup":            deleteSecurityGroup,
	"AuthorizeSecurityGroup":         authorize("ingress"),
	"AuthorizeSecurityGroupEgress":   authorize("egress"),
	"RevokeSecurityGroup":            revoke("ingress"),
	"RevokeSecurityGroupEgress":      revoke("egress"),
	"DescribeZones":                  describeZones,
	"TagResources":                   tagECSResources,
	"UntagResources":                 untagECSResources,
}

func sgNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, "InvalidSecurityGroupId.NotFound", "The specified SecurityGroupId %s does not exist.", id)
}

func createSecurityGroup(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	if id := c.p["VpcId"]; id != "" {
		if _, ok := s.vpcs[id]; !ok {
			return nil, vpcNotFound(id)
		}
	}
	sgType := c.p["SecurityGroupType"]
	switch sgType {
	case "":
		sgType = "normal"
	case "normal", "enterprise":
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidSecurityGroupType.Malformed", "Specified security group type %q is not valid.", sgType)
	}
	if name := c.p["SecurityGroupName"]; !validName(name) || len(name) == 1 {
		return nil, errorf(http.StatusBadRequest, "InvalidSecurityGroupName.Malformed", "Specified security group name %q is not valid.", name)
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	sg := &securityGroup{meta: s.newMeta(), id: alibabaID("sg-"), vpcID: c.p["VpcId"], name: c.p["SecurityGroupName"],
		description: c.p["Description"], sgType: sgType, resourceGroupID: c.p["ResourceGroupId"], tags: tagSet{}}
	sg.tags.set(tags)
	s.sgs[sg.id] = sg
	return map[string]any{"SecurityGroupId": sg.id}, nil
}

func (s *state) lookupSG(id string, read bool) (*securityGroup, *apiError) {
	if id == "" {
		return nil, missingParam("SecurityGroupId")
	}
	sg, ok := s.sgs[id]
	if !ok || read && !sg.visible() {
		return nil, sgNotFound(id)
	}
	return sg, nil
}

func describeSecurityGroups(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	var ids map[string]bool
	if c.p["SecurityGroupId"] != "" {
		ids = splitIDs(c.p["SecurityGroupId"])
	}
	if raw := c.p["SecurityGroupIds"]; raw != "" {
		var list []string
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, invalidParam("SecurityGroupIds", raw)
		}
		ids = map[string]bool{}
		for _, id := range list {
			ids[id] = true
		}
	}
	tags, e := c.p.tags()
	if e != nil {
		return nil, e
	}
	var match []*securityGroup
	for _, sg := range sortedBySeq(s.sgs, func(x *securityGroup) int64 { return x.seq }) {
		if ids != nil && !ids[sg.id] || c.p["VpcId"] != "" && c.p["VpcId"] != sg.vpcID ||
			c.p["SecurityGroupName"] != "" && c.p["SecurityGroupName"] != sg.name ||
			c.p["SecurityGroupType"] != "" && c.p["SecurityGroupType"] != sg.sgType ||
			c.p["ResourceGroupId"] != "" && c.p["ResourceGroupId"] != sg.resourceGroupID || !sg.tags.matches(tags) {
			continue
		}
		if sg.visible() {
			match = append(match, sg)
		}
	}
	page, size, lo, hi, e := paging(c.p, "PageNumber", "PageSize", 10, 50, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, sg := range match[lo:hi] {
		list = append(list, map[string]any{
			"SecurityGroupId": sg.id, "SecurityGroupName": sg.name, "Description": sg.description,
			"SecurityGroupType": sg.sgType, "VpcId": sg.vpcID, "CreationTime": timeRPC(sg.created),
			"ResourceGroupId": sg.resourceGroupID, "RuleCount": len(sg.rules), "ServiceManaged": false,
			"EcsCount": 0, "Tags": sg.tags.rpcTags(),
		})
	}
	return map[string]any{"RegionId": f.opts.Region, "PageNumber": page, "PageSize": size, "TotalCount": len(match),
		"SecurityGroups": map[string]any{"SecurityGroup": list}}, nil
}

func describeSecurityGroupAttribute(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	sg, e := f.st.lookupSG(c.p["SecurityGroupId"], true)
	if e != nil {
		return nil, e
	}
	dir := c.p["Direction"]
	switch dir {
	case "", "all", "ingress", "egress":
	default:
		return nil, invalidParam("Direction", dir)
	}
	perms := []map[string]any{}
	for _, r := range sg.rules {
		if dir != "" && dir != "all" && dir != r.direction || c.p["NicType"] != "" && c.p["NicType"] != r.nicType {
			continue
		}
		perms = append(perms, map[string]any{
			"SecurityGroupRuleId": r.id, "Direction": r.direction, "IpProtocol": strings.ToUpper(r.protocol),
			"PortRange": r.portRange, "SourcePortRange": r.sourcePortRange, "NicType": r.nicType,
			"Policy": strings.ToUpper(r.policy[:1]) + r.policy[1:], "Priority": r.priority, "Description": r.description,
			"SourceCidrIp": r.sourceCidr, "DestCidrIp": r.destCidr, "Ipv6SourceCidrIp": r.ipv6SourceCidr,
			"Ipv6DestCidrIp": r.ipv6DestCidr, "SourceGroupId": r.sourceGroup, "DestGroupId": r.destGroup,
			"SourcePrefixListId": r.sourcePrefixList, "DestPrefixListId": r.destPrefixList,
			"CreateTime": timeRPC(r.created),
		})
	}
	policy := "Accept"
	if sg.sgType == "enterprise" {
		policy = "Drop"
	}
	return map[string]any{
		"RegionId": f.opts.Region, "SecurityGroupId": sg.id, "SecurityGroupName": sg.name, "Description": sg.description,
		"VpcId": sg.vpcID, "InnerAccessPolicy": policy, "Permissions": map[string]any{"Permission": perms},
	}, nil
}

func modifySecurityGroupAttribute(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	sg, e := f.st.lookupSG(c.p["SecurityGroupId"], false)
	if e != nil {
		return nil, e
	}
	if name, ok := c.p["SecurityGroupName"]; ok {
		if !validName(name) || len(name) == 1 {
			return nil, errorf(http.StatusBadRequest, "InvalidSecurityGroupName.Malformed", "Specified security group name %q is not valid.", name)
		}
		sg.name = name
	}
	if d, ok := c.p["Description"]; ok {
		sg.description = d
	}
	return nil, nil
}

func deleteSecurityGroup(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	sg, e := s.lookupSG(c.p["SecurityGroupId"], false)
	if e != nil {
		return nil, e
	}
	inUse := errorf(http.StatusForbidden, "DependencyViolation", "There is still instance(s) in the specified security group.")
	if f.injectedDependency("DeleteSecurityGroup") || s.inUse[sg.id] {
		return nil, inUse
	}
	for _, cl := range s.clusters {
		if cl.securityGroupID == sg.id {
			return nil, inUse
		}
	}
	for _, other := range s.sgs {
		for _, r := range other.rules {
			if other.id != sg.id && (r.sourceGroup == sg.id || r.destGroup == sg.id) {
				return nil, errorf(http.StatusForbidden, "DependencyViolation",
					"The specified security group is referenced by a rule of security group %s.", other.id)
			}
		}
	}
	delete(s.sgs, sg.id)
	return nil, nil
}

// ruleFields are the rule parameters accepted both at the top level and as Permissions.N.*.
var ruleFields = []string{"IpProtocol", "PortRange", "SourcePortRange", "NicType", "Policy", "Priority", "Description",
	"SourceCidrIp", "DestCidrIp", "Ipv6SourceCidrIp", "Ipv6DestCidrIp", "SourceGroupId", "DestGroupId",
	"SourcePrefixListId", "DestPrefixListId"}

// requestedRules reads the rules of an Authorize/Revoke call: the top-level fields or Permissions.N.*,
// never both.
func requestedRules(p params) ([]map[string]string, *apiError) {
	perms := p.objects("Permissions")
	top := map[string]string{}
	for _, k := range ruleFields {
		if v, ok := p[k]; ok && v != "" {
			top[k] = v
		}
	}
	hasTop := top["IpProtocol"] != "" || top["PortRange"] != ""
	switch {
	case len(perms) > 0 && hasTop:
		return nil, errorf(http.StatusBadRequest, "InvalidParam.Conflict",
			"The rule parameters and their Permissions.N-prefixed counterparts cannot be specified at the same time.")
	case len(perms) > 0:
		return perms, nil
	case len(top) > 0:
		return []map[string]string{top}, nil
	}
	return nil, nil
}

// parseRule validates one requested rule and normalises it as ECS stores it.
func (s *state) parseRule(sg *securityGroup, direction string, in map[string]string) (*sgRule, *apiError) {
	r := &sgRule{direction: direction, description: in["Description"], sourcePortRange: in["SourcePortRange"],
		sourceCidr: in["SourceCidrIp"], destCidr: in["DestCidrIp"], ipv6SourceCidr: in["Ipv6SourceCidrIp"],
		ipv6DestCidr: in["Ipv6DestCidrIp"], sourceGroup: in["SourceGroupId"], destGroup: in["DestGroupId"],
		sourcePrefixList: in["SourcePrefixListId"], destPrefixList: in["DestPrefixListId"]}
	r.protocol = strings.ToLower(in["IpProtocol"])
	switch r.protocol {
	case "":
		return nil, missingParam("IpProtocol")
	case "tcp", "udp", "icmp", "icmpv6", "gre", "all":
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidIpProtocol.Malformed", "Specified IP protocol %q is not valid.", in["IpProtocol"])
	}
	r.portRange = in["PortRange"]
	if r.portRange == "" {
		return nil, missingParam("PortRange")
	}
	if !validPortRange(r.protocol, r.portRange) {
		return nil, errorf(http.StatusBadRequest, "InvalidIpPortRange.Malformed", "Specified port range %q is not valid for protocol %s.", r.portRange, r.protocol)
	}
	r.policy = strings.ToLower(in["Policy"])
	switch r.policy {
	case "":
		r.policy = "accept"
	case "accept", "drop":
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidPolicy.Malformed", "Specified policy %q is not valid.", in["Policy"])
	}
	r.priority = in["Priority"]
	if r.priority == "" {
		r.priority = "1"
	}
	if n, err := strconv.Atoi(r.priority); err != nil || n < 1 || n > 100 {
		return nil, errorf(http.StatusBadRequest, "InvalidPriority.Malformed", "Specified priority %q is not valid (1-100).", r.priority)
	}
	r.nicType = in["NicType"]
	switch {
	case r.nicType == "":
		r.nicType = "intranet"
	case r.nicType == "internet" && sg.vpcID != "":
		return nil, errorf(http.StatusBadRequest, "InvalidNicType.ValueNotSupported", "A security group of a VPC only supports NicType intranet.")
	case r.nicType != "intranet" && r.nicType != "internet":
		return nil, errorf(http.StatusBadRequest, "InvalidNicType.Malformed", "Specified NicType %q is not valid.", r.nicType)
	}
	var peerCidr, peerGroup, peer6, peerList string
	if direction == "ingress" {
		peerCidr, peerGroup, peer6, peerList = r.sourceCidr, r.sourceGroup, r.ipv6SourceCidr, r.sourcePrefixList
	} else {
		peerCidr, peerGroup, peer6, peerList = r.destCidr, r.destGroup, r.ipv6DestCidr, r.destPrefixList
	}
	if peerCidr == "" && peerGroup == "" && peer6 == "" && peerList == "" {
		if direction == "ingress" {
			return nil, missingParam("SourceCidrIp")
		}
		return nil, missingParam("DestCidrIp")
	}
	for name, v := range map[string]string{"SourceCidrIp": r.sourceCidr, "DestCidrIp": r.destCidr,
		"Ipv6SourceCidrIp": r.ipv6SourceCidr, "Ipv6DestCidrIp": r.ipv6DestCidr} {
		if v != "" && !validCidrOrIP(v, strings.HasPrefix(name, "Ipv6")) {
			return nil, errorf(http.StatusBadRequest, "InvalidParam."+name, "Specified %s %q is not valid.", name, v)
		}
	}
	if peerGroup != "" {
		if sg.sgType == "enterprise" {
			return nil, errorf(http.StatusBadRequest, "InvalidSecurityGroup.IsEnterprise", "An enterprise security group cannot reference security groups.")
		}
		if _, ok := s.sgs[peerGroup]; !ok {
			return nil, errorf(http.StatusNotFound, "InvalidSecurityGroupId.NotFound", "The specified security group %s does not exist.", peerGroup)
		}
	}
	return r, nil
}

func validPortRange(protocol, pr string) bool {
	from, to, ok := strings.Cut(pr, "/")
	if !ok {
		return false
	}
	a, err1 := strconv.Atoi(from)
	b, err2 := strconv.Atoi(to)
	if err1 != nil || err2 != nil {
		return false
	}
	switch protocol {
	case "tcp", "udp":
		return a >= 1 && a <= b && b <= 65535
	default:
		return a == -1 && b == -1
	}
}

func validCidrOrIP(v string, ipv6 bool) bool {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Addr().Is6() == ipv6
	}
	a, err := netip.ParseAddr(v)
	return err == nil && a.Is6() == ipv6
}

func authorize(direction string) rpcAction {
	return func(f *Fake, c *rpcCall) (map[string]any, *apiError) {
		s := f.st
		sg, e := s.lookupSG(c.p["SecurityGroupId"], false)
		if e != nil {
			return nil, e
		}
		reqs, e := requestedRules(c.p)
		if e != nil {
			return nil, e
		}
		if len(reqs) == 0 {
			return nil, missingParam("Permissions.N.IpProtocol")
		}
		var add []*sgRule
		seen := map[string]bool{}
		for _, r := range sg.rules {
			seen[r.key()] = true
		}
		for _, in := range reqs {
			r, e := s.parseRule(sg, direction, in)
			if e != nil {
				return nil, e
			}
			if seen[r.key()] { // ECS: an existing rule is not created again, and that is not an error
				continue
			}
			seen[r.key()] = true
			add = append(add, r)
		}
		if len(sg.rules)+len(add) > maxRulesPerGroup {
			return nil, errorf(http.StatusBadRequest, "AuthorizationLimitExceed", "The limit of authorization records in the security group reaches the maximum.")
		}
		now := f.clock.Now().UTC()
		for _, r := range add {
			r.id = alibabaID("sgr-")
			r.created = now
			sg.rules = append(sg.rules, r)
		}
		return nil, nil
	}
}

func revoke(direction string) rpcAction {
	return func(f *Fake, c *rpcCall) (map[string]any, *apiError) {
		s := f.st
		sg, e := s.lookupSG(c.p["SecurityGroupId"], false)
		if e != nil {
			return nil, e
		}
		ruleIDs := c.p.list("SecurityGroupRuleId")
		reqs, e := requestedRules(c.p)
		if e != nil {
			return nil, e
		}
		if len(ruleIDs) > 0 && len(reqs) > 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidParam.Conflict",
				"SecurityGroupRuleId.N and rule parameters cannot be specified at the same time.")
		}
		drop := map[*sgRule]bool{}
		switch {
		case len(ruleIDs) > 0:
			for _, id := range ruleIDs {
				var found *sgRule
				for _, r := range sg.rules {
					if r.id == id && r.direction == direction {
						found = r
					}
				}
				if found == nil {
					return nil, errorf(http.StatusNotFound, "InvalidSecurityGroupRuleId.NotFound",
						"The specified %s rule %s does not exist in security group %s.", direction, id, sg.id)
				}
				drop[found] = true
			}
		case len(reqs) > 0:
			for _, in := range reqs {
				want, e := s.parseRule(sg, direction, in)
				if e != nil {
					return nil, e
				}
				// ECS: revoking a rule that does not exist succeeds.
				for _, r := range sg.rules {
					if r.key() == want.key() {
						drop[r] = true
					}
				}
			}
		default:
			return nil, missingParam("SecurityGroupRuleId.N")
		}
		kept := sg.rules[:0]
		for _, r := range sg.rules {
			if !drop[r] {
				kept = append(kept, r)
			}
		}
		sg.rules = kept
		return nil, nil
	}
}

func describeZones(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	zones := []map[string]any{}
	for _, z := range f.opts.Zones {
		zones = append(zones, map[string]any{"ZoneId": z, "LocalName": z, "ZoneType": "AvailabilityZone"})
	}
	return map[string]any{"Zones": map[string]any{"Zone": zones}}, nil
}

// ecsTaggable finds a security group's tags by ECS's TagResources resource type.
func (s *state) ecsTaggable(resourceType, id string) (tagSet, *apiError) {
	switch strings.ToLower(resourceType) {
	case "securitygroup":
		if sg, ok := s.sgs[id]; ok {
			return sg.tags, nil
		}
		return nil, sgNotFound(id)
	case "":
		return nil, missingParam("ResourceType")
	}
	return nil, invalidParam("ResourceType", resourceType)
}

func tagECSResources(f *Fake, c *rpcCall) (map[string]any, *apiError) {
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
		t, e := f.st.ecsTaggable(c.p["ResourceType"], id)
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

func untagECSResources(f *Fake, c *rpcCall) (map[string]any, *apiError) {
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
		t, e := f.st.ecsTaggable(c.p["ResourceType"], id)
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
