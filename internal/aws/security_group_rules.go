package aws

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// sgRule is one security group rule with one peer, normalised the way EC2 stores it: protocol
// tcp, udp, icmp, icmpv6 or -1 (all), ports -1 when the protocol has none, descriptions "" when unset.
// Comparable, so rule sets can be diffed with maps.
type sgRule struct {
	Protocol      string
	FromPort      int32
	ToPort        int32
	CIDRIPv4      string
	CIDRIPv6      string
	SourceGroupID string
	Description   string
}

// Rule protocols the resource accepts.
var sgProtocols = []string{"tcp", "udp", "icmp", "icmpv6", "-1"}

// sgRuleAttrTypes is the object type of a rule in ingress, egress, all_ingress and all_egress.
var sgRuleAttrTypes = map[string]attr.Type{
	"protocol":          types.StringType,
	"from_port":         types.Int64Type,
	"to_port":           types.Int64Type,
	"cidr_ipv4":         types.StringType,
	"cidr_ipv6":         types.StringType,
	"security_group_id": types.StringType,
	"description":       types.StringType,
}

var sgRuleObjectType = types.ObjectType{AttrTypes: sgRuleAttrTypes}

// sgRuleModel is a rule as configured.
type sgRuleModel struct {
	Protocol        types.String `tfsdk:"protocol"`
	FromPort        types.Int64  `tfsdk:"from_port"`
	ToPort          types.Int64  `tfsdk:"to_port"`
	CIDRIPv4        types.String `tfsdk:"cidr_ipv4"`
	CIDRIPv6        types.String `tfsdk:"cidr_ipv6"`
	SecurityGroupID types.String `tfsdk:"security_group_id"`
	Description     types.String `tfsdk:"description"`
}

