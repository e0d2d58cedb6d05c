package alicloud

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Presets of sandbox_alicloud_security_group: named rule sets for the parts of the project.
const (
	PresetSandboxManager = "sandbox-manager"
	PresetOSWorldEnv     = "osworld-env"
)

// Presets lists the presets in documentation order.
var Presets = []string{PresetSandboxManager, PresetOSWorldEnv}

const anywhere = "0.0.0.0/0"

// rule is one security group rule as the provider models it (normalised as ECS stores it).
type rule struct {
	Direction   string // ingress or egress
	Protocol    string // tcp, udp, icmp, gre or all (lower case)
	PortRange   string // "443/443"; "-1/-1" for all, icmp and gre
	CIDR        string // source (ingress) or destination (egress) IPv4 CIDR block
	Policy      string // accept or drop
	Priority    int64  // 1 (highest) to 100
	Description string
}

// key identifies a rule with every field the provider manages: a rule whose description or priority
// changed is revoked and authorized again.
func (r rule) key() string {
	return strings.Join([]string{r.Direction, r.Protocol, r.PortRange, r.CIDR, r.Policy,
		strconv.FormatInt(r.Priority, 10), r.Description}, "|")
}

func (r rule) String() string {
	return fmt.Sprintf("%s %s %s %s %s (priority %d)", r.Direction, r.Protocol, r.PortRange, r.CIDR, r.Policy, r.Priority)
}

// presetRules are a preset's rules; inside is the CIDR block the preset treats as the VPC.
func presetRules(preset, inside string) []rule {
	in := func(port int, cidr, what string) rule {
		p := strconv.Itoa(port)
		return rule{Direction: "ingress", Protocol: "tcp", PortRange: p + "/" + p, CIDR: cidr, Policy: "accept", Priority: 1,
			Description: preset + ": " + what}
	}
	switch preset {
	case PresetSandboxManager:
		return []rule{in(443, anywhere, "HTTPS"), in(80, anywhere, "HTTP")}
	case PresetOSWorldEnv:
		return []rule{
			in(22, anywhere, "SSH"),
			in(5910, anywhere, "VNC"),
			in(80, inside, "HTTP from the VPC"),
			in(5000, inside, "environment server from the VPC"),
			in(8006, inside, "VM console from the VPC"),
			in(8080, inside, "HTTP 8080 from the VPC"),
			in(8081, inside, "HTTP 8081 from the VPC"),
			in(9222, inside, "Chrome DevTools from the VPC"),
			{Direction: "egress", Protocol: "all", PortRange: "-1/-1", CIDR: anywhere, Policy: "accept", Priority: 1,
				Description: preset + ": all traffic out"},
		}
	}
	return nil
}

// presetNeedsVPCCIDR reports whether a preset's rules depend on the VPC's CIDR block.
func presetNeedsVPCCIDR(preset string) bool { return preset == PresetOSWorldEnv }

// ruleFromAPI is a permission as the provider models it.
func ruleFromAPI(p ecs.Permission) rule {
	r := rule{Direction: strings.ToLower(p.Direction), Protocol: strings.ToLower(p.IpProtocol), PortRange: p.PortRange,
		Policy: strings.ToLower(p.Policy), Description: p.Description}
	r.Priority, _ = strconv.ParseInt(p.Priority, 10, 64)
	if r.Direction == "egress" {
		r.CIDR = p.DestCidrIp
	} else {
		r.CIDR = p.SourceCidrIp
	}
	if r.Policy == "" {
		r.Policy = "accept"
	}
	return r
}

// managedPermission reports whether the provider models p: IPv4 CIDR rules on the intranet NIC. Rules
// between groups, to prefix lists or over IPv6 are left alone.
func managedPermission(p ecs.Permission) bool {
	return p.SourceGroupId == "" && p.DestGroupId == "" && p.SourcePrefixListId == "" && p.DestPrefixListId == "" &&
		p.Ipv6SourceCidrIp == "" && p.Ipv6DestCidrIp == "" && (p.SourceCidrIp != "" || p.DestCidrIp != "")
}

// ruleAttrTypes are the attribute types of one element of rules and preset_rules.
var ruleAttrTypes = map[string]attr.Type{
	"direction":   types.StringType,
	"protocol":    types.StringType,
	"port_range":  types.StringType,
	"cidr_ip":     types.StringType,
	"policy":      types.StringType,
	"priority":    types.Int64Type,
	"description": types.StringType,
}

