package aws

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
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

// Default operation timeouts of sandbox_aws_vpc.
const (
	defaultVPCCreateTimeout = 10 * time.Minute
	defaultVPCUpdateTimeout = 10 * time.Minute
	defaultVPCDeleteTimeout = 20 * time.Minute
)

const vpcKind = "AWS VPC"

var (
	_ resource.Resource                = (*vpcResource)(nil)
	_ resource.ResourceWithConfigure   = (*vpcResource)(nil)
	_ resource.ResourceWithImportState = (*vpcResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vpcResource)(nil)
)

// NewVPCResource is the sandbox_aws_vpc resource.
func NewVPCResource() resource.Resource { return &vpcResource{newResourceBase("aws_vpc")} }

type vpcResource struct {
	resourceBase
}

type vpcModel struct {
	ID                     types.String   `tfsdk:"id"`
	ARN                    types.String   `tfsdk:"arn"`
	CIDRBlock              types.String   `tfsdk:"cidr_block"`
	EnableDNSSupport       types.Bool     `tfsdk:"enable_dns_support"`
	EnableDNSHostnames     types.Bool     `tfsdk:"enable_dns_hostnames"`
	Default                types.Bool     `tfsdk:"default"`
	DefaultSecurityGroupID types.String   `tfsdk:"default_security_group_id"`
	OwnerID                types.String   `tfsdk:"owner_id"`
	Tags                   types.Map      `tfsdk:"tags"`
	Timeouts               timeouts.Value `tfsdk:"timeouts"`
}

func (r *vpcResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An AWS VPC, created or adopted. To create one, set `cidr_block`. To adopt an existing VPC " +
			"(Terraform then manages it, and `terraform destroy` deletes it), import it: `terraform import` or an " +
			"`import {}` block with its ID; `cidr_block` and the DNS settings may then be left out and are read from AWS. " +
			"To only reference a VPC that Terraform must not manage, use the `sandbox_aws_vpc` data source instead.\n\n" +
			"Create waits until the VPC is `available`; delete retries while AWS still reports dependencies " +
			"(`DependencyViolation`), within the `timeouts` (defaults: create 10m, update 10m, delete 20m).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The VPC's ID (`vpc-…`).",
				PlanModifiers:       stable,
			},
			"arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The VPC's ARN.",
				PlanModifiers:       stable,
			},
			"cidr_block": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The VPC's primary IPv4 CIDR block, a /16 to /28 network such as `10.0.0.0/16`. Required " +
					"to create a VPC; read from AWS for an imported one when left out. Changing it replaces the VPC.",
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplaceIfConfigured(),
				},
				Validators: []validator.String{cidrValidator{minPrefix: 16, maxPrefix: 28}},
			},
			"enable_dns_support": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Whether the VPC's Amazon DNS server resolves names. Left out, it keeps what AWS has " +
					"(`true` for a new VPC). Changed in place.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"enable_dns_hostnames": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Whether instances with public IPs get public DNS host names (needs " +
					"`enable_dns_support`). Left out, it keeps what AWS has (`false` for a new VPC, `true` for a default VPC). " +
					"Changed in place.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"default": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether this is the region's default VPC (only an imported VPC can be).",
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"default_security_group_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the security group AWS creates with the VPC (named `default`).",
				PlanModifiers:       stable,
			},
			"owner_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the AWS account that owns the VPC.",
				PlanModifiers:       stable,
			},
			"tags": tagsAttribute("VPC"),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan refuses to create a VPC without a CIDR block (an imported one needs none).
func (r *vpcResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var cidr types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("cidr_block"), &cidr)...)
	if cidr.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("cidr_block"), "Missing VPC CIDR Block",
			"cidr_block is required to create a VPC, for example cidr_block = \"10.0.0.0/16\". To adopt an existing VPC "+
				"instead, import it (an import block with its ID, or terraform import), or reference it with the "+
				"sandbox_aws_vpc data source.")
	}
}

