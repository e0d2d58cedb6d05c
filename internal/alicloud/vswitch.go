package alicloud

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_alicloud_vswitch.
const (
	defaultVSwitchCreateTimeout = 10 * time.Minute
	defaultVSwitchUpdateTimeout = 10 * time.Minute
	defaultVSwitchDeleteTimeout = 10 * time.Minute
)

const vswitchKind = "Alibaba Cloud vSwitch"

var vswitchIDPattern = regexp.MustCompile(`^vsw-[0-9a-z]{8,32}$`)

// vswitchDeleteRetryable are the codes DeleteVSwitch answers while something still holds the
// vSwitch or it is still changing.
var vswitchDeleteRetryable = []string{"DependencyViolation", "IncorrectVSwitchStatus", "OperationConflict", "TaskConflict",
	"IncorrectStatus", "LastTokenProcessing"}

var (
	_ resource.Resource                = (*vswitchResource)(nil)
	_ resource.ResourceWithConfigure   = (*vswitchResource)(nil)
	_ resource.ResourceWithImportState = (*vswitchResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vswitchResource)(nil)
)

// NewVSwitchResource is the sandbox_alicloud_vswitch resource.
func NewVSwitchResource() resource.Resource {
	return &vswitchResource{newResourceBase("alicloud_vswitch")}
}

type vswitchResource struct {
	resourceBase
}

type vswitchModel struct {
	ID          types.String   `tfsdk:"id"`
	VPCID       types.String   `tfsdk:"vpc_id"`
	ZoneID      types.String   `tfsdk:"zone_id"`
	CIDRBlock   types.String   `tfsdk:"cidr_block"`
	Name        types.String   `tfsdk:"name"`
	Description types.String   `tfsdk:"description"`
	Tags        types.Map      `tfsdk:"tags"`
	Timeouts    timeouts.Value `tfsdk:"timeouts"`
}

func (r *vswitchResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A vSwitch (subnet) of an Alibaba Cloud VPC, in one zone. Create waits until the vSwitch is " +
			"`Available`; delete retries while Alibaba Cloud still reports dependencies or a change in progress " +
			"(`DependencyViolation`, `IncorrectVSwitchStatus`, `OperationConflict`), within the `timeouts` (defaults: create " +
			"10m, update 10m, delete 10m). A `cidr_block` outside the VPC's is refused at plan time when the VPC already exists.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The vSwitch's ID (`vsw-…`).",
				PlanModifiers:       stable,
			},
			"vpc_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ID of the VPC the vSwitch belongs to. Changing it replaces the vSwitch.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-bp1qpo0kug3a20qqe4l1c")},
			},
			"zone_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Zone of the vSwitch, for example `cn-hangzhou-h`. Changing it replaces the vSwitch.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"cidr_block": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The vSwitch's IPv4 CIDR block, /16 to /29, inside the VPC's and overlapping none of its " +
					"other vSwitches. Changing it replaces the vSwitch.",
				PlanModifiers: replace,
				Validators:    []validator.String{cidrValidator{minPrefix: 16, maxPrefix: 29}},
			},
			"name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The vSwitch's name, 2 to 128 characters starting with a letter. Left out, it keeps what " +
					"Alibaba Cloud has. Changed in place.",
				PlanModifiers: stable,
				Validators:    nameValidators(),
			},
			"description": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "The vSwitch's description, up to 256 characters. Changed in place.",
				PlanModifiers:       stable,
				Validators:          []validator.String{stringvalidator.LengthAtMost(256)},
			},
			"tags": tagsAttribute("vSwitch"),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan refuses, at plan time, a CIDR block outside the VPC's, when the VPC already exists (its
