package awsfake

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func (s *Server) xGroup(g *sgRec) xGroup {
	out := xGroup{
		OwnerID: s.accountID, GroupID: g.ID, GroupName: g.Name, Description: g.Description, VpcID: g.VPCID,
		Arn: s.arn("security-group/" + g.ID), Tags: xTags(g.Tags),
	}
	out.Ingress, out.Egress = s.permissions(s.st.groupRules(g.ID))
	return out
}

// permissions regroups one-source rules into IpPermissions the way DescribeSecurityGroups shows them: one
// permission per protocol and port range, listing every source.
func (s *Server) permissions(rules []*ruleRec) (ingress, egress []xPerm) {
	type key struct {
		egress   bool
		protocol string
		from, to int32
	}
	index := map[key]int{}
	for _, r := range rules {
		k := key{r.Egress, r.Protocol, r.FromPort, r.ToPort}
		list := &ingress
		if r.Egress {
			list = &egress
		}
		i, ok := index[k]
		if !ok {
			perm := xPerm{Protocol: r.Protocol}
			if r.Protocol != "-1" {
				from, to := r.FromPort, r.ToPort
				perm.FromPort, perm.ToPort = &from, &to
			}
			*list = append(*list, perm)
			i = len(*list) - 1
			index[k] = i
		}
		perm := &(*list)[i]
		switch {
		case r.CIDRIPv4 != "":
			perm.IPRanges = append(perm.IPRanges, xRange{r.CIDRIPv4, r.Description})
		case r.CIDRIPv6 != "":
			perm.IPv6Ranges = append(perm.IPv6Ranges, xRange6{r.CIDRIPv6, r.Description})
		case r.PrefixListID != "":
			perm.PrefixLists = append(perm.PrefixLists, xPrefixL{r.PrefixListID, r.Description})
		case r.ReferencedGroupID != "":
			perm.Groups = append(perm.Groups, xPair{r.ReferencedGroupID, s.accountID, r.Description})
		}
	}
	return ingress, egress
}

func (s *Server) xRule(r *ruleRec) xRule {
	out := xRule{
		ID: r.ID, GroupID: r.GroupID, GroupOwnerID: s.accountID, IsEgress: r.Egress, Protocol: r.Protocol,
		FromPort: r.FromPort, ToPort: r.ToPort, CidrIPv4: r.CIDRIPv4, CidrIPv6: r.CIDRIPv6, PrefixListID: r.PrefixListID,
		Description: r.Description, Arn: s.arn("security-group-rule/" + r.ID), Tags: xTags(r.Tags),
	}
	if r.ReferencedGroupID != "" {
		out.Referenced = &xRef{GroupID: r.ReferencedGroupID, UserID: s.accountID}
	}
	return out
}