func (r *vpcResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan vpcModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultVPCCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	op := framework.Op{Verb: "creating", Kind: vpcKind, ID: plan.CIDRBlock.ValueString(), Timeout: "create"}
	out, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock:         plan.CIDRBlock.ValueStringPointer(),
		TagSpecifications: tagSpecifications(ec2types.ResourceTypeVpc, tags),
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err, cidrAdvisor("cidr_block"))
		return
	}
	id := awssdk.ToString(out.Vpc.VpcId)
	op.ID = id
	tflog.Info(ctx, "created VPC", map[string]any{"vpc_id": id, "cidr_block": plan.CIDRBlock.ValueString()})
	// Saved at once: if a later step fails, the VPC exists and Terraform marks it tainted.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	if _, err := waitVPCAvailable(ctx, c, id, timeout); err != nil {
		op.Verb = "waiting for"
		addError(&resp.Diagnostics, op, fmt.Errorf("VPC to become available: %w", err))
		return
	}
	// A new VPC has DNS support on and host names off; set what the configuration asks otherwise.
	// Support first: host names need it.
	if err := r.setDNS(ctx, c, id, plan, true, false); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	v, err := readVPC(ctx, c, id, true)
	if err != nil {
		op.Verb = "reading"
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned := plan.Tags
	v.into(c, &plan)
	// The tags just written win over a read that may not show them yet.
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// setDNS changes the DNS attributes the plan sets and the VPC does not have (one attribute per call,
// as the API requires), and waits until reads show each change.
func (r *vpcResource) setDNS(ctx context.Context, c *Conns, id string, plan vpcModel, support, hostnames bool) error {
	set := func(name ec2types.VpcAttributeName, v types.Bool, current bool) error {
		if v.IsNull() || v.IsUnknown() || v.ValueBool() == current {
			return nil
		}
		in := &ec2.ModifyVpcAttributeInput{VpcId: &id}
		val := &ec2types.AttributeBooleanValue{Value: v.ValueBoolPointer()}
		if name == ec2types.VpcAttributeNameEnableDnsSupport {
			in.EnableDnsSupport = val
		} else {
			in.EnableDnsHostnames = val
		}
		if _, err := c.EC2.ModifyVpcAttribute(ctx, in); err != nil {
			return fmt.Errorf("setting %s to %t: %w", name, v.ValueBool(), err)
		}
		if err := waitVPCAttribute(ctx, c, id, name, v.ValueBool()); err != nil {
			return fmt.Errorf("waiting for %s to read %t: %w", name, v.ValueBool(), err)
		}
		return nil
	}
	// Turning support on goes before host names; turning it off goes after host names are off.
	if plan.EnableDNSSupport.ValueBool() {
		if err := set(ec2types.VpcAttributeNameEnableDnsSupport, plan.EnableDNSSupport, support); err != nil {
			return err
		}
		return set(ec2types.VpcAttributeNameEnableDnsHostnames, plan.EnableDNSHostnames, hostnames)
	}
	if err := set(ec2types.VpcAttributeNameEnableDnsHostnames, plan.EnableDNSHostnames, hostnames); err != nil {
		return err
	}
	return set(ec2types.VpcAttributeNameEnableDnsSupport, plan.EnableDNSSupport, support)
}

func (r *vpcResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vpcModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	v, err := readVPC(ctx, c, id, false)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "VPC is gone; removing it from state", map[string]any{"vpc_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(vpcKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: vpcKind, ID: id}, err)
		return
	}
	v.into(c, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *vpcResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state vpcModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultVPCUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	oldTags, newTags := tagsFrom(ctx, state.Tags, &resp.Diagnostics), tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "updating", Kind: vpcKind, ID: id, Timeout: "update"}
	if err := r.setDNS(ctx, c, id, plan, state.EnableDNSSupport.ValueBool(), state.EnableDNSHostnames.ValueBool()); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	if err := updateTags(ctx, c.EC2, id, oldTags, newTags); err != nil {
		addError(&resp.Diagnostics, op, fmt.Errorf("updating tags: %w", err))
		return
	}
	v, err := readVPC(ctx, c, id, true)
	if err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned := plan.Tags
	v.into(c, &plan)
	// The tags just written win over a read that may not show them yet.
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vpcResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state vpcModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultVPCDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "deleting", Kind: vpcKind, ID: id, Timeout: "delete"}
	err := deleteRetryingDependencies(ctx, c, timeout, errCodeInvalidVPCIDNotFound, func(ctx context.Context) error {
		_, err := c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &id})
		return err
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("VPC", "subnets, security groups, gateways and network interfaces"))
		return
	}
	if err := waitVPCDeleted(ctx, c, id, timeout); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted VPC", map[string]any{"vpc_id": id})
}

// ImportState takes the VPC's ID. Everything else, the CIDR block included, is read from AWS.
func (r *vpcResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := framework.ImportID{Sep: "/", Parts: []string{"vpc_id"}, Example: "vpc-0123456789abcdef0"}.Parse(req.ID, &resp.Diagnostics)
	if id == nil {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id[0])...)
}