func (m sgRuleModel) known() bool {
	for _, v := range []attr.Value{m.Protocol, m.FromPort, m.ToPort, m.CIDRIPv4, m.CIDRIPv6, m.SecurityGroupID, m.Description} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

// rule normalises a configured rule (validated by validateRule).
func (m sgRuleModel) rule() sgRule {
	r := sgRule{
		Protocol: m.Protocol.ValueString(), CIDRIPv4: m.CIDRIPv4.ValueString(), CIDRIPv6: m.CIDRIPv6.ValueString(),
		SourceGroupID: m.SecurityGroupID.ValueString(), Description: m.Description.ValueString(),
	}
	port := func(v types.Int64) int32 {
		if v.IsNull() {
			return -1
		}
		return int32(v.ValueInt64())
	}
	r.FromPort, r.ToPort = port(m.FromPort), port(m.ToPort)
	if r.Protocol == "-1" {
		r.FromPort, r.ToPort = -1, -1
	}
	return r
}

// validateRule checks one configured rule; problems are worded for the attribute at where.
func validateRule(m sgRuleModel, where string) []string {
	var problems []string
	peers := 0
	for _, v := range []types.String{m.CIDRIPv4, m.CIDRIPv6, m.SecurityGroupID} {
		if !v.IsNull() {
			peers++
		}
	}
	if peers != 1 {
		problems = append(problems, fmt.Sprintf("%s needs exactly one of cidr_ipv4, cidr_ipv6 or security_group_id (it has %d).", where, peers))
	}
	if v := m.CIDRIPv4; !v.IsNull() && !v.IsUnknown() {
		if p, err := netip.ParsePrefix(v.ValueString()); err != nil || !p.Addr().Is4() || p.Masked() != p {
			problems = append(problems, fmt.Sprintf("%s: cidr_ipv4 %q is not an IPv4 CIDR block written as its network address (like 10.0.0.0/16).", where, v.ValueString()))
		}
	}
	if v := m.CIDRIPv6; !v.IsNull() && !v.IsUnknown() {
		if p, err := netip.ParsePrefix(v.ValueString()); err != nil || !p.Addr().Is6() || p.Masked() != p {
			problems = append(problems, fmt.Sprintf("%s: cidr_ipv6 %q is not an IPv6 CIDR block written as its network address (like ::/0).", where, v.ValueString()))
		}
	}
	if m.Protocol.IsUnknown() || m.FromPort.IsUnknown() || m.ToPort.IsUnknown() {
		return problems
	}
	from, to := m.FromPort, m.ToPort
	switch proto := m.Protocol.ValueString(); proto {
	case "tcp", "udp":
		if from.IsNull() || to.IsNull() {
			problems = append(problems, fmt.Sprintf("%s: protocol %s needs from_port and to_port.", where, proto))
		} else if f, t := from.ValueInt64(), to.ValueInt64(); f < 0 || t > 65535 || f > t {
			problems = append(problems, fmt.Sprintf("%s: ports %d-%d are not a range within 0-65535.", where, f, t))
		}
	case "icmp", "icmpv6":
		for _, v := range []types.Int64{from, to} {
			if !v.IsNull() && (v.ValueInt64() < -1 || v.ValueInt64() > 255) {
				problems = append(problems, fmt.Sprintf("%s: ICMP type and code (from_port, to_port) are -1 to 255, got %d.", where, v.ValueInt64()))
			}
		}
	case "-1":
		for _, v := range []types.Int64{from, to} {
			if !v.IsNull() && v.ValueInt64() != -1 {
				problems = append(problems, fmt.Sprintf("%s: protocol -1 (all traffic) covers every port; leave from_port and to_port out.", where))
				break
			}
		}
	}
	return problems
}

// object is the rule as an element of all_ingress/all_egress.
func (r sgRule) object() types.Object {
	str := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	return types.ObjectValueMust(sgRuleAttrTypes, map[string]attr.Value{
		"protocol":          types.StringValue(r.Protocol),
		"from_port":         types.Int64Value(int64(r.FromPort)),
		"to_port":           types.Int64Value(int64(r.ToPort)),
		"cidr_ipv4":         str(r.CIDRIPv4),
		"cidr_ipv6":         str(r.CIDRIPv6),
		"security_group_id": str(r.SourceGroupID),
		"description":       str(r.Description),
	})
}

// configObject is the rule as an element of ingress/egress, the way a user would write it (ports
// left out for all traffic), for import.
func (r sgRule) configObject() types.Object {
	o := r.object()
	if r.Protocol != "-1" {
		return o
	}
	attrs := o.Attributes()
	attrs["from_port"], attrs["to_port"] = types.Int64Null(), types.Int64Null()
	return types.ObjectValueMust(sgRuleAttrTypes, attrs)
}

func (r sgRule) String() string {
	peer := r.CIDRIPv4 + r.CIDRIPv6 + r.SourceGroupID
	switch r.Protocol {
	case "-1":
		return "all traffic, " + peer
	case "tcp", "udp":
		if r.FromPort == r.ToPort {
			return fmt.Sprintf("%s %d, %s", r.Protocol, r.FromPort, peer)
		}
		return fmt.Sprintf("%s %d-%d, %s", r.Protocol, r.FromPort, r.ToPort, peer)
	}
	return fmt.Sprintf("%s %d/%d, %s", r.Protocol, r.FromPort, r.ToPort, peer)
}

// sgRuleSet is a set of rules; the value is unused.
type sgRuleSet map[sgRule]struct{}

func (s sgRuleSet) add(rules ...sgRule) {
	for _, r := range rules {
		s[r] = struct{}{}
	}
}

// minus is what s has and o lacks, sorted.
func (s sgRuleSet) minus(o sgRuleSet) []sgRule {
	var out []sgRule
	for r := range s {
		if _, ok := o[r]; !ok {
			out = append(out, r)
		}
	}
	sortRules(out)
	return out
}

func (s sgRuleSet) equal(o sgRuleSet) bool {
	return len(s) == len(o) && len(s.minus(o)) == 0
}

func (s sgRuleSet) sorted() []sgRule {
	out := make([]sgRule, 0, len(s))
	for r := range s {
		out = append(out, r)
	}
	sortRules(out)
	return out
}

func sortRules(rules []sgRule) {
	sort.Slice(rules, func(i, j int) bool {
		return rules[i].String()+rules[i].Description < rules[j].String()+rules[j].Description
	})
}

// setValue is the rule set as the value of all_ingress or all_egress.
func (s sgRuleSet) setValue() types.Set {
	elems := make([]attr.Value, 0, len(s))
	for _, r := range s.sorted() {
		elems = append(elems, r.object())
	}
	return types.SetValueMust(sgRuleObjectType, elems)
}

// configSetValue is the rule set as the value of ingress or egress (null when empty), for import.
func (s sgRuleSet) configSetValue() types.Set {
	if len(s) == 0 {
		return types.SetNull(sgRuleObjectType)
	}
	elems := make([]attr.Value, 0, len(s))
	for _, r := range s.sorted() {
		elems = append(elems, r.configObject())
	}
	return types.SetValueMust(sgRuleObjectType, elems)
}

// rulesFromSet reads a configured ingress/egress set. known is false when a rule is not known yet.
func rulesFromSet(ctx context.Context, v types.Set, diags *diag.Diagnostics) (rules sgRuleSet, known bool) {
	rules = sgRuleSet{}
	if v.IsUnknown() {
		return rules, false
	}
	if v.IsNull() {
		return rules, true
	}
	var models []sgRuleModel
	diags.Append(v.ElementsAs(ctx, &models, false)...)
	for _, m := range models {
		if !m.known() {
			return rules, false
		}
		rules.add(m.rule())
	}
	return rules, true
}

// rulesFromAPI sorts a group's rules (DescribeSecurityGroupRules) into inbound and outbound.
func rulesFromAPI(in []ec2types.SecurityGroupRule) (ingress, egress sgRuleSet) {
	ingress, egress = sgRuleSet{}, sgRuleSet{}
	for _, r := range in {
		rule := sgRule{
			Protocol: normalizeProtocol(awssdk.ToString(r.IpProtocol)),
			FromPort: awssdk.ToInt32(r.FromPort), ToPort: awssdk.ToInt32(r.ToPort),
			CIDRIPv4: awssdk.ToString(r.CidrIpv4), CIDRIPv6: awssdk.ToString(r.CidrIpv6),
			Description: awssdk.ToString(r.Description),
		}
		if r.ReferencedGroupInfo != nil {
			rule.SourceGroupID = awssdk.ToString(r.ReferencedGroupInfo.GroupId)
		}
		if rule.Protocol == "-1" {
			rule.FromPort, rule.ToPort = -1, -1
		}
		if awssdk.ToBool(r.IsEgress) {
			egress.add(rule)
		} else {
			ingress.add(rule)
		}
	}
	return ingress, egress
}

// normalizeProtocol maps protocol numbers AWS may echo to the names the resource uses.
func normalizeProtocol(p string) string {
	switch strings.ToLower(p) {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	case "all":
		return "-1"
	}
	return strings.ToLower(p)
}

// ipPermission is the rule as an EC2 IpPermission.
func (r sgRule) ipPermission() ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: awssdk.String(r.Protocol)}
	if r.Protocol != "-1" {
		p.FromPort, p.ToPort = awssdk.Int32(r.FromPort), awssdk.Int32(r.ToPort)
	}
	desc := awssdk.String(r.Description)
	if r.Description == "" {
		desc = nil
	}
	switch {
	case r.CIDRIPv4 != "":
		p.IpRanges = []ec2types.IpRange{{CidrIp: awssdk.String(r.CIDRIPv4), Description: desc}}
	case r.CIDRIPv6 != "":
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: awssdk.String(r.CIDRIPv6), Description: desc}}
	case r.SourceGroupID != "":
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: awssdk.String(r.SourceGroupID), Description: desc}}
	}
	return p
}

