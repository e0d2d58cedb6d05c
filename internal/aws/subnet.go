package aws

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_aws_subnet (terraform-provider-aws's).
const (
	defaultSubnetCreateTimeout = 10 * time.Minute
	defaultSubnetUpdateTimeout = 10 * time.Minute
	defaultSubnetDeleteTimeout = 20 * time.Minute
)

const subnetKind = "AWS subnet"

var (
	_ resource.Resource                = (*subnetResource)(nil)
	_ resource.ResourceWithConfigure   = (*subnetResource)(nil)
	_ resource.ResourceWithImportState = (*subnetResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*subnetResource)(nil)
)

// NewSubnetResource is the sandbox_aws_subnet resource.
func NewSubnetResource() resource.Resource { return &subnetResource{newResourceBase("aws_subnet")} }

type subnetResource struct {
	resourceBase
}

type subnetModel struct {
	ID                  types.String   `tfsdk:"id"`
	ARN                 types.String   `tfsdk:"arn"`
	VPCID               types.String   `tfsdk:"vpc_id"`
	CIDRBlock           types.String   `tfsdk:"cidr_block"`
	AvailabilityZone    types.String   `tfsdk:"availability_zone"`
	AvailabilityZoneID  types.String   `tfsdk:"availability_zone_id"`
	MapPublicIPOnLaunch types.Bool     `tfsdk:"map_public_ip_on_launch"`
	OwnerID             types.String   `tfsdk:"owner_id"`
	Tags                types.Map      `tfsdk:"tags"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

func (r *subnetResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A subnet of an AWS VPC. Create waits until the subnet is `available`; delete retries while " +
			"AWS still reports dependencies (`DependencyViolation`, for example network interfaces being released), " +
			"within the `timeouts` (defaults: create 10m, update 10m, delete 20m). A `cidr_block` outside the VPC's " +
			"blocks is refused at plan time when the VPC already exists.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The subnet's ID (`subnet-…`).",
				PlanModifiers:       stable,
			},
			"arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The subnet's ARN.",
				PlanModifiers:       stable,
			},
			"vpc_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ID of the VPC the subnet belongs to. Changing it replaces the subnet.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-0123456789abcdef0")},
			},
			"cidr_block": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The subnet's IPv4 CIDR block, /16 to /28, inside one of the VPC's CIDR blocks and " +
					"overlapping none of its other subnets. Changing it replaces the subnet.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{cidrValidator{minPrefix: 16, maxPrefix: 28}},
			},
			"availability_zone": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Availability zone of the subnet, for example `eu-west-1a`. Left out, AWS picks one. " +
					"Changing it replaces the subnet.",
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplaceIfConfigured(),
				},
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"availability_zone_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the availability zone (the same physical zone in every account, unlike its name).",
				PlanModifiers:       stable,
			},
			"map_public_ip_on_launch": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Whether instances launched in the subnet get a public IPv4 address. Left out, it keeps " +
					"what AWS has (`false` for a new subnet, `true` for a default one). Changed in place.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"owner_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the AWS account that owns the subnet.",
				PlanModifiers:       stable,
			},
			"tags": tagsAttribute("subnet"),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan refuses, at plan time, a CIDR block outside the VPC's, when the VPC already exists
// (its ID is known). A VPC created in the same apply is checked by AWS at apply time.
func (r *subnetResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan subnetModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.VPCID.IsUnknown() || plan.CIDRBlock.IsUnknown() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state subnetModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.VPCID.Equal(plan.VPCID) && state.CIDRBlock.Equal(plan.CIDRBlock) {
			return // nothing to check again: AWS accepted it
		}
	}
	subnet, err := netip.ParsePrefix(plan.CIDRBlock.ValueString())
	if err != nil {
		return // the attribute validator has said so
	}
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	vpcID := plan.VPCID.ValueString()
	vpc, err := findVPCByID(ctx, c.EC2, vpcID)
	if retry.IsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("vpc_id"), "VPC Not Found",
			fmt.Sprintf("There is no VPC %s in %s (for these credentials). Check vpc_id, or the provider's region.", vpcID, c.Region))
		return
	}
	if err != nil {
		// The plan cannot check the CIDR now; AWS will at apply time.
		tflog.Warn(ctx, "could not read the subnet's VPC to check its CIDR block at plan time", map[string]any{"vpc_id": vpcID, "error": err.Error()})
		return
	}
	blocks := vpcCIDRs(vpc)
	for _, b := range blocks {
		if p, err := netip.ParsePrefix(b); err == nil && p.Bits() <= subnet.Bits() && p.Contains(subnet.Addr()) {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(path.Root("cidr_block"), "Subnet CIDR Block Outside the VPC",
		fmt.Sprintf("The subnet's cidr_block %s is not inside the CIDR block of VPC %s (%s). Choose a block inside it, "+
			"for example %s.", subnet, vpcID, strings.Join(blocks, ", "), exampleSubnet(blocks)))
}

// exampleSubnet suggests a /24 at the start of the VPC's first block.
func exampleSubnet(blocks []string) string {
	if len(blocks) == 0 {
		return "a block inside the VPC's"
	}
	p, err := netip.ParsePrefix(blocks[0])
	if err != nil {
		return blocks[0]
	}
	return netip.PrefixFrom(p.Addr(), max(p.Bits(), 24)).String()
}

func (r *subnetResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan subnetModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultSubnetCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	op := framework.Op{Verb: "creating", Kind: subnetKind, ID: plan.CIDRBlock.ValueString() + " in " + plan.VPCID.ValueString(), Timeout: "create"}
	in := &ec2.CreateSubnetInput{
		VpcId:             plan.VPCID.ValueStringPointer(),
		CidrBlock:         plan.CIDRBlock.ValueStringPointer(),
		TagSpecifications: tagSpecifications(ec2types.ResourceTypeSubnet, tags),
	}
	if !plan.AvailabilityZone.IsUnknown() && !plan.AvailabilityZone.IsNull() {
		in.AvailabilityZone = plan.AvailabilityZone.ValueStringPointer()
	}
	// A VPC created in the same apply may not be visible to CreateSubnet yet.
	out, err := retry.Do(ctx, propagationTimeout, c.Pace(ec2Pacing), retry.OnErrorCodes(errCodeInvalidVPCIDNotFound),
		func(ctx context.Context) (*ec2.CreateSubnetOutput, error) { return c.EC2.CreateSubnet(ctx, in) })
	if err != nil {
		addError(&resp.Diagnostics, op, err, subnetCIDRAdvisor(plan), availabilityZoneAdvisor(c.Region))
		return
	}
	id := awssdk.ToString(out.Subnet.SubnetId)
	op.ID = id
	tflog.Info(ctx, "created subnet", map[string]any{"subnet_id": id, "vpc_id": plan.VPCID.ValueString(), "cidr_block": plan.CIDRBlock.ValueString()})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	if _, err := waitSubnetAvailable(ctx, c, id, timeout); err != nil {
		op.Verb = "waiting for"
		addError(&resp.Diagnostics, op, fmt.Errorf("subnet to become available: %w", err))
		return
	}
	if v := plan.MapPublicIPOnLaunch; !v.IsUnknown() && v.ValueBool() {
		if err := setMapPublicIP(ctx, c, id, true); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	s, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(ec2Pacing), true,
		func(ctx context.Context) (*ec2types.Subnet, error) { return findSubnetByID(ctx, c.EC2, id) })
	if err != nil {
		op.Verb = "reading"
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned := plan.Tags
	subnetInto(c, s, &plan)
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// setMapPublicIP changes the subnet's one attribute and waits until reads show it.
func setMapPublicIP(ctx context.Context, c *Conns, id string, v bool) error {
	_, err := c.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{
		SubnetId:            &id,
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: &v},
	})
	if err != nil {
		return fmt.Errorf("setting map_public_ip_on_launch to %t: %w", v, err)
	}
	if err := waitSubnetMapPublicIP(ctx, c, id, v); err != nil {
		return fmt.Errorf("waiting for map_public_ip_on_launch to read %t: %w", v, err)
	}
	return nil
}

func (r *subnetResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state subnetModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	s, err := findSubnetByID(ctx, c.EC2, id)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "subnet is gone; removing it from state", map[string]any{"subnet_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(subnetKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: subnetKind, ID: id}, err)
		return
	}
	subnetInto(c, s, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *subnetResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state subnetModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultSubnetUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	oldTags, newTags := tagsFrom(ctx, state.Tags, &resp.Diagnostics), tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "updating", Kind: subnetKind, ID: id, Timeout: "update"}
	if v := plan.MapPublicIPOnLaunch; !v.IsUnknown() && !v.IsNull() && !v.Equal(state.MapPublicIPOnLaunch) {
		if err := setMapPublicIP(ctx, c, id, v.ValueBool()); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	if err := updateTags(ctx, c.EC2, id, oldTags, newTags); err != nil {
		addError(&resp.Diagnostics, op, fmt.Errorf("updating tags: %w", err))
		return
	}
	s, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(ec2Pacing), true,
		func(ctx context.Context) (*ec2types.Subnet, error) { return findSubnetByID(ctx, c.EC2, id) })
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned, mapPublic := plan.Tags, plan.MapPublicIPOnLaunch
	subnetInto(c, s, &plan)
	plan.Tags = planned
	if !mapPublic.IsUnknown() {
		plan.MapPublicIPOnLaunch = mapPublic
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *subnetResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state subnetModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultSubnetDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "deleting", Kind: subnetKind, ID: id, Timeout: "delete"}
	err := deleteRetryingDependencies(ctx, c, timeout, errCodeInvalidSubnetNotFound, func(ctx context.Context) error {
		_, err := c.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &id})
		return err
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("subnet", "network interfaces of instances, load balancers, NAT gateways or Lambda functions"))
		return
	}
	if err := waitSubnetDeleted(ctx, c, id, timeout); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted subnet", map[string]any{"subnet_id": id})
}

// ImportState takes the subnet's ID.
func (r *subnetResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := framework.ImportID{Sep: "/", Parts: []string{"subnet_id"}, Example: "subnet-0123456789abcdef0"}.Parse(req.ID, &resp.Diagnostics)
	if id == nil {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id[0])...)
}

func subnetInto(c *Conns, s *ec2types.Subnet, m *subnetModel) {
	id := awssdk.ToString(s.SubnetId)
	owner := awssdk.ToString(s.OwnerId)
	m.ID = types.StringValue(id)
	if arn := awssdk.ToString(s.SubnetArn); arn != "" {
		m.ARN = types.StringValue(arn)
	} else {
		m.ARN = types.StringValue(c.arn("ec2", owner, "subnet/"+id))
	}
	m.VPCID = types.StringValue(awssdk.ToString(s.VpcId))
	m.CIDRBlock = types.StringValue(awssdk.ToString(s.CidrBlock))
	m.AvailabilityZone = types.StringValue(awssdk.ToString(s.AvailabilityZone))
	m.AvailabilityZoneID = types.StringValue(awssdk.ToString(s.AvailabilityZoneId))
	m.MapPublicIPOnLaunch = types.BoolValue(awssdk.ToBool(s.MapPublicIpOnLaunch))
	m.OwnerID = types.StringValue(owner)
	m.Tags = tagsValue(s.Tags, m.Tags)
}

// subnetCIDRAdvisor words AWS's refusal of the subnet's block, naming the VPC.
func subnetCIDRAdvisor(plan subnetModel) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		switch {
		case isCode(err, errCodeInvalidSubnetRange):
			return framework.Advice{Summary: "Subnet CIDR Block Outside the VPC", Attribute: path.Root("cidr_block"),
				Hint: fmt.Sprintf("cidr_block %s is not inside the CIDR block of VPC %s. Choose a block inside the VPC's "+
					"(its cidr_block attribute).", plan.CIDRBlock.ValueString(), plan.VPCID.ValueString())}, true
		case isCode(err, errCodeInvalidSubnetConflict):
			return framework.Advice{Summary: "Subnet CIDR Block Overlaps Another Subnet", Attribute: path.Root("cidr_block"),
				Hint: fmt.Sprintf("cidr_block %s overlaps a subnet that VPC %s already has. Choose a free block.",
					plan.CIDRBlock.ValueString(), plan.VPCID.ValueString())}, true
		case isCode(err, errCodeInvalidVPCIDNotFound):
			return framework.Advice{Summary: "VPC Not Found", Attribute: path.Root("vpc_id"),
				Hint: "Check vpc_id, and that the provider's region is the VPC's."}, true
		}
		return framework.Advice{}, false
	}
}

// availabilityZoneAdvisor words an unknown zone.
func availabilityZoneAdvisor(region string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		if !isCode(err, errCodeInvalidParameterValue) || !strings.Contains(strings.ToLower(err.Error()), "availability zone") {
			return framework.Advice{}, false
		}
		return framework.Advice{Summary: "Invalid Availability Zone", Attribute: path.Root("availability_zone"),
			Hint: fmt.Sprintf("Use a zone of %s (for example %sa), or leave availability_zone out to let AWS pick.", region, region)}, true
	}
}