// vpcView is what AWS says about a VPC, from the calls that make up its state.
type vpcView struct {
	vpc                    *ec2types.Vpc
	dnsSupport, hostnames  bool
	defaultSecurityGroupID string
}

// readVPC reads the VPC and its attributes. isNew retries not-found answers for the propagation
// window: right after a create or change, reads may not show the VPC yet.
func readVPC(ctx context.Context, c *Conns, id string, isNew bool) (*vpcView, error) {
	return retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(ec2Pacing), isNew, func(ctx context.Context) (*vpcView, error) {
		v, err := findVPCByID(ctx, c.EC2, id)
		if err != nil {
			return nil, err
		}
		view := &vpcView{vpc: v}
		if view.dnsSupport, err = findVPCAttribute(ctx, c.EC2, id, ec2types.VpcAttributeNameEnableDnsSupport); err != nil {
			return nil, fmt.Errorf("reading enableDnsSupport: %w", err)
		}
		if view.hostnames, err = findVPCAttribute(ctx, c.EC2, id, ec2types.VpcAttributeNameEnableDnsHostnames); err != nil {
			return nil, fmt.Errorf("reading enableDnsHostnames: %w", err)
		}
		if view.defaultSecurityGroupID, err = findDefaultSecurityGroupID(ctx, c.EC2, id); err != nil {
			return nil, fmt.Errorf("finding the default security group: %w", err)
		}
		return view, nil
	})
}

func (v *vpcView) into(c *Conns, m *vpcModel) {
	id := awssdk.ToString(v.vpc.VpcId)
	owner := awssdk.ToString(v.vpc.OwnerId)
	m.ID = types.StringValue(id)
	m.ARN = types.StringValue(c.arn("ec2", owner, "vpc/"+id))
	m.CIDRBlock = types.StringValue(awssdk.ToString(v.vpc.CidrBlock))
	m.EnableDNSSupport = types.BoolValue(v.dnsSupport)
	m.EnableDNSHostnames = types.BoolValue(v.hostnames)
	m.Default = types.BoolValue(awssdk.ToBool(v.vpc.IsDefault))
	m.DefaultSecurityGroupID = types.StringValue(v.defaultSecurityGroupID)
	m.OwnerID = types.StringValue(owner)
	m.Tags = tagsValue(v.vpc.Tags, m.Tags)
}

// cidrValidator accepts IPv4 CIDR blocks with a prefix length in range, written as their network
// address (10.0.0.0/16, not 10.0.0.1/16: AWS would store the network, and the plan would never settle).
type cidrValidator struct{ minPrefix, maxPrefix int }

func (v cidrValidator) Description(context.Context) string {
	return fmt.Sprintf("value must be an IPv4 CIDR block with a prefix length from /%d to /%d", v.minPrefix, v.maxPrefix)
}

func (v cidrValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v cidrValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !p.Addr().Is4():
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR Block",
			fmt.Sprintf("%q is not an IPv4 CIDR block such as 10.0.0.0/16.", s))
	case p.Bits() < v.minPrefix || p.Bits() > v.maxPrefix:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR Block",
			fmt.Sprintf("%q has a /%d prefix; AWS accepts /%d to /%d here.", s, p.Bits(), v.minPrefix, v.maxPrefix))
	case p.Masked() != p:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR Block",
			fmt.Sprintf("%q has host bits set; write its network address, %s.", s, p.Masked()))
	}
}

// cidrAdvisor words AWS's refusals of a CIDR block as a problem with the attribute.
func cidrAdvisor(attr string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		if !isCode(err, errCodeInvalidParameterValue, "InvalidVpc.Range", errCodeInvalidSubnetRange, errCodeInvalidSubnetConflict) {
			return framework.Advice{}, false
		}
		return framework.Advice{Summary: "Invalid CIDR Block", Attribute: path.Root(attr),
			Hint: "AWS refused " + attr + ". Choose another block (see the message above for why)."}, true
	}
}

// dependencyAdvisor words a delete that kept failing with DependencyViolation.
func dependencyAdvisor(what, dependents string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		if !isCode(err, errCodeDependencyViolation) {
			return framework.Advice{}, false
		}
		return framework.Advice{Summary: "AWS " + what + " Still In Use",
			Hint: fmt.Sprintf("AWS kept refusing to delete the %s because other objects still use it (%s), until the "+
				"delete timeout. Delete or detach them (they may be outside this configuration), or raise "+
				"timeouts { delete = ... } if they are being deleted already, and apply again.", what, dependents)}, true
	}
}