// defaultEgressRule is the allow-all outbound rule AWS gives every new group.
var defaultEgressRule = sgRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRIPv4: "0.0.0.0/0"}

// authorizeRules adds rules one call per rule, so that one that exists already (a retried apply,
// a rule added by hand) does not stop the others.
func authorizeRules(ctx context.Context, conn *ec2.Client, groupID string, egress bool, rules []sgRule) error {
	for _, r := range rules {
		var err error
		perms := []ec2types.IpPermission{r.ipPermission()}
		if egress {
			_, err = conn.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: perms})
		} else {
			_, err = conn.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &groupID, IpPermissions: perms})
		}
		if err != nil && !isCode(err, errCodePermissionDuplicate) {
			return fmt.Errorf("authorizing %s rule (%s): %w", direction(egress), r, err)
		}
	}
	return nil
}

// revokeRules removes rules by their permission; one that is gone already is fine.
func revokeRules(ctx context.Context, conn *ec2.Client, groupID string, egress bool, rules []sgRule) error {
	for _, r := range rules {
		var err error
		perms := []ec2types.IpPermission{r.ipPermission()}
		if egress {
			_, err = conn.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: perms})
		} else {
			_, err = conn.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &groupID, IpPermissions: perms})
		}
		if err != nil && !isCode(err, errCodePermissionNotFound) {
			return fmt.Errorf("revoking %s rule (%s): %w", direction(egress), r, err)
		}
	}
	return nil
}