func (s *Server) createSecurityGroup(p params) (any, error) {
	name, desc := p.get("GroupName"), p.get("GroupDescription")
	switch {
	case name == "":
		return nil, missingParameter("groupName")
	case desc == "":
		return nil, missingParameter("groupDescription")
	case strings.EqualFold(name, "default"):
		return nil, errorf(400, "InvalidGroup.Reserved", "The security group 'default' is reserved")
	case strings.HasPrefix(strings.ToLower(name), "sg-"):
		return nil, errorf(400, "InvalidParameterValue", "Group names may not be in the format sg-*")
	case len(name) > 255 || len(desc) > 255:
		return nil, errorf(400, "InvalidParameterValue", "Group name and description are limited to 255 characters")
	}
	vpcID := p.get("VpcId")
	if vpcID == "" {
		v := s.st.defaultVPC()
		if v == nil {
			return nil, errorf(400, "VPCIdNotSpecified", "No default VPC for this user")
		}
		vpcID = v.ID
	}
	if _, err := s.vpc(vpcID); err != nil {
		return nil, err
	}
	for _, g := range s.st.groups {
		if g.VPCID == vpcID && g.Name == name {
			return nil, errorf(400, "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
		}
	}
	tags, err := tagSpecs(p, "security-group")
	if err != nil {
		return nil, err
	}
	g := &sgRec{SecurityGroup: SecurityGroup{ID: randomID("sg-", 17), Name: name, Description: desc, VPCID: vpcID, Tags: tags},
		meta: s.st.nextMeta(false)}
	g.hiddenReads = s.faults.NotFoundReads
	s.st.groups[g.ID] = g
	egress := s.st.addRule(SecurityGroupRule{GroupID: g.ID, Egress: true, Protocol: "-1", FromPort: -1, ToPort: -1, CIDRIPv4: "0.0.0.0/0"}, false)
	egress.hiddenReads = s.faults.NotFoundReads
	return struct {
		GroupID string `xml:"groupId"`
		Arn     string `xml:"securityGroupArn"`
		Tags    []xTag `xml:"tagSet>item,omitempty"`
	}{g.ID, s.arn("security-group/" + g.ID), xTags(tags)}, nil
}

func (s *Server) groupAttrs(g *sgRec) map[string][]string {
	attrs := map[string][]string{
		"group-id": {g.ID}, "group-name": {g.Name}, "vpc-id": {g.VPCID}, "description": {g.Description},
		"owner-id": {s.accountID},
	}
	// ip-permission.* and egress.ip-permission.* match any of the group's rules in that direction.
	for _, prefix := range []string{"ip-permission.", "egress.ip-permission."} {
		for _, f := range []string{"cidr", "ipv6-cidr", "prefix-list-id", "group-id", "protocol", "from-port", "to-port", "user-id"} {
			attrs[prefix+f] = nil
		}
	}
	for _, r := range s.st.groupRules(g.ID) {
		prefix := "ip-permission."
		if r.Egress {
			prefix = "egress.ip-permission."
		}
		add := func(f, v string) {
			if v != "" {
				attrs[prefix+f] = append(attrs[prefix+f], v)
			}
		}
		add("cidr", r.CIDRIPv4)
		add("ipv6-cidr", r.CIDRIPv6)
		add("prefix-list-id", r.PrefixListID)
		add("group-id", r.ReferencedGroupID)
		if r.ReferencedGroupID != "" {
			add("user-id", s.accountID)
		}
		add("protocol", r.Protocol)
		add("from-port", strconv.Itoa(int(r.FromPort)))
		add("to-port", strconv.Itoa(int(r.ToPort)))
	}
	return attrs
}

func (s *Server) describeSecurityGroups(p params) (any, error) {
	filters := parseFilters(p)
	ids := p.list("GroupId")
	for _, name := range p.list("GroupName") {
		g := s.groupByName(name)
		if g == nil {
			return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", name)
		}
		ids = append(ids, g.ID)
	}
	recs, err := selectRecs(groupKind, s.st.groups, ids, func(v *sgRec) *meta { return &v.meta },
		func(v *sgRec) (bool, error) { return matchFilters(filters, s.groupAttrs(v), v.Tags) })
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, p)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups    []xGroup `xml:"securityGroupInfo>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, g := range page {
		out.Groups = append(out.Groups, s.xGroup(g))
	}
	return out, nil
}

// groupByName finds a group by name in the default VPC, as the GroupName parameters do.
func (s *Server) groupByName(name string) *sgRec {
	v := s.st.defaultVPC()
	if v == nil {
		return nil
	}
	for _, g := range s.st.groups {
		if g.VPCID == v.ID && g.Name == name {
			return g
		}
	}
	return nil
}

func (s *Server) describeSecurityGroupRules(p params) (any, error) {
	filters := parseFilters(p)
	recs, err := selectRecs(ruleKind, s.st.rules, p.list("SecurityGroupRuleId"), func(v *ruleRec) *meta { return &v.meta },
		func(r *ruleRec) (bool, error) {
			return matchFilters(filters, map[string][]string{"group-id": {r.GroupID}, "security-group-rule-id": {r.ID}}, r.Tags)
		})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, p)
	if err != nil {
		return nil, err
	}
	out := struct {
		Rules     []xRule `xml:"securityGroupRuleSet>item"`
		NextToken string  `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, r := range page {
		out.Rules = append(out.Rules, s.xRule(r))
	}
	return out, nil
}