var ruleObjectType = types.ObjectType{AttrTypes: ruleAttrTypes}

// ruleModel is one element of rules.
type ruleModel struct {
	Direction   types.String `tfsdk:"direction"`
	Protocol    types.String `tfsdk:"protocol"`
	PortRange   types.String `tfsdk:"port_range"`
	CIDRIP      types.String `tfsdk:"cidr_ip"`
	Policy      types.String `tfsdk:"policy"`
	Priority    types.Int64  `tfsdk:"priority"`
	Description types.String `tfsdk:"description"`
}

// rule is the element as a rule; left-out fields take their defaults (accept, priority 1, no description).
func (m ruleModel) rule() rule {
	r := rule{Direction: m.Direction.ValueString(), Protocol: strings.ToLower(m.Protocol.ValueString()),
		PortRange: m.PortRange.ValueString(), CIDR: m.CIDRIP.ValueString(), Policy: "accept", Priority: 1,
		Description: m.Description.ValueString()}
	if !m.Policy.IsNull() && !m.Policy.IsUnknown() {
		r.Policy = m.Policy.ValueString()
	}
	if !m.Priority.IsNull() && !m.Priority.IsUnknown() {
		r.Priority = m.Priority.ValueInt64()
	}
	return r
}

func (m ruleModel) object() types.Object {
	return types.ObjectValueMust(ruleAttrTypes, map[string]attr.Value{
		"direction": m.Direction, "protocol": m.Protocol, "port_range": m.PortRange, "cidr_ip": m.CIDRIP,
		"policy": m.Policy, "priority": m.Priority, "description": m.Description,
	})
}

// fullModel spells out every field of r.
func fullModel(r rule) ruleModel {
	return ruleModel{Direction: types.StringValue(r.Direction), Protocol: types.StringValue(r.Protocol),
		PortRange: types.StringValue(r.PortRange), CIDRIP: types.StringValue(r.CIDR), Policy: types.StringValue(r.Policy),
		Priority: types.Int64Value(r.Priority), Description: types.StringValue(r.Description)}
}

// shortModel leaves out the fields of r that have their default values: how a configuration
// normally writes the rule.
func shortModel(r rule) ruleModel {
	m := fullModel(r)
	if r.Policy == "accept" {
		m.Policy = types.StringNull()
	}
	if r.Priority == 1 {
		m.Priority = types.Int64Null()
	}
	if r.Description == "" {
		m.Description = types.StringNull()
	}
	return m
}

// presetRulesValue is preset_rules: every field spelled out.
func presetRulesValue(rules []rule) types.Set {
	sort.Slice(rules, func(i, j int) bool { return rules[i].key() < rules[j].key() })
	elems := make([]attr.Value, 0, len(rules))
	for _, r := range rules {
		elems = append(elems, fullModel(r).object())
	}
	return types.SetValueMust(ruleObjectType, elems)
}

// rulesValue is rules: each rule written as prior (the configuration or state) writes the same
// rule, else without its default fields. Defaults inside set elements are not schema defaults,
// because those change the elements' identity (terraform-plugin-framework issue 783).
func rulesValue(rules []rule, prior []ruleModel) types.Set {
	byKey := map[string]ruleModel{}
	for _, m := range prior {
		byKey[m.rule().key()] = m
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].key() < rules[j].key() })
	elems := make([]attr.Value, 0, len(rules))
	for _, r := range rules {
		m, ok := byKey[r.key()]
		if !ok {
			m = shortModel(r)
		}
		elems = append(elems, m.object())
	}
	return types.SetValueMust(ruleObjectType, elems)
}

// ruleModelsFrom reads a rules set's elements as written (null or unknown is none).
func ruleModelsFrom(ctx context.Context, v types.Set) ([]ruleModel, error) {
	if v.IsNull() || v.IsUnknown() {
		return nil, nil
	}
	var ms []ruleModel
	if d := v.ElementsAs(ctx, &ms, false); d.HasError() {
		return nil, fmt.Errorf("reading rules: %v", d)
	}
	return ms, nil
}