func direction(egress bool) string {
	if egress {
		return "outbound"
	}
	return "inbound"
}

// Presets: named rule sets for the machines of the OSWorld AWS guideline and the sandbox manager.
const (
	presetOSWorldEnv     = "osworld-env"
	presetOSWorldHost    = "osworld-host"
	presetSandboxManager = "sandbox-manager"
)

var presetNames = []string{presetOSWorldEnv, presetOSWorldHost, presetSandboxManager}

// osworldInternalPorts are the env machine's ports the guideline opens to the VPC only.
var osworldInternalPorts = []int32{80, 5000, 8006, 8080, 8081, 9222}

// presetRules are the preset's rules. internal is where "inside the VPC" traffic comes from.
func presetRules(preset string, internal []string) (ingress, egress []sgRule) {
	tcp := func(port int32, cidr, desc string) sgRule {
		return sgRule{Protocol: "tcp", FromPort: port, ToPort: port, CIDRIPv4: cidr, Description: desc}
	}
	switch preset {
	case presetOSWorldEnv:
		ingress = append(ingress, tcp(22, "0.0.0.0/0", "OSWorld SSH"), tcp(5910, "0.0.0.0/0", "OSWorld VNC"))
		for _, p := range osworldInternalPorts {
			for _, cidr := range internal {
				ingress = append(ingress, tcp(p, cidr, fmt.Sprintf("OSWorld port %d from the VPC", p)))
			}
		}
		egress = append(egress, sgRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRIPv4: "0.0.0.0/0", Description: "OSWorld all outbound"})
	case presetOSWorldHost:
		ingress = append(ingress, tcp(8080, "0.0.0.0/0", "OSWorld monitor"))
	case presetSandboxManager:
		ingress = append(ingress, tcp(443, "0.0.0.0/0", "sandbox manager HTTPS"), tcp(80, "0.0.0.0/0", "sandbox manager HTTP"))
	}
	return ingress, egress
}

// presetUsesInternal reports whether the preset has rules from inside the VPC.
func presetUsesInternal(preset string) bool { return preset == presetOSWorldEnv }

func presetDescriptions() string {
	var b strings.Builder
	b.WriteString("`" + presetOSWorldEnv + "`: the 8 inbound rules and 1 outbound rule of OSWorld's AWS guideline for the " +
		"environment machines: SSH 22 and VNC 5910 from anywhere; ")
	ports := make([]string, 0, len(osworldInternalPorts))
	for _, p := range osworldInternalPorts {
		ports = append(ports, strconv.Itoa(int(p)))
	}
	b.WriteString(strings.Join(ports, ", ") + " from inside the VPC (`internal_cidr_blocks`); all traffic out. ")
	b.WriteString("`" + presetOSWorldHost + "`: the host machine's monitor port 8080 from anywhere. ")
	b.WriteString("`" + presetSandboxManager + "`: HTTPS 443 and HTTP 80 from anywhere.")
	return b.String()
}