// group resolves the GroupId (or, in the default VPC, GroupName) parameter of a rule action.
func (s *Server) group(p params) (*sgRec, error) {
	id, name := p.get("GroupId"), p.get("GroupName")
	if id == "" && name != "" {
		g := s.groupByName(name)
		if g == nil {
			return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", name)
		}
		return g, nil
	}
	if id == "" {
		return nil, missingParameter("groupId")
	}
	if err := groupKind.checkIDs([]string{id}); err != nil {
		return nil, err
	}
	g, ok := s.st.groups[id]
	if !ok {
		return nil, groupKind.notFound([]string{id})
	}
	return g, nil
}

// normalizeProtocol maps names and numbers to what EC2 stores: tcp, udp, icmp, icmpv6, -1 or a number.
func normalizeProtocol(raw string) (string, error) {
	switch p := strings.ToLower(raw); p {
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "icmpv6", "58":
		return "icmpv6", nil
	case "-1", "all":
		return "-1", nil
	case "":
		return "", missingParameter("ipProtocol")
	default:
		if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
			return p, nil
		}
		return "", errorf(400, "InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown protocol.", raw)
	}
}

// ruleShape reads and validates a rule's IpProtocol, FromPort and ToPort: TCP and UDP need both ports,
// ICMP takes type and code (-1 for any), every other protocol covers all ports (-1).
func ruleShape(p params) (proto string, from, to int32, err error) {
	if proto, err = normalizeProtocol(p.get("IpProtocol")); err != nil {
		return "", 0, 0, err
	}
	from, fromSet, err := p.int32("FromPort")
	if err != nil {
		return "", 0, 0, err
	}
	to, toSet, err := p.int32("ToPort")
	if err != nil {
		return "", 0, 0, err
	}
	switch proto {
	case "tcp", "udp":
		if !fromSet || !toSet || from < 0 || to > 65535 || from > to {
			return "", 0, 0, errorf(400, "InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with TCP/UDP, 0-65535, from <= to (got %d-%d).", from, to)
		}
	case "icmp", "icmpv6":
		if !fromSet {
			from = -1
		}
		if !toSet {
			to = -1
		}
		if from < -1 || from > 255 || to < -1 || to > 255 {
			return "", 0, 0, errorf(400, "InvalidParameterValue", "Invalid value for ICMP type/code (%d/%d).", from, to)
		}
	default:
		from, to = -1, -1
	}
	return proto, from, to, nil
}