// rulesFrom reads a rules set (null or unknown is none).
func rulesFrom(ctx context.Context, v types.Set) ([]rule, error) {
	ms, err := ruleModelsFrom(ctx, v)
	out := make([]rule, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.rule())
	}
	return out, err
}

// splitRules sorts the API's rules into the preset's and the others.
func splitRules(api []rule, preset []rule) (ofPreset, others []rule) {
	want := map[string]bool{}
	for _, r := range preset {
		want[r.key()] = true
	}
	for _, r := range api {
		if want[r.key()] {
			ofPreset = append(ofPreset, r)
		} else {
			others = append(others, r)
		}
	}
	return ofPreset, others
}

// reconcileRules makes the group's rules the desired ones: it revokes what is there and not wanted
// (by rule ID), then authorizes what is wanted and missing, one call per direction.
func reconcileRules(ctx context.Context, c *Conns, id string, actual []ecs.Permission, desired []rule) error {
	want := map[string]rule{}
	for _, r := range desired {
		want[r.key()] = r
	}
	have := map[string]bool{}
	revoke := map[string][]string{}
	for _, p := range actual {
		if !managedPermission(p) {
			continue
		}
		r := ruleFromAPI(p)
		if _, ok := want[r.key()]; ok && !have[r.key()] {
			have[r.key()] = true
			continue
		}
		revoke[r.Direction] = append(revoke[r.Direction], p.SecurityGroupRuleId)
	}
	if ids := revoke["ingress"]; len(ids) > 0 {
		req := ecs.CreateRevokeSecurityGroupRequest()
		c.rpc("ecs", req.RpcRequest)
		req.SecurityGroupId, req.SecurityGroupRuleId = id, &ids
		if _, err := call(ctx, c, func() (*ecs.RevokeSecurityGroupResponse, error) { return c.ECS.RevokeSecurityGroup(req) }); err != nil {
			return fmt.Errorf("revoking ingress rules %s: %w", strings.Join(ids, ", "), err)
		}
	}
	if ids := revoke["egress"]; len(ids) > 0 {
		req := ecs.CreateRevokeSecurityGroupEgressRequest()
		c.rpc("ecs", req.RpcRequest)
		req.SecurityGroupId, req.SecurityGroupRuleId = id, &ids
		if _, err := call(ctx, c, func() (*ecs.RevokeSecurityGroupEgressResponse, error) { return c.ECS.RevokeSecurityGroupEgress(req) }); err != nil {
			return fmt.Errorf("revoking egress rules %s: %w", strings.Join(ids, ", "), err)
		}
	}
	var ingress []ecs.AuthorizeSecurityGroupPermissions
	var egress []ecs.AuthorizeSecurityGroupEgressPermissions
	for _, k := range sortedRuleKeys(want) {
		if have[k] {
			continue
		}
		r := want[k]
		prio := strconv.FormatInt(r.Priority, 10)
		if r.Direction == "egress" {
			egress = append(egress, ecs.AuthorizeSecurityGroupEgressPermissions{IpProtocol: r.Protocol, PortRange: r.PortRange,
				DestCidrIp: r.CIDR, Policy: r.Policy, Priority: prio, NicType: "intranet", Description: r.Description})
		} else {
			ingress = append(ingress, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: r.Protocol, PortRange: r.PortRange,
				SourceCidrIp: r.CIDR, Policy: r.Policy, Priority: prio, NicType: "intranet", Description: r.Description})
		}
	}
	if len(ingress) > 0 {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		c.rpc("ecs", req.RpcRequest)
		req.SecurityGroupId, req.Permissions = id, &ingress
		if _, err := call(ctx, c, func() (*ecs.AuthorizeSecurityGroupResponse, error) { return c.ECS.AuthorizeSecurityGroup(req) }); err != nil {
			return fmt.Errorf("authorizing %d ingress rules: %w", len(ingress), err)
		}
	}
	if len(egress) > 0 {
		req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		c.rpc("ecs", req.RpcRequest)
		req.SecurityGroupId, req.Permissions = id, &egress
		if _, err := call(ctx, c, func() (*ecs.AuthorizeSecurityGroupEgressResponse, error) {
			return c.ECS.AuthorizeSecurityGroupEgress(req)
		}); err != nil {
			return fmt.Errorf("authorizing %d egress rules: %w", len(egress), err)
		}
	}
	return nil
}

func sortedRuleKeys(m map[string]rule) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