// ID is known). A VPC created in the same apply is checked by Alibaba Cloud at apply time.
func (r *vswitchResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan vswitchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.VPCID.IsUnknown() || plan.CIDRBlock.IsUnknown() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state vswitchModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.VPCID.Equal(plan.VPCID) && state.CIDRBlock.Equal(plan.CIDRBlock) {
			return // accepted already
		}
	}
	block, err := netip.ParsePrefix(plan.CIDRBlock.ValueString())
	if err != nil {
		return // the attribute validator has said so
	}
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	vpcID := plan.VPCID.ValueString()
	v, err := findVPCByID(ctx, c, vpcID)
	if retry.IsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("vpc_id"), "VPC Not Found",
			fmt.Sprintf("There is no VPC %s in %s (for these credentials). Check vpc_id, or the provider's region.", vpcID, c.Region))
		return
	}
	if err != nil {
		tflog.Warn(ctx, "could not read the vSwitch's VPC to check its CIDR block at plan time", map[string]any{"vpc_id": vpcID, "error": err.Error()})
		return
	}
	outer, err := netip.ParsePrefix(v.CidrBlock)
	if err != nil || (outer.Bits() <= block.Bits() && outer.Contains(block.Addr())) {
		return
	}
	resp.Diagnostics.AddAttributeError(path.Root("cidr_block"), "vSwitch CIDR Block Outside the VPC",
		fmt.Sprintf("The vSwitch's cidr_block %s is not inside the CIDR block of VPC %s (%s). Choose a block inside it, "+
			"for example %s.", block, vpcID, outer, netip.PrefixFrom(outer.Addr(), max(outer.Bits(), 24))))
}