// expandPermissions turns IpPermissions (or the legacy top-level CidrIp/IpProtocol/ports) into one rule
// per source, validated.
func (s *Server) expandPermissions(p params, g *sgRec, egress bool) ([]SecurityGroupRule, error) {
	perms := p.structs("IpPermissions")
	if len(perms) == 0 && p.get("IpProtocol") != "" {
		perms = []params{p}
	}
	if len(perms) == 0 {
		return nil, missingParameter("ipPermissions")
	}
	var out []SecurityGroupRule
	for _, perm := range perms {
		proto, from, to, err := ruleShape(perm)
		if err != nil {
			return nil, err
		}
		base := SecurityGroupRule{GroupID: g.ID, Egress: egress, Protocol: proto, FromPort: from, ToPort: to}
		before := len(out)
		cidrs := perm.structs("IpRanges")
		if perm.prefix == "" && p.get("CidrIp") != "" { // legacy form
			out = append(out, withSource(base, func(r *SecurityGroupRule) { r.CIDRIPv4 = p.get("CidrIp") }))
		}
		for _, r := range cidrs {
			cidr := r.get("CidrIp")
			if pr, ok := parseCIDR(cidr); !ok || !pr.Addr().Is4() {
				return nil, errorf(400, "InvalidParameterValue", "CIDR block %s is malformed", cidr)
			}
			out = append(out, withSource(base, func(x *SecurityGroupRule) { x.CIDRIPv4, x.Description = cidr, r.get("Description") }))
		}
		for _, r := range perm.structs("Ipv6Ranges") {
			cidr := r.get("CidrIpv6")
			if pr, ok := parseCIDR(cidr); !ok || !pr.Addr().Is6() {
				return nil, errorf(400, "InvalidParameterValue", "CIDR block %s is malformed", cidr)
			}
			out = append(out, withSource(base, func(x *SecurityGroupRule) { x.CIDRIPv6, x.Description = cidr, r.get("Description") }))
		}
		for _, r := range perm.structs("PrefixListIds") {
			id := r.get("PrefixListId")
			if !strings.HasPrefix(id, "pl-") {
				return nil, errorf(400, "InvalidPrefixListId.Malformed", "The prefix list ID '%s' is malformed", id)
			}
			out = append(out, withSource(base, func(x *SecurityGroupRule) { x.PrefixListID, x.Description = id, r.get("Description") }))
		}
		for _, r := range perm.structs("Groups") {
			ref := r.get("GroupId")
			if ref == "" && r.get("GroupName") != "" {
				if rg := s.groupByName(r.get("GroupName")); rg != nil {
					ref = rg.ID
				} else {
					return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", r.get("GroupName"))
				}
			}
			if _, ok := s.st.groups[ref]; !ok {
				return nil, groupKind.notFound([]string{ref})
			}
			out = append(out, withSource(base, func(x *SecurityGroupRule) { x.ReferencedGroupID, x.Description = ref, r.get("Description") }))
		}
		if len(out) == before {
			return nil, errorf(400, "InvalidParameterValue", "Each IP permission needs at least one source or destination (IpRanges, Ipv6Ranges, PrefixListIds or Groups)")
		}
	}
	return out, nil
}

func withSource(base SecurityGroupRule, set func(*SecurityGroupRule)) SecurityGroupRule {
	set(&base)
	return base
}

// ruleKey identifies a rule regardless of its description: AWS rejects a second rule with the same key.
func ruleKey(r SecurityGroupRule) string {
	return fmt.Sprintf("%t|%s|%d|%d|%s|%s|%s|%s", r.Egress, r.Protocol, r.FromPort, r.ToPort, r.CIDRIPv4, r.CIDRIPv6, r.PrefixListID, r.ReferencedGroupID)
}

func describeRule(r SecurityGroupRule) string {
	peer := r.CIDRIPv4 + r.CIDRIPv6 + r.PrefixListID + r.ReferencedGroupID
	proto := strings.ToUpper(r.Protocol)
	if r.Protocol == "-1" {
		proto = "ALL"
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, r.FromPort, r.ToPort)
}

func (s *Server) authorize(p params, egress bool) (any, error) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	rules, err := s.expandPermissions(p, g, egress)
	if err != nil {
		return nil, err
	}
	tags, err := tagSpecs(p, "security-group-rule")
	if err != nil {
		return nil, err
	}
	existing := map[string]bool{}
	for _, r := range s.st.groupRules(g.ID) {
		existing[ruleKey(r.SecurityGroupRule)] = true
	}
	for _, r := range rules {
		k := ruleKey(r)
		if existing[k] {
			return nil, errorf(400, "InvalidPermission.Duplicate", "the specified rule %q already exists", describeRule(r))
		}
		existing[k] = true
	}
	out := struct {
		Return bool    `xml:"return"`
		Rules  []xRule `xml:"securityGroupRuleSet>item"`
	}{Return: true}
	for _, r := range rules {
		r.Tags = map[string]string{}
		for k, v := range tags {
			r.Tags[k] = v
		}
		rec := s.st.addRule(r, false)
		rec.hiddenReads = s.faults.NotFoundReads
		out.Rules = append(out.Rules, s.xRule(rec))
	}
	return out, nil
}

