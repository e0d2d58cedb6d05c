package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_aws_security_group (terraform-provider-aws's).
const (
	defaultSGCreateTimeout = 10 * time.Minute
	defaultSGUpdateTimeout = 10 * time.Minute
	defaultSGDeleteTimeout = 15 * time.Minute
)

const sgKind = "AWS security group"

// EC2 error codes of security groups.
const (
	errCodeInvalidGroupNotFound = "InvalidGroup.NotFound"
	errCodeInvalidGroupInUse    = "InvalidGroup.InUse"
	errCodePermissionDuplicate  = "InvalidPermission.Duplicate"
	errCodePermissionNotFound   = "InvalidPermission.NotFound"
	errCodeInvalidGroupDup      = "InvalidGroup.Duplicate"
)

var (
	_ resource.Resource                   = (*securityGroupResource)(nil)
	_ resource.ResourceWithConfigure      = (*securityGroupResource)(nil)
	_ resource.ResourceWithImportState    = (*securityGroupResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*securityGroupResource)(nil)
	_ resource.ResourceWithValidateConfig = (*securityGroupResource)(nil)
)

// NewSecurityGroupResource is the sandbox_aws_security_group resource.
func NewSecurityGroupResource() resource.Resource {
	return &securityGroupResource{newResourceBase("aws_security_group")}
}

type securityGroupResource struct {
	resourceBase
}

type securityGroupModel struct {
	ID                 types.String   `tfsdk:"id"`
	ARN                types.String   `tfsdk:"arn"`
	VPCID              types.String   `tfsdk:"vpc_id"`
	Name               types.String   `tfsdk:"name"`
	Description        types.String   `tfsdk:"description"`
	Preset             types.String   `tfsdk:"preset"`
	InternalCIDRBlocks types.List     `tfsdk:"internal_cidr_blocks"`
	Ingress            types.Set      `tfsdk:"ingress"`
	Egress             types.Set      `tfsdk:"egress"`
	AllIngress         types.Set      `tfsdk:"all_ingress"`
	AllEgress          types.Set      `tfsdk:"all_egress"`
	OwnerID            types.String   `tfsdk:"owner_id"`
	Tags               types.Map      `tfsdk:"tags"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func ruleAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"protocol": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "`tcp`, `udp`, `icmp`, `icmpv6`, or `-1` for all traffic.",
			Validators:          []validator.String{stringvalidator.OneOf(sgProtocols...)},
		},
		"from_port": schema.Int64Attribute{
			Optional: true,
			MarkdownDescription: "First port of the range (TCP, UDP), or the ICMP type (`-1` for any). Leave out for " +
				"protocol `-1`.",
			Validators: []validator.Int64{int64validator.Between(-1, 65535)},
		},
		"to_port": schema.Int64Attribute{
			Optional:            true,
			MarkdownDescription: "Last port of the range (TCP, UDP), or the ICMP code (`-1` for any). Leave out for protocol `-1`.",
			Validators:          []validator.Int64{int64validator.Between(-1, 65535)},
		},
		"cidr_ipv4": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "The IPv4 peer, as a CIDR block (`0.0.0.0/0` for anywhere). One peer per rule.",
		},
		"cidr_ipv6": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "The IPv6 peer, as a CIDR block (`::/0` for anywhere).",
		},
		"security_group_id": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Another security group as the peer: its members may connect.",
		},
		"description": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "What the rule is for (up to 255 characters).",
			Validators:          []validator.String{stringvalidator.LengthBetween(1, 255)},
		},
	}
}

func computedRuleAttributes() map[string]schema.Attribute {
	out := map[string]schema.Attribute{}
	for name, a := range ruleAttributes() {
		switch a := a.(type) {
		case schema.StringAttribute:
			out[name] = schema.StringAttribute{Computed: true, MarkdownDescription: a.MarkdownDescription}
		case schema.Int64Attribute:
			out[name] = schema.Int64Attribute{Computed: true, MarkdownDescription: a.MarkdownDescription + " `-1` when the protocol has no ports."}
		}
	}
	return out
}

func (r *securityGroupResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An AWS VPC security group and its rules. Rules are changed in place (authorized and " +
			"revoked one by one); a rule added or removed outside Terraform shows in the next plan, and apply puts the " +
			"rules back as configured. A `preset` adds a named set of rules (shown in `all_ingress` and `all_egress` " +
			"before apply). Outbound rules are managed once `egress` is set or the preset has outbound rules: then the " +
			"allow-all rule AWS gives a new group is revoked unless it is among them; otherwise AWS's outbound rules are " +
			"left alone. Create waits until the group reads back three times in a row; delete retries while network " +
			"interfaces still use the group (`DependencyViolation`, `InvalidGroup.InUse`), within the `timeouts` " +
			"(defaults: create 10m, update 10m, delete 15m).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The group's ID (`sg-…`).", PlanModifiers: stable,
			},
			"arn": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The group's ARN.", PlanModifiers: stable,
			},
			"vpc_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ID of the VPC the group belongs to. Changing it replaces the group.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-0123456789abcdef0")},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the group, unique in the VPC (up to 255 characters; not `default`, not " +
					"starting with `sg-`). Changing it replaces the group.",
				PlanModifiers: replace,
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 255),
					stringvalidator.NoneOfCaseInsensitive("default"),
				},
			},
			"description": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("Managed by Terraform"),
				MarkdownDescription: "Description of the group (default `Managed by Terraform`). Changing it replaces the group.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 255)},
			},
			"preset": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "A named set of rules added to `ingress` and `egress`. " + presetDescriptions() +
					" Changed in place.",
				Validators: []validator.String{stringvalidator.OneOf(presetNames...)},
			},
			"internal_cidr_blocks": schema.ListAttribute{
				Optional:    true,
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Where \"inside the VPC\" traffic of a preset comes from. Left out, the VPC's own " +
					"IPv4 CIDR blocks, read from AWS (`172.31.0.0/16` for a default VPC).",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(cidrValidator{minPrefix: 0, maxPrefix: 32})},
			},
			"ingress": schema.SetNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Inbound rules, one peer each. Left out, the group has only the preset's inbound rules.",
				NestedObject:        schema.NestedAttributeObject{Attributes: ruleAttributes()},
			},
			"egress": schema.SetNestedAttribute{
				Optional: true,
				MarkdownDescription: "Outbound rules, one peer each. Set (even to `[]`), outbound rules are managed: " +
					"AWS's default allow-all rule is revoked unless listed here or in the preset.",
				NestedObject: schema.NestedAttributeObject{Attributes: ruleAttributes()},
			},
			"all_ingress": schema.SetNestedAttribute{
				Computed: true,
				MarkdownDescription: "Every inbound rule of the group: `ingress` plus the preset's. Known at plan time, " +
					"so the plan shows what a preset opens; a difference from AWS (a rule changed outside Terraform) " +
					"shows as an update.",
				NestedObject: schema.NestedAttributeObject{Attributes: computedRuleAttributes()},
			},
			"all_egress": schema.SetNestedAttribute{
				Computed: true,
				MarkdownDescription: "Every outbound rule of the group: `egress` plus the preset's when outbound " +
					"rules are managed, otherwise what AWS has.",
				NestedObject: schema.NestedAttributeObject{Attributes: computedRuleAttributes()},
			},
			"owner_id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "ID of the AWS account that owns the group.", PlanModifiers: stable,
			},
			"tags": tagsAttribute("security group"),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ValidateConfig checks each rule: one peer, ports that fit the protocol.
func (r *securityGroupResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var name types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("name"), &name)...)
	if n := name.ValueString(); len(n) >= 3 && strings.EqualFold(n[:3], "sg-") {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid Security Group Name",
			fmt.Sprintf("AWS refuses group names that start with sg- (like IDs); %q does. Choose another name.", n))
	}
	for _, dir := range []string{"ingress", "egress"} {
		var set types.Set
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(dir), &set)...)
		if set.IsNull() || set.IsUnknown() {
			continue
		}
		var rules []sgRuleModel
		resp.Diagnostics.Append(set.ElementsAs(ctx, &rules, false)...)
		for _, m := range rules {
			for _, p := range validateRule(m, "An "+dir+" rule") {
				resp.Diagnostics.AddAttributeError(path.Root(dir), "Invalid Security Group Rule", p)
			}
		}
	}
}

// desiredRules is what the group's rules should be. known is false while something they depend on
// is unknown (a rule's peer, the preset, the VPC's CIDR).
type desiredRules struct {
	ingress, egress sgRuleSet
	egressManaged   bool
	known           bool
}

func desired(ctx context.Context, m securityGroupModel, internal []string, diags *diag.Diagnostics) desiredRules {
	d := desiredRules{egressManaged: !m.Egress.IsNull()}
	in, inKnown := rulesFromSet(ctx, m.Ingress, diags)
	eg, egKnown := rulesFromSet(ctx, m.Egress, diags)
	d.ingress, d.egress, d.known = in, eg, inKnown && egKnown && !m.Preset.IsUnknown()
	if preset := m.Preset.ValueString(); preset != "" && !m.Preset.IsUnknown() {
		if presetUsesInternal(preset) && internal == nil {
			d.known = false
		}
		pin, peg := presetRules(preset, internal)
		d.ingress.add(pin...)
		d.egress.add(peg...)
		d.egressManaged = d.egressManaged || len(peg) > 0
	}
	return d
}

// stringsOf reads a list of strings; nil when null or unknown.
func stringsOf(ctx context.Context, v types.List, diags *diag.Diagnostics) []string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(v.ElementsAs(ctx, &out, false)...)
	return out
}

// ModifyPlan resolves internal_cidr_blocks (the VPC's blocks when not configured) and plans
// all_ingress/all_egress from the rules, the preset and those blocks, so that the plan shows every
// rule and any difference from what AWS has.
func (r *securityGroupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config securityGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	var state *securityGroupModel
	if !req.State.Raw.IsNull() {
		state = &securityGroupModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if config.InternalCIDRBlocks.IsNull() {
		plan.InternalCIDRBlocks = types.ListUnknown(types.StringType)
		switch {
		case state != nil && state.VPCID.Equal(plan.VPCID) && !state.InternalCIDRBlocks.IsNull():
			plan.InternalCIDRBlocks = state.InternalCIDRBlocks
		case !plan.VPCID.IsUnknown():
			if c := r.conns(ctx, &resp.Diagnostics); c != nil {
				if cidrs, err := vpcCIDRsByID(ctx, c, plan.VPCID.ValueString(), false); err == nil {
					plan.InternalCIDRBlocks = stringList(cidrs)
				} else {
					tflog.Warn(ctx, "could not read the VPC's CIDR blocks at plan time", map[string]any{"vpc_id": plan.VPCID.ValueString(), "error": err.Error()})
				}
			}
		}
	}
	d := desired(ctx, plan, stringsOf(ctx, plan.InternalCIDRBlocks, &resp.Diagnostics), &resp.Diagnostics)
	plan.AllIngress, plan.AllEgress = types.SetUnknown(sgRuleObjectType), types.SetUnknown(sgRuleObjectType)
	if d.known {
		plan.AllIngress = d.ingress.setValue()
		if d.egressManaged {
			plan.AllEgress = d.egress.setValue()
		}
	}
	if !d.egressManaged && state != nil && state.VPCID.Equal(plan.VPCID) && state.Name.Equal(plan.Name) && state.Description.Equal(plan.Description) {
		plan.AllEgress = state.AllEgress // AWS's rules, left alone
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func stringList(s []string) types.List {
	v, _ := types.ListValueFrom(context.Background(), types.StringType, s)
	return v
}

// vpcCIDRsByID reads the VPC's IPv4 blocks. isNew retries NotFound: a VPC created in the same
// apply may not be visible yet.
func vpcCIDRsByID(ctx context.Context, c *Conns, vpcID string, isNew bool) ([]string, error) {
	v, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(ec2Pacing), isNew,
		func(ctx context.Context) (*ec2types.Vpc, error) { return findVPCByID(ctx, c.EC2, vpcID) })
	if err != nil {
		return nil, err
	}
	return vpcCIDRs(v), nil
}

func (r *securityGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan securityGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultSGCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name, vpcID := plan.Name.ValueString(), plan.VPCID.ValueString()
	op := framework.Op{Verb: "creating", Kind: sgKind, ID: fmt.Sprintf("%q in %s", name, vpcID), Timeout: "create"}
	if plan.InternalCIDRBlocks.IsUnknown() {
		cidrs, err := vpcCIDRsByID(ctx, c, vpcID, true)
		if err != nil {
			op.Verb = "reading the VPC of"
			addError(&resp.Diagnostics, op, err)
			return
		}
		plan.InternalCIDRBlocks = stringList(cidrs)
	}
	want := desired(ctx, plan, stringsOf(ctx, plan.InternalCIDRBlocks, &resp.Diagnostics), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	in := &ec2.CreateSecurityGroupInput{
		GroupName: &name, Description: plan.Description.ValueStringPointer(), VpcId: &vpcID,
		TagSpecifications: tagSpecifications(ec2types.ResourceTypeSecurityGroup, tags),
	}
	out, err := retry.Do(ctx, propagationTimeout, c.Pace(ec2Pacing), retry.OnErrorCodes(errCodeInvalidVPCIDNotFound),
		func(ctx context.Context) (*ec2.CreateSecurityGroupOutput, error) {
			return c.EC2.CreateSecurityGroup(ctx, in)
		})
	if err != nil {
		addError(&resp.Diagnostics, op, err, sgCreateAdvisor(name, vpcID))
		return
	}
	id := awssdk.ToString(out.GroupId)
	op.ID = id
	tflog.Info(ctx, "created security group", map[string]any{"security_group_id": id, "vpc_id": vpcID, "name": name})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	if _, err := waitSecurityGroupCreated(ctx, c, id, timeout); err != nil {
		op.Verb = "waiting for"
		addError(&resp.Diagnostics, op, err)
		return
	}
	// A new group has no inbound rules and AWS's allow-all outbound rule.
	current := groupRules{ingress: sgRuleSet{}, egress: sgRuleSet{}}
	current.egress.add(defaultEgressRule)
	if err := applyRules(ctx, c, id, want, current); err != nil {
		addError(&resp.Diagnostics, op, err, sgRuleAdvisor)
		return
	}
	r.finish(ctx, c, id, plan, want, op, &resp.State, &resp.Diagnostics)
}

// finish waits until the rules read back as wanted, reads the group and saves it as the state.
func (r *securityGroupResource) finish(ctx context.Context, c *Conns, id string, plan securityGroupModel, want desiredRules,
	op framework.Op, st *tfsdk.State, diags *diag.Diagnostics) {
	rules, err := waitRulesApplied(ctx, c, id, want)
	if err != nil {
		op.Verb = "waiting for the rules of"
		addError(diags, op, err)
		return
	}
	g, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(ec2Pacing), true,
		func(ctx context.Context) (*ec2types.SecurityGroup, error) {
			return findSecurityGroupByID(ctx, c.EC2, id)
		})
	if err != nil {
		op.Verb = "reading"
		addError(diags, op, err)
		return
	}
	planned := plan.Tags
	groupInto(c, g, rules, &plan)
	plan.Tags = planned
	diags.Append(st.Set(ctx, &plan)...)
}

// applyRules revokes the rules the group has and should not, then authorizes the missing ones
// (in that order: a rule whose description changes is the same rule to AWS).
func applyRules(ctx context.Context, c *Conns, id string, want desiredRules, current groupRules) error {
	if err := revokeRules(ctx, c.EC2, id, false, current.ingress.minus(want.ingress)); err != nil {
		return err
	}
	if want.egressManaged {
		if err := revokeRules(ctx, c.EC2, id, true, current.egress.minus(want.egress)); err != nil {
			return err
		}
	}
	if err := authorizeRules(ctx, c.EC2, id, false, want.ingress.minus(current.ingress)); err != nil {
		return err
	}
	if want.egressManaged {
		return authorizeRules(ctx, c.EC2, id, true, want.egress.minus(current.egress))
	}
	return nil
}

func (r *securityGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state securityGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "reading", Kind: sgKind, ID: id}
	g, err := findSecurityGroupByID(ctx, c.EC2, id)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "security group is gone; removing it from state", map[string]any{"security_group_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(sgKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	rules, err := findGroupRules(ctx, c.EC2, id)
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	if state.Name.IsNull() { // just imported: the rules AWS has are the configuration
		state.Ingress = rules.ingress.configSetValue()
		state.Egress = types.SetNull(sgRuleObjectType)
		if !rules.egress.equal(sgRuleSet{defaultEgressRule: {}}) {
			state.Egress = rules.egress.configSetValue()
		}
		cidrs, err := vpcCIDRsByID(ctx, c, awssdk.ToString(g.VpcId), false)
		if err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
		state.InternalCIDRBlocks = stringList(cidrs)
		state.Preset = types.StringNull()
		state.Tags = types.MapNull(types.StringType)
	}
	groupInto(c, g, rules, &state)
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
	if plan.InternalCIDRBlocks.IsUnknown() {
		cidrs, err := vpcCIDRsByID(ctx, c, plan.VPCID.ValueString(), true)
		if err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
		plan.InternalCIDRBlocks = stringList(cidrs)
	}
	want := desired(ctx, plan, stringsOf(ctx, plan.InternalCIDRBlocks, &resp.Diagnostics), &resp.Diagnostics)
	current, err := findGroupRules(ctx, c.EC2, id)
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	if err := applyRules(ctx, c, id, want, current); err != nil {
		addError(&resp.Diagnostics, op, err, sgRuleAdvisor)
		return
	}
	if err := updateTags(ctx, c.EC2, id, oldTags, newTags); err != nil {
		addError(&resp.Diagnostics, op, fmt.Errorf("updating tags: %w", err))
		return
	}
	r.finish(ctx, c, id, plan, want, op, &resp.State, &resp.Diagnostics)
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
	// Network interfaces of terminated instances release the group late: DependencyViolation or
	// InvalidGroup.InUse until they are gone.
	err := retry.Retry(ctx, timeout, c.Pace(retry.Pacing{Interval: 2 * time.Second, MaxInterval: 15 * time.Second}),
		retry.OnErrorCodes(errCodeDependencyViolation, errCodeInvalidGroupInUse), func(ctx context.Context) error {
			_, err := c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &id})
			return err
		})
	if err != nil && !isCode(err, errCodeInvalidGroupNotFound) {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("security group",
			"network interfaces of instances or load balancers, or rules of other groups that name this one"), inUseAdvisor)
		return
	}
	if err := retry.UntilNotFound(ctx, timeout, c.Pace(ec2Pacing), func(ctx context.Context) error {
		_, err := findSecurityGroupByID(ctx, c.EC2, id)
		return err
	}); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted security group", map[string]any{"security_group_id": id})
}

// ImportState takes the group's ID; the rules it has become ingress and egress.
func (r *securityGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := framework.ImportID{Sep: "/", Parts: []string{"security_group_id"}, Example: "sg-0123456789abcdef0"}.Parse(req.ID, &resp.Diagnostics)
	if id == nil {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id[0])...)
}

func groupInto(c *Conns, g *ec2types.SecurityGroup, rules groupRules, m *securityGroupModel) {
	id, owner := awssdk.ToString(g.GroupId), awssdk.ToString(g.OwnerId)
	m.ID = types.StringValue(id)
	if arn := awssdk.ToString(g.SecurityGroupArn); arn != "" {
		m.ARN = types.StringValue(arn)
	} else {
		m.ARN = types.StringValue(c.arn("ec2", owner, "security-group/"+id))
	}
	m.VPCID = types.StringValue(awssdk.ToString(g.VpcId))
	m.Name = types.StringValue(awssdk.ToString(g.GroupName))
	m.Description = types.StringValue(awssdk.ToString(g.Description))
	m.OwnerID = types.StringValue(owner)
	m.AllIngress = rules.ingress.setValue()
	m.AllEgress = rules.egress.setValue()
	m.Tags = tagsValue(g.Tags, m.Tags)
}

// groupRules are a group's rules as AWS has them.
type groupRules struct{ ingress, egress sgRuleSet }

func findSecurityGroupByID(ctx context.Context, conn *ec2.Client, id string) (*ec2types.SecurityGroup, error) {
	out, err := conn.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if isCode(err, errCodeInvalidGroupNotFound) {
		return nil, retry.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	for i := range out.SecurityGroups {
		if awssdk.ToString(out.SecurityGroups[i].GroupId) == id {
			return &out.SecurityGroups[i], nil
		}
	}
	return nil, retry.NotFoundf("security group %s not found", id)
}

func findGroupRules(ctx context.Context, conn *ec2.Client, groupID string) (groupRules, error) {
	var all []ec2types.SecurityGroupRule
	pages := ec2.NewDescribeSecurityGroupRulesPaginator(conn, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("group-id"), Values: []string{groupID}}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return groupRules{}, fmt.Errorf("listing the rules of security group %s: %w", groupID, err)
		}
		all = append(all, page.SecurityGroupRules...)
	}
	in, eg := rulesFromAPI(all)
	return groupRules{ingress: in, egress: eg}, nil
}

// waitSecurityGroupCreated waits until the new group reads back three times in a row: EC2's reads
// are eventually consistent, and one good read can be followed by a NotFound.
func waitSecurityGroupCreated(ctx context.Context, c *Conns, id string, timeout time.Duration) (*ec2types.SecurityGroup, error) {
	conf := retry.StateChangeConf[*ec2types.SecurityGroup]{
		Target: []string{"created"},
		Refresh: func(ctx context.Context) (*ec2types.SecurityGroup, string, error) {
			g, err := findSecurityGroupByID(ctx, c.EC2, id)
			if err != nil {
				return nil, "", err
			}
			return g, "created", nil
		},
		Timeout:                    timeout,
		Pacing:                     c.Pace(ec2Pacing),
		NotFoundChecks:             1000,
		ContinuousTargetOccurrence: 3,
	}
	return conf.Wait(ctx)
}

var errRulesNotYet = errors.New("the rules do not read back as applied yet")

// waitRulesApplied reads the group's rules until they are what was applied (new rules may be
// invisible to reads for a while).
func waitRulesApplied(ctx context.Context, c *Conns, id string, want desiredRules) (groupRules, error) {
	return retry.Do(ctx, propagationTimeout, c.Pace(ec2Pacing), func(err error) bool { return errors.Is(err, errRulesNotYet) },
		func(ctx context.Context) (groupRules, error) {
			got, err := findGroupRules(ctx, c.EC2, id)
			if err != nil {
				return got, err
			}
			if !got.ingress.equal(want.ingress) || (want.egressManaged && !got.egress.equal(want.egress)) {
				return got, fmt.Errorf("%w (inbound: missing %v, extra %v; outbound: missing %v, extra %v)", errRulesNotYet,
					want.ingress.minus(got.ingress), got.ingress.minus(want.ingress),
					want.egress.minus(got.egress), got.egress.minus(want.egress))
			}
			return got, nil
		})
}

// sgCreateAdvisor words a duplicate name and a missing VPC.
func sgCreateAdvisor(name, vpcID string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		switch {
		case isCode(err, errCodeInvalidGroupDup):
			return framework.Advice{Summary: "Security Group Name Taken", Attribute: path.Root("name"),
				Hint: fmt.Sprintf("VPC %s already has a security group named %q. Choose another name, or import the existing "+
					"group (terraform import <address> sg-…).", vpcID, name)}, true
		case isCode(err, errCodeInvalidVPCIDNotFound):
			return framework.Advice{Summary: "VPC Not Found", Attribute: path.Root("vpc_id"),
				Hint: "Check vpc_id, and that the provider's region is the VPC's."}, true
		}
		return framework.Advice{}, false
	}
}

// sgRuleAdvisor words AWS's refusal of a rule.
func sgRuleAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	switch {
	case isCode(err, "RulesPerSecurityGroupLimitExceeded"):
		return framework.Advice{Summary: "Too Many Security Group Rules",
			Hint: "The group would have more rules than AWS allows (60 inbound and 60 outbound by default). Merge rules, " +
				"split them over two groups, or ask AWS for a higher quota."}, true
	case isCode(err, errCodeInvalidParameterValue, errCodeInvalidGroupNotFound):
		return framework.Advice{Summary: "Invalid Security Group Rule",
			Hint: "AWS refused the rule named above. Check its protocol, ports and peer (a security_group_id peer must be " +
				"in the same VPC)."}, true
	}
	return framework.Advice{}, false
}

func inUseAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	if !isCode(err, errCodeInvalidGroupInUse) {
		return framework.Advice{}, false
	}
	return framework.Advice{Summary: "AWS security group Still In Use",
		Hint: "Instances or network interfaces still use the group, until the delete timeout. Terminate or move them, or " +
			"raise timeouts { delete = ... }, and apply again."}, true
}