func (r *vswitchResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan vswitchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, defaultVSwitchCreateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	op := framework.Op{Verb: "creating", Kind: vswitchKind, ID: plan.CIDRBlock.ValueString(), Timeout: "create"}
	in := vpc.CreateCreateVSwitchRequest()
	c.rpc("vpc", in.RpcRequest)
	in.VpcId, in.ZoneId, in.CidrBlock = plan.VPCID.ValueString(), plan.ZoneID.ValueString(), plan.CIDRBlock.ValueString()
	in.VSwitchName, in.Description = plan.Name.ValueString(), plan.Description.ValueString()
	if len(tags) > 0 {
		var t []vpc.CreateVSwitchTag
		for _, k := range sortedKeys(tags) {
			t = append(t, vpc.CreateVSwitchTag{Key: k, Value: tags[k]})
		}
		in.Tag = &t
	}
	// A VPC created moments ago may still be changing: retry its transient refusals.
	out, err := retry.Do(ctx, timeout, c.Pace(pacing),
		func(err error) bool {
			return isCode(err, "OperationConflict", "IncorrectVpcStatus", "IncorrectStatus.Vpc", "TaskConflict")
		},
		func(ctx context.Context) (*vpc.CreateVSwitchResponse, error) {
			return call(ctx, c, func() (*vpc.CreateVSwitchResponse, error) { return c.VPC.CreateVSwitch(in) })
		})
	if err != nil {
		addError(&resp.Diagnostics, op, err, cidrAdvisor("cidr_block"), zoneAdvisor)
		return
	}
	id := out.VSwitchId
	op.ID = id
	tflog.Info(ctx, "created vSwitch", map[string]any{"vswitch_id": id, "cidr_block": in.CidrBlock})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	v, err := waitVSwitchAvailable(ctx, c, id, timeout)
	if err != nil {
		op.Verb = "waiting for"
		addError(&resp.Diagnostics, op, fmt.Errorf("vSwitch to become Available: %w", err))
		return
	}
	planned := plan.Tags
	vswitchInto(v, &plan)
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vswitchResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vswitchModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	v, err := findVSwitchByID(ctx, c, id)
	if retry.IsNotFound(err) {
		tflog.Warn(ctx, "vSwitch is gone; removing it from state", map[string]any{"vswitch_id": id})
		resp.Diagnostics.Append(framework.NotFoundWarning(vswitchKind, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: vswitchKind, ID: id}, err)
		return
	}
	vswitchInto(v, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *vswitchResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state vswitchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, _ := framework.WithTimeout(ctx, plan.Timeouts.Update, defaultVSwitchUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	oldTags, newTags := tagsFrom(ctx, state.Tags, &resp.Diagnostics), tagsFrom(ctx, plan.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "updating", Kind: vswitchKind, ID: id, Timeout: "update"}
	if !plan.Name.Equal(state.Name) || !plan.Description.Equal(state.Description) {
		in := vpc.CreateModifyVSwitchAttributeRequest()
		c.rpc("vpc", in.RpcRequest)
		in.VSwitchId = id
		// Set directly: the SDK leaves empty fields out, and an emptied description must be sent.
		if !plan.Name.Equal(state.Name) && !plan.Name.IsUnknown() {
			in.QueryParams["VSwitchName"] = plan.Name.ValueString()
		}
		if !plan.Description.Equal(state.Description) && !plan.Description.IsUnknown() {
			in.QueryParams["Description"] = plan.Description.ValueString()
		}
		if _, err := call(ctx, c, func() (*vpc.ModifyVSwitchAttributeResponse, error) { return c.VPC.ModifyVSwitchAttribute(in) }); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	if err := updateVPCTags(ctx, c, "VSWITCH", id, oldTags, newTags); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	v, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(pacing), true, func(ctx context.Context) (*vpc.VSwitch, error) {
		return findVSwitchByID(ctx, c, id)
	})
	if err != nil {
		op.Verb = "reading"
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned := plan.Tags
	vswitchInto(v, &plan)
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vswitchResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state vswitchModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, timeout := framework.WithTimeout(ctx, state.Timeouts.Delete, defaultVSwitchDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	op := framework.Op{Verb: "deleting", Kind: vswitchKind, ID: id, Timeout: "delete"}
	err := deleteRetrying(ctx, c, timeout, []string{errVSwitchNotFound}, vswitchDeleteRetryable, func() error {
		in := vpc.CreateDeleteVSwitchRequest()
		c.rpc("vpc", in.RpcRequest)
		in.VSwitchId = id
		_, err := c.VPC.DeleteVSwitch(in)
		return err
	})
	if err != nil {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("vSwitch", "ECS instances, network interfaces, load balancers and clusters"))
		return
	}
	if err := retry.UntilNotFound(ctx, timeout, c.Pace(pacing), func(ctx context.Context) error {
		_, err := findVSwitchByID(ctx, c, id)
		return err
	}); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted vSwitch", map[string]any{"vswitch_id": id})
}

// ImportState takes the vSwitch's ID.
func (r *vswitchResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := framework.ImportID{Sep: "/", Parts: []string{"vswitch_id"}, Example: "vsw-bp1s5fnvk4gn2tws03624"}.Parse(req.ID, &resp.Diagnostics)
	if id == nil {
		return
	}
	if !vswitchIDPattern.MatchString(id[0]) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected a vSwitch ID such as vsw-bp1s5fnvk4gn2tws03624, got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id[0])...)
}

func vswitchInto(v *vpc.VSwitch, m *vswitchModel) {
	m.ID = types.StringValue(v.VSwitchId)
	m.VPCID = types.StringValue(v.VpcId)
	m.ZoneID = types.StringValue(v.ZoneId)
	m.CIDRBlock = types.StringValue(v.CidrBlock)
	m.Name = types.StringValue(v.VSwitchName)
	m.Description = types.StringValue(v.Description)
	m.Tags = tagsValue(vswitchTags(v), m.Tags)
}

func waitVSwitchAvailable(ctx context.Context, c *Conns, id string, timeout time.Duration) (*vpc.VSwitch, error) {
	conf := retry.StateChangeConf[*vpc.VSwitch]{
		Pending: []string{statusPending},
		Target:  []string{statusAvailable},
		Refresh: func(ctx context.Context) (*vpc.VSwitch, string, error) {
			v, err := findVSwitchByID(ctx, c, id)
			if err != nil {
				return nil, "", err
			}
			return v, v.Status, nil
		},
		Timeout: timeout,
		Pacing:  c.Pace(pacing),
	}
	return conf.Wait(ctx)
}

// zoneAdvisor words an unknown zone as a problem with zone_id.
func zoneAdvisor(op framework.Op, err error) (framework.Advice, bool) {
	if !hasCodePrefix(err, "InvalidZoneId") {
		return framework.Advice{}, false
	}
	return framework.Advice{Summary: "Invalid Zone", Attribute: path.Root("zone_id"),
		Hint: "Alibaba Cloud has no such zone in the provider's region. Choose one of the region's zones (the console, or " +
			"`aliyun ecs DescribeZones`)."}, true
}