func (s *Server) revoke(p params, egress bool) (any, error) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	var victims []string
	if ids := p.list("SecurityGroupRuleId"); len(ids) > 0 {
		if err := ruleKind.checkIDs(ids); err != nil {
			return nil, err
		}
		for _, id := range ids {
			r, ok := s.st.rules[id]
			if !ok || r.GroupID != g.ID || r.Egress != egress {
				return nil, errorf(400, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			victims = append(victims, id)
		}
	} else {
		rules, err := s.expandPermissions(p, g, egress)
		if err != nil {
			return nil, err
		}
		byKey := map[string]string{}
		for _, r := range s.st.groupRules(g.ID) {
			byKey[ruleKey(r.SecurityGroupRule)] = r.ID
		}
		for _, r := range rules {
			id, ok := byKey[ruleKey(r)]
			if !ok {
				return nil, errorf(400, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
			victims = append(victims, id)
		}
	}
	out := struct {
		Return  bool     `xml:"return"`
		Revoked []string `xml:"revokedSecurityGroupRuleSet>item"`
	}{Return: true}
	for _, id := range dedupe(victims) {
		delete(s.st.rules, id)
		out.Revoked = append(out.Revoked, id)
	}
	return out, nil
}

// modifySecurityGroupRules replaces rules in place, keeping their IDs and direction.
func (s *Server) modifySecurityGroupRules(p params) (any, error) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	updates := p.structs("SecurityGroupRule")
	if len(updates) == 0 {
		return nil, missingParameter("securityGroupRules")
	}
	replaced := map[string]SecurityGroupRule{}
	for _, u := range updates {
		id := u.get("SecurityGroupRuleId")
		old, ok := s.st.rules[id]
		if !ok || old.GroupID != g.ID {
			return nil, errorf(400, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
		req := params{v: p.v, prefix: u.prefix + "SecurityGroupRule."}
		proto, from, to, err := ruleShape(req)
		if err != nil {
			return nil, err
		}
		r := old.SecurityGroupRule
		r.Protocol, r.FromPort, r.ToPort, r.Description = proto, from, to, req.get("Description")
		r.CIDRIPv4, r.CIDRIPv6, r.PrefixListID, r.ReferencedGroupID = req.get("CidrIpv4"), req.get("CidrIpv6"), req.get("PrefixListId"), req.get("ReferencedGroupId")
		sources := 0
		for _, v := range []string{r.CIDRIPv4, r.CIDRIPv6, r.PrefixListID, r.ReferencedGroupID} {
			if v != "" {
				sources++
			}
		}
		if sources != 1 {
			return nil, errorf(400, "InvalidParameterValue", "A security group rule needs exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId, got %d", sources)
		}
		if pr, ok := parseCIDR(r.CIDRIPv4); r.CIDRIPv4 != "" && (!ok || !pr.Addr().Is4()) {
			return nil, errorf(400, "InvalidParameterValue", "CIDR block %s is malformed", r.CIDRIPv4)
		}
		if pr, ok := parseCIDR(r.CIDRIPv6); r.CIDRIPv6 != "" && (!ok || !pr.Addr().Is6()) {
			return nil, errorf(400, "InvalidParameterValue", "CIDR block %s is malformed", r.CIDRIPv6)
		}
		if _, ok := s.st.groups[r.ReferencedGroupID]; r.ReferencedGroupID != "" && !ok {
			return nil, groupKind.notFound([]string{r.ReferencedGroupID})
		}
		replaced[id] = r
	}
	keys := map[string]string{}
	for _, r := range s.st.groupRules(g.ID) {
		if _, changing := replaced[r.ID]; !changing {
			keys[ruleKey(r.SecurityGroupRule)] = r.ID
		}
	}
	for id, r := range replaced {
		if other, dup := keys[ruleKey(r)]; dup && other != id {
			return nil, errorf(400, "InvalidPermission.Duplicate", "the specified rule %q already exists", describeRule(r))
		}
		keys[ruleKey(r)] = id
	}
	for id, r := range replaced {
		s.st.rules[id].SecurityGroupRule = r
	}
	return xReturn{true}, nil
}

func (s *Server) deleteSecurityGroup(p params) (any, error) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	if g.Name == "default" {
		return nil, errorf(400, "CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.ID)
	}
	dependency := errorf(400, "DependencyViolation", "resource %s has a dependent object", g.ID)
	for _, r := range s.st.rules {
		if r.ReferencedGroupID == g.ID && r.GroupID != g.ID {
			return nil, dependency
		}
	}
	if err := s.blockDelete(&g.meta, g.ID, dependency); err != nil {
		return nil, err
	}
	s.st.removeGroup(g.ID)
	return struct {
		Return  bool   `xml:"return"`
		GroupID string `xml:"groupId"`
	}{true, g.ID}, nil
}

func (st *state) removeGroup(id string) {
	for rid, r := range st.rules {
		if r.GroupID == id {
			delete(st.rules, rid)
		}
	}
	delete(st.groups, id)
}

// --- Images ------------------------------------------------------------------------------------------

func (s *Server) xImage(img *Image) xImage {
	location := img.OwnerID + "/" + img.Name
	if img.OwnerAlias != "" {
		location = img.OwnerAlias + "/" + img.Name
	}
	return xImage{
		ID: img.ID, Location: location, State: img.State, OwnerID: img.OwnerID, CreationDate: img.CreationDate,
		IsPublic: img.Public, Architecture: img.Architecture, ImageType: "machine", OwnerAlias: img.OwnerAlias,
		Name: img.Name, Description: img.Description, RootDeviceType: "ebs", RootDeviceName: img.RootDeviceName,
		BlockDevices: []xBDM{{DeviceName: img.RootDeviceName, EBS: xEBS{
			SnapshotID: "snap-" + strings.TrimPrefix(img.ID, "ami-"), VolumeSize: 8, DeleteOnTermination: true, VolumeType: "gp3",
		}}},
		VirtualizationType: img.VirtualizationType, Hypervisor: "xen", EnaSupport: true,
		PlatformDetails: img.PlatformDetails, UsageOperation: "RunInstances", BootMode: "uefi-preferred", Tags: xTags(img.Tags),
	}
}

func (s *Server) describeImages(p params) (any, error) {
	filters := parseFilters(p)
	owners := p.list("Owner")
	ids := p.list("ImageId")
	if err := imageKind.checkIDs(ids); err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if _, ok := s.st.images[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, imageKind.notFound(missing)
	}
	var out []xImage
	for _, img := range s.imagesInOrder() {
		if len(ids) > 0 && !slices.Contains(ids, img.ID) {
			continue
		}
		if len(owners) > 0 && !s.ownedBy(img, owners) {
			continue
		}
		ok, err := matchFilters(filters, map[string][]string{
			"image-id": {img.ID}, "name": {img.Name}, "state": {img.State}, "architecture": {img.Architecture},
			"owner-id": {img.OwnerID}, "owner-alias": {img.OwnerAlias}, "is-public": {boolString(img.Public)},
			"image-type": {"machine"}, "virtualization-type": {img.VirtualizationType}, "root-device-type": {"ebs"},
			"root-device-name": {img.RootDeviceName}, "platform-details": {img.PlatformDetails},
			"description": {img.Description}, "creation-date": {img.CreationDate}, "hypervisor": {"xen"},
		}, img.Tags)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s.xImage(img))
		}
	}
	page, next, err := paginate(out, p)
	if err != nil {
		return nil, err
	}
	return struct {
		Images    []xImage `xml:"imagesSet>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}{page, next}, nil
}

func (s *Server) ownedBy(img *Image, owners []string) bool {
	for _, o := range owners {
		switch {
		case o == "self" && img.OwnerID == s.accountID,
			o == img.OwnerID,
			img.OwnerAlias != "" && o == img.OwnerAlias:
			return true
		}
	}
	return false
}

func (s *Server) imagesInOrder() []*Image {
	out := make([]*Image, 0, len(s.st.images))
	for _, img := range s.st.images {
		out = append(out, img)
	}
	slices.SortFunc(out, func(a, b *Image) int { return strings.Compare(a.CreationDate+a.ID, b.CreationDate+b.ID) })
	return out
}
