package alicloud

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_alicloud_security_group.
const (
	defaultSGCreateTimeout = 10 * time.Minute
	defaultSGUpdateTimeout = 10 * time.Minute
	defaultSGDeleteTimeout = 10 * time.Minute
)

const sgKind = "Alibaba Cloud security group"

var (
	sgIDPattern     = regexp.MustCompile(`^sg-[0-9a-z]{8,32}$`)
	portRangeFormat = regexp.MustCompile(`^(-1/-1|\d{1,5}/\d{1,5})$`)
)

var (
	_ resource.Resource                   = (*securityGroupResource)(nil)
	_ resource.ResourceWithConfigure      = (*securityGroupResource)(nil)
	_ resource.ResourceWithImportState    = (*securityGroupResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*securityGroupResource)(nil)
	_ resource.ResourceWithValidateConfig = (*securityGroupResource)(nil)
)

// NewSecurityGroupResource is the sandbox_alicloud_security_group resource.
func NewSecurityGroupResource() resource.Resource {
	return &securityGroupResource{newResourceBase("alicloud_security_group")}
}

type securityGroupResource struct {
	resourceBase
}

type securityGroupModel struct {
	ID           types.String   `tfsdk:"id"`
	VPCID        types.String   `tfsdk:"vpc_id"`
	Name         types.String   `tfsdk:"name"`
	Description  types.String   `tfsdk:"description"`
	Type         types.String   `tfsdk:"type"`
	Preset       types.String   `tfsdk:"preset"`
	VPCCIDRBlock types.String   `tfsdk:"vpc_cidr_block"`
	Rules        types.Set      `tfsdk:"rules"`
	PresetRules  types.Set      `tfsdk:"preset_rules"`
	Tags         types.Map      `tfsdk:"tags"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

func (r *securityGroupResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	var presetDocs []string
	for _, p := range Presets {
		var lines []string
		for _, r := range presetRules(p, "`vpc_cidr_block`") {
			lines = append(lines, fmt.Sprintf("%s %s %s %s", r.Direction, r.Protocol, r.PortRange, r.CIDR))
		}
		presetDocs = append(presetDocs, fmt.Sprintf("`%s` (%s)", p, strings.Join(lines, "; ")))
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An ECS security group in an Alibaba Cloud VPC, with its rules. Rules are changed in place " +
			"(`AuthorizeSecurityGroup`/`RevokeSecurityGroup`, and their egress twins): a rule added or revoked outside " +
			"Terraform shows in the next plan, and apply restores the configured set. Rules come from `preset` (named rule " +
			"sets for the parts of this project) and `rules`; rules between groups, to prefix lists or over IPv6 are left " +
			"alone.\n\nDelete retries while Alibaba Cloud still reports instances or network interfaces in the group " +
			"(`DependencyViolation`), within the `timeouts` (defaults: create 10m, update 10m, delete 10m).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The security group's ID (`sg-…`).",
				PlanModifiers:       stable,
			},
			"vpc_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ID of the VPC of the group. Changing it replaces the group.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-bp1qpo0kug3a20qqe4l1c")},
			},
			"name": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "The group's name, 2 to 128 characters starting with a letter. Changed in place.",
				PlanModifiers:       stable,
				Validators:          nameValidators(),
			},
			"description": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "The group's description, up to 256 characters. Changed in place.",
				PlanModifiers:       stable,
				Validators:          []validator.String{stringvalidator.LengthAtMost(256)},
			},
			"type": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString("normal"),
				MarkdownDescription: "`normal` (instances in the group reach each other) or `enterprise` (they do not unless " +
					"a rule allows it). Changing it replaces the group.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.OneOf("normal", "enterprise")},
			},
			"preset": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "A named rule set to apply besides `rules`: " + strings.Join(presetDocs, "; ") + ". Changed in place.",
				Validators:          []validator.String{stringvalidator.OneOf(Presets...)},
			},
			"vpc_cidr_block": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The block the `" + PresetOSWorldEnv + "` preset treats as inside the VPC. Defaults to " +
					"the VPC's CIDR block, read from Alibaba Cloud.",
				Validators: []validator.String{cidrValidator{minPrefix: 0, maxPrefix: 32}},
			},
			"rules": schema.SetNestedAttribute{
				Optional: true,
				MarkdownDescription: "Rules of the group besides the preset's. Omitting it (and `preset`) means no rules: " +
					"rules added outside Terraform are revoked.",
				NestedObject: schema.NestedAttributeObject{Attributes: ruleAttributes()},
			},
			"preset_rules": schema.SetNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The rules `preset` adds, as the group has them.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"direction":   schema.StringAttribute{Computed: true, MarkdownDescription: "`ingress` or `egress`."},
					"protocol":    schema.StringAttribute{Computed: true, MarkdownDescription: "IP protocol."},
					"port_range":  schema.StringAttribute{Computed: true, MarkdownDescription: "Port range, `from/to`."},
					"cidr_ip":     schema.StringAttribute{Computed: true, MarkdownDescription: "Source (ingress) or destination (egress) block."},
					"policy":      schema.StringAttribute{Computed: true, MarkdownDescription: "`accept` or `drop`."},
					"priority":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Priority, 1 (highest) to 100."},
					"description": schema.StringAttribute{Computed: true, MarkdownDescription: "The rule's description."},
				}},
			},
			"tags": tagsAttribute("security group"),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func ruleAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"direction": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "`ingress` (traffic into the group's instances) or `egress` (out of them).",
			Validators:          []validator.String{stringvalidator.OneOf("ingress", "egress")},
		},
		"protocol": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "IP protocol: `tcp`, `udp`, `icmp`, `gre` or `all`.",
			Validators:          []validator.String{stringvalidator.OneOf("tcp", "udp", "icmp", "gre", "all")},
		},
		"port_range": schema.StringAttribute{
			Required: true,
			MarkdownDescription: "Ports as `from/to`, for example `443/443` or `8000/8100`; `-1/-1` for `all`, `icmp` and " +
				"`gre`.",
			Validators: []validator.String{stringvalidator.RegexMatches(portRangeFormat, "must be from/to, such as 443/443, or -1/-1")},
		},
		"cidr_ip": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "IPv4 block the traffic comes from (ingress) or goes to (egress), for example `0.0.0.0/0`.",
			Validators:          []validator.String{cidrValidator{minPrefix: 0, maxPrefix: 32}},
		},
		"policy": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "`accept` (the default) or `drop`.",
			Validators:          []validator.String{stringvalidator.OneOf("accept", "drop")},
		},
		"priority": schema.Int64Attribute{
			Optional:            true,
			MarkdownDescription: "Priority from 1 (highest, the default) to 100.",
			Validators:          []validator.Int64{int64validator.Between(1, 100)},
		},
		"description": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "The rule's description, up to 512 characters (none by default).",
			Validators:          []validator.String{stringvalidator.LengthAtMost(512)},
		},
	}
}

// ValidateConfig checks each rule's port range against its protocol.
func (r *securityGroupResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var rules types.Set
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("rules"), &rules)...)
	if resp.Diagnostics.HasError() || rules.IsNull() || rules.IsUnknown() {
		return
	}
	var ms []ruleModel
	resp.Diagnostics.Append(rules.ElementsAs(ctx, &ms, false)...)
	for _, m := range ms {
		if m.Protocol.IsUnknown() || m.PortRange.IsUnknown() || m.Protocol.IsNull() || m.PortRange.IsNull() {
			continue
		}
		if msg := portRangeProblem(m.Protocol.ValueString(), m.PortRange.ValueString()); msg != "" {
			resp.Diagnostics.AddAttributeError(path.Root("rules"), "Invalid Port Range", msg)
		}
	}
}

// portRangeProblem says what is wrong with a rule's port range for its protocol ("" if nothing).
func portRangeProblem(protocol, pr string) string {
	from, to, _ := strings.Cut(pr, "/")
	a, err1 := strconv.Atoi(from)
	b, err2 := strconv.Atoi(to)
	switch {
	case err1 != nil || err2 != nil:
		return fmt.Sprintf("port_range %q must be from/to, such as 443/443.", pr)
	case protocol == "tcp" || protocol == "udp":
		if a < 1 || a > b || b > 65535 {
			return fmt.Sprintf("port_range %q of a %s rule must be from/to with 1 <= from <= to <= 65535, such as 443/443.", pr, protocol)
		}
	case a != -1 || b != -1:
		return fmt.Sprintf("A %s rule covers every port: write port_range = \"-1/-1\", not %q.", protocol, pr)
	}
	return ""
}

// ModifyPlan works out vpc_cidr_block (the VPC's, when the VPC exists) and the preset's rules, so
// that a preset rule revoked outside Terraform shows as a change.
func (r *securityGroupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config securityGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cidr := config.VPCCIDRBlock
	if cidr.IsNull() {
		cidr = types.StringUnknown()
		if !req.State.Raw.IsNull() {
			var state securityGroupModel
			resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
			if state.VPCID.Equal(plan.VPCID) && !state.VPCCIDRBlock.IsNull() && !state.VPCCIDRBlock.IsUnknown() {
				cidr = state.VPCCIDRBlock
			}
		}
		if cidr.IsUnknown() && !plan.VPCID.IsUnknown() {
			if c := r.conns(ctx, &resp.Diagnostics); c != nil {
				v, err := findVPCByID(ctx, c, plan.VPCID.ValueString())
				switch {
				case retry.IsNotFound(err):
					resp.Diagnostics.AddAttributeError(path.Root("vpc_id"), "VPC Not Found",
						fmt.Sprintf("There is no VPC %s in %s (for these credentials). Check vpc_id, or the provider's region.",
							plan.VPCID.ValueString(), c.Region))
					return
				case err != nil:
					tflog.Warn(ctx, "could not read the VPC's CIDR block at plan time", map[string]any{"error": err.Error()})
				default:
					cidr = types.StringValue(v.CidrBlock)
				}
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("vpc_cidr_block"), cidr)...)
	presetSet := presetRulesValue(nil)
	switch {
	case plan.Preset.IsUnknown() || (presetNeedsVPCCIDR(plan.Preset.ValueString()) && cidr.IsUnknown()):
		presetSet = types.SetUnknown(ruleObjectType)
	case !plan.Preset.IsNull():
		presetSet = presetRulesValue(presetRules(plan.Preset.ValueString(), cidr.ValueString()))
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("preset_rules"), presetSet)...)
}

func (r *securityGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan securityGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultSGCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	op := framework.Op{Verb: "creating", Kind: sgKind, ID: plan.Name.ValueString(), Timeout: "create"}
	in := ecs.CreateCreateSecurityGroupRequest()
	c.rpc("ecs", in.RpcRequest)
	in.VpcId, in.SecurityGroupName, in.Description = plan.VPCID.ValueString(), plan.Name.ValueString(), plan.Description.ValueString()
	in.SecurityGroupType = plan.Type.ValueString()
	if len(tags) > 0 {
		var t []ecs.CreateSecurityGroupTag
		for _, k := range sortedKeys(tags) {
			t = append(t, ecs.CreateSecurityGroupTag{Key: k, Value: tags[k]})
		}
		in.Tag = &t
	}
	out, err := call(ctx, c, func() (*ecs.CreateSecurityGroupResponse, error) { return c.ECS.CreateSecurityGroup(in) })
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	id := out.SecurityGroupId
	op.ID = id
	tflog.Info(ctx, "created security group", map[string]any{"security_group_id": id})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	planned := plan.Tags
	if err := syncGroup(ctx, c, id, &plan, true); err != nil {
		op.Verb = "setting the rules of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	// The tags just written win over a read that may not show them yet.
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// syncGroup makes the group's rules the model's (the preset's and rules), then reads the group back
// into the model. isNew retries reads that do not see a group created moments ago.
func syncGroup(ctx context.Context, c *Conns, id string, m *securityGroupModel, isNew bool) error {
	read := func() (*securityGroupView, error) {
		return retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(pacing), isNew, func(ctx context.Context) (*securityGroupView, error) {
			return findSecurityGroup(ctx, c, id)
		})
	}
	view, err := read()
	if err != nil {
		return err
	}
	if err := fillVPCCIDR(ctx, c, view, m); err != nil {
		return err
	}
	desired, err := rulesFrom(ctx, m.Rules)
	if err != nil {
		return err
	}
	desired = append(desired, presetRules(m.Preset.ValueString(), m.VPCCIDRBlock.ValueString())...)
	if err := reconcileRules(ctx, c, id, view.rules, desired); err != nil {
		return err
	}
	if view, err = read(); err != nil {
		return err
	}
	sgInto(view, m)
	return nil
}

// fillVPCCIDR sets vpc_cidr_block to the VPC's when it is not known (configured, planned or in state).
func fillVPCCIDR(ctx context.Context, c *Conns, view *securityGroupView, m *securityGroupModel) error {
	if !m.VPCCIDRBlock.IsNull() && !m.VPCCIDRBlock.IsUnknown() && m.VPCCIDRBlock.ValueString() != "" {
		return nil
	}
	v, err := findVPCByID(ctx, c, view.group.VpcId)
	if err != nil {
		return fmt.Errorf("reading the CIDR block of VPC %s: %w", view.group.VpcId, err)
	}
	m.VPCCIDRBlock = types.StringValue(v.CidrBlock)
	return nil
}

// sgInto fills the model from the API: the preset's rules go to preset_rules, the others to rules.
func sgInto(view *securityGroupView, m *securityGroupModel) {
	g := view.group
	m.ID = types.StringValue(g.SecurityGroupId)
	m.VPCID = types.StringValue(g.VpcId)
	m.Name = types.StringValue(g.SecurityGroupName)
	m.Description = types.StringValue(g.Description)
	m.Type = types.StringValue(g.SecurityGroupType)
	m.Tags = tagsValue(sgTags(&g), m.Tags)
	var api []rule
	for _, p := range view.rules {
		if managedPermission(p) {
			api = append(api, ruleFromAPI(p))
		}
	}
	ofPreset, others := splitRules(api, presetRules(m.Preset.ValueString(), m.VPCCIDRBlock.ValueString()))
	m.PresetRules = presetRulesValue(ofPreset)
	prior, _ := ruleModelsFrom(context.Background(), m.Rules)
	if len(others) == 0 && (m.Rules.IsNull() || m.Rules.IsUnknown()) {
		m.Rules = types.SetNull(ruleObjectType)
	} else {
		m.Rules = rulesValue(others, prior)
	}
}

func (r *securityGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state securityGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	view, err := findSecurityGroup(ctx, c, id)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "security group is gone; removing it from state", map[string]any{"security_group_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(sgKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err == nil {
		err = fillVPCCIDR(ctx, c, view, &state)
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: sgKind, ID: id}, err)
		return
	}
	sgInto(view, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *securityGroupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state securityGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultSGUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	oldTags, newTags := tagsFrom(ctx, state.Tags, &resp.Diagnostics), tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "updating", Kind: sgKind, ID: id, Timeout: "update"}
	if !plan.Name.Equal(state.Name) || !plan.Description.Equal(state.Description) {
		in := ecs.CreateModifySecurityGroupAttributeRequest()
		c.rpc("ecs", in.RpcRequest)
		in.SecurityGroupId = id
		// Set directly: the SDK leaves empty fields out, and an emptied description must be sent.
		if !plan.Name.Equal(state.Name) && !plan.Name.IsUnknown() {
			in.QueryParams["SecurityGroupName"] = plan.Name.ValueString()
		}
		if !plan.Description.Equal(state.Description) && !plan.Description.IsUnknown() {
			in.QueryParams["Description"] = plan.Description.ValueString()
		}
		if _, err := call(ctx, c, func() (*ecs.ModifySecurityGroupAttributeResponse, error) {
			return c.ECS.ModifySecurityGroupAttribute(in)
		}); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	if err := updateECSTags(ctx, c, "securitygroup", id, oldTags, newTags); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned := plan.Tags
	if err := syncGroup(ctx, c, id, &plan, false); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *securityGroupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state securityGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultSGDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "deleting", Kind: sgKind, ID: id, Timeout: "delete"}
	err := deleteRetrying(ctx, c, timeout, []string{errSGNotFound}, []string{"DependencyViolation", "OperationConflict",
		"IncorrectSecurityGroupStatus", "InvalidOperation.ResourceManagedByCloudProduct"}, func() error {
		in := ecs.CreateDeleteSecurityGroupRequest()
		c.rpc("ecs", in.RpcRequest)
		in.SecurityGroupId = id
		_, err := c.ECS.DeleteSecurityGroup(in)
		return err
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("Security Group", "ECS instances, network interfaces, "+
			"clusters and rules of other groups that name it"))
		return
	}
	if err := retry.UntilNotFound(ctx, timeout, c.Pace(pacing), func(ctx context.Context) error {
		_, err := findSecurityGroup(ctx, c, id)
		return err
	}); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted security group", map[string]any{"security_group_id": id})
}

// sgImportID is the import identifier: the group's ID, optionally after the preset it was made with
// (so that the preset's rules are told from the others).
var sgImportID = framework.ImportID{Sep: "/", Parts: []string{"preset", "security_group_id"}, Optional: 1,
	Example: PresetOSWorldEnv + "/sg-bp1fg655nh68xyz9i4jb"}

// ImportState takes "<security_group_id>" or "<preset>/<security_group_id>".
func (r *securityGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := sgImportID.Parse(req.ID, &resp.Diagnostics)
	if parts == nil {
		return
	}
	preset, id := parts[0], parts[1]
	if !sgIDPattern.MatchString(id) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected a security group ID such as sg-bp1fg655nh68xyz9i4jb, optionally after a preset "+
				"(%s), got %q.", sgImportID.Example, req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	if preset != "" {
		known := false
		for _, p := range Presets {
			known = known || p == preset
		}
		if !known {
			resp.Diagnostics.AddError("Unknown Preset", fmt.Sprintf("The import identifier names the preset %q; the presets "+
				"are %s.", preset, strings.Join(Presets, ", ")))
			return
		}
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("preset"), preset)...)
	}
}
