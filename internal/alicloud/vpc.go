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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Default operation timeouts of sandbox_alicloud_vpc.
const (
	defaultVPCCreateTimeout = 10 * time.Minute
	defaultVPCUpdateTimeout = 10 * time.Minute
	defaultVPCDeleteTimeout = 20 * time.Minute
)

const vpcKind = "Alibaba Cloud VPC"

// vpcIDPattern is what a VPC ID looks like.
var vpcIDPattern = regexp.MustCompile(`^vpc-[0-9a-z]{8,32}$`)

// namePattern is what Alibaba accepts as a VPC, vSwitch or security group name: 2 to 128
// characters, starting with a letter, not with http:// or https://.
var namePattern = regexp.MustCompile(`^[\p{L}][\p{L}\p{N}._:-]{1,127}$`)

func nameValidators() []validator.String {
	return []validator.String{stringvalidator.RegexMatches(namePattern,
		"must be 2 to 128 characters: letters, digits, '.', '_', '-' and ':', starting with a letter")}
}

var (
	_ resource.Resource                = (*vpcResource)(nil)
	_ resource.ResourceWithConfigure   = (*vpcResource)(nil)
	_ resource.ResourceWithImportState = (*vpcResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vpcResource)(nil)
)

// NewVPCResource is the sandbox_alicloud_vpc resource.
func NewVPCResource() resource.Resource { return &vpcResource{newResourceBase("alicloud_vpc")} }

type vpcResource struct {
	resourceBase
}

type vpcModel struct {
	ID           types.String   `tfsdk:"id"`
	CIDRBlock    types.String   `tfsdk:"cidr_block"`
	Name         types.String   `tfsdk:"name"`
	Description  types.String   `tfsdk:"description"`
	Default      types.Bool     `tfsdk:"default"`
	RouterID     types.String   `tfsdk:"router_id"`
	RouteTableID types.String   `tfsdk:"route_table_id"`
	Tags         types.Map      `tfsdk:"tags"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

func (r *vpcResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Alibaba Cloud VPC, created or adopted. To create one, set `cidr_block`. To adopt an existing " +
			"VPC (Terraform then manages it, and `terraform destroy` deletes it), import it: `terraform import` or an " +
			"`import {}` block with its ID; `cidr_block`, `name` and `description` may then be left out and are read from " +
			"Alibaba Cloud. To only reference a VPC that Terraform must not manage, use the `sandbox_alicloud_vpc` data " +
			"source instead.\n\nCreate waits until the VPC is `Available`; delete retries while Alibaba Cloud still reports " +
			"dependencies (`DependencyViolation`), within the `timeouts` (defaults: create 10m, update 10m, delete 20m).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The VPC's ID (`vpc-…`).",
				PlanModifiers:       stable,
			},
			"cidr_block": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The VPC's IPv4 CIDR block, a /8 to /28 network written as its network address, such as " +
					"`10.0.0.0/16`, `172.16.0.0/12` or `192.168.0.0/16`. Required to create a VPC; read from Alibaba Cloud for " +
					"an imported one when left out. Changing it replaces the VPC.",
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplaceIfConfigured(),
				},
				Validators: []validator.String{cidrValidator{minPrefix: 8, maxPrefix: 28}},
			},
			"name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The VPC's name, 2 to 128 characters starting with a letter. Left out, it keeps what " +
					"Alibaba Cloud has (empty for a new VPC). Changed in place.",
				PlanModifiers: stable,
				Validators:    nameValidators(),
			},
			"description": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The VPC's description, up to 256 characters. Left out, it keeps what Alibaba Cloud has. " +
					"Changed in place.",
				PlanModifiers: stable,
				Validators:    []validator.String{stringvalidator.LengthAtMost(256)},
			},
			"default": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether this is the region's default VPC (only an imported VPC can be).",
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"router_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the VPC's vRouter (`vrt-…`).",
				PlanModifiers:       stable,
			},
			"route_table_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the VPC's system route table (`vtb-…`).",
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
				"sandbox_alicloud_vpc data source.")
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
	in := vpc.CreateCreateVpcRequest()
	c.rpc("vpc", in.RpcRequest)
	in.CidrBlock = plan.CIDRBlock.ValueString()
	in.VpcName = plan.Name.ValueString()
	in.Description = plan.Description.ValueString()
	if len(tags) > 0 {
		var t []vpc.CreateVpcTag
		for _, k := range sortedKeys(tags) {
			t = append(t, vpc.CreateVpcTag{Key: k, Value: tags[k]})
		}
		in.Tag = &t
	}
	out, err := call(ctx, c, func() (*vpc.CreateVpcResponse, error) { return c.VPC.CreateVpc(in) })
	if err != nil {
		addError(&resp.Diagnostics, op, err, cidrAdvisor("cidr_block"))
		return
	}
	id := out.VpcId
	op.ID = id
	tflog.Info(ctx, "created VPC", map[string]any{"vpc_id": id, "cidr_block": in.CidrBlock})
	// Saved at once: if a later step fails, the VPC exists and Terraform marks it tainted.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), plan.Timeouts)...)

	v, err := waitVPCAvailable(ctx, c, id, timeout)
	if err != nil {
		op.Verb = "waiting for"
		addError(&resp.Diagnostics, op, fmt.Errorf("VPC to become Available: %w", err))
		return
	}
	planned := plan.Tags
	vpcInto(v, &plan)
	// The tags just written win over a read that may not show them yet.
	plan.Tags = planned
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vpcResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vpcModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	v, err := findVPCByID(ctx, c, id)
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
	vpcInto(v, &state)
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
	if !plan.Name.Equal(state.Name) || !plan.Description.Equal(state.Description) {
		in := vpc.CreateModifyVpcAttributeRequest()
		c.rpc("vpc", in.RpcRequest)
		in.VpcId = id
		// Set directly: the SDK leaves empty fields out, and an emptied description must be sent.
		if !plan.Name.Equal(state.Name) && !plan.Name.IsUnknown() {
			in.QueryParams["VpcName"] = plan.Name.ValueString()
		}
		if !plan.Description.Equal(state.Description) && !plan.Description.IsUnknown() {
			in.QueryParams["Description"] = plan.Description.ValueString()
		}
		if _, err := call(ctx, c, func() (*vpc.ModifyVpcAttributeResponse, error) { return c.VPC.ModifyVpcAttribute(in) }); err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
	}
	if err := updateVPCTags(ctx, c, "VPC", id, oldTags, newTags); err != nil {
		addError(&resp.Diagnostics, op, err)
		return
	}
	v, err := retry.WhenNewResourceNotFound(ctx, propagationTimeout, c.Pace(pacing), true, func(ctx context.Context) (*vpc.Vpc, error) {
		return findVPCByID(ctx, c, id)
	})
	if err != nil {
		op.Verb = "reading"
		addError(&resp.Diagnostics, op, err)
		return
	}
	planned := plan.Tags
	vpcInto(v, &plan)
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
	err := deleteRetrying(ctx, c, timeout, []string{errVPCNotFound, "Forbidden.VpcNotFound"},
		[]string{"DependencyViolation", "IncorrectVpcStatus", "OperationConflict", "IncorrectStatus", "LastTokenProcessing"},
		func() error {
			in := vpc.CreateDeleteVpcRequest()
			c.rpc("vpc", in.RpcRequest)
			in.VpcId = id
			_, err := c.VPC.DeleteVpc(in)
			return err
		})
	if err != nil {
		addError(&resp.Diagnostics, op, err, dependencyAdvisor("VPC", "vSwitches, security groups, NAT gateways and clusters"))
		return
	}
	if err := retry.UntilNotFound(ctx, timeout, c.Pace(pacing), func(ctx context.Context) error {
		_, err := findVPCByID(ctx, c, id)
		return err
	}); err != nil {
		op.Verb = "waiting for the deletion of"
		addError(&resp.Diagnostics, op, err)
		return
	}
	tflog.Info(ctx, "deleted VPC", map[string]any{"vpc_id": id})
}

// ImportState takes the VPC's ID. Everything else, the CIDR block included, is read from Alibaba Cloud.
func (r *vpcResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := framework.ImportID{Sep: "/", Parts: []string{"vpc_id"}, Example: "vpc-bp1qpo0kug3a20qqe4l1c"}.Parse(req.ID, &resp.Diagnostics)
	if id == nil {
		return
	}
	if !vpcIDPattern.MatchString(id[0]) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected a VPC ID such as vpc-bp1qpo0kug3a20qqe4l1c, got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id[0])...)
}

func vpcInto(v *vpc.Vpc, m *vpcModel) {
	m.ID = types.StringValue(v.VpcId)
	m.CIDRBlock = types.StringValue(v.CidrBlock)
	m.Name = types.StringValue(v.VpcName)
	m.Description = types.StringValue(v.Description)
	m.Default = types.BoolValue(v.IsDefault)
	m.RouterID = types.StringValue(v.VRouterId)
	m.RouteTableID = types.StringValue("")
	if ids := v.RouterTableIds.RouterTableIds; len(ids) > 0 {
		m.RouteTableID = types.StringValue(ids[0])
	}
	m.Tags = tagsValue(vpcTags(v), m.Tags)
}

func waitVPCAvailable(ctx context.Context, c *Conns, id string, timeout time.Duration) (*vpc.Vpc, error) {
	conf := retry.StateChangeConf[*vpc.Vpc]{
		Pending: []string{statusPending},
		Target:  []string{statusAvailable},
		Refresh: func(ctx context.Context) (*vpc.Vpc, string, error) {
			v, err := findVPCByID(ctx, c, id)
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

// deleteRetrying calls del until it stops failing with one of the retryable codes (prefixes) or
// timeout passes. The notFound codes are success.
func deleteRetrying(ctx context.Context, c *Conns, timeout time.Duration, notFound, retryable []string, del func() error) error {
	err := retry.Retry(ctx, timeout, c.Pace(retry.Pacing{Interval: 2 * time.Second, MaxInterval: 15 * time.Second}),
		func(err error) bool { return hasCodePrefix(err, retryable...) },
		func(ctx context.Context) error {
			_, err := call(ctx, c, func() (struct{}, error) { return struct{}{}, del() })
			return err
		})
	if isCode(err, notFound...) {
		return nil
	}
	return err
}

// cidrValidator accepts IPv4 CIDR blocks with a prefix length in range, written as their network
// address (10.0.0.0/16, not 10.0.0.1/16: the API would store the network, and the plan would never settle).
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
			fmt.Sprintf("%q has a /%d prefix; Alibaba Cloud accepts /%d to /%d here.", s, p.Bits(), v.minPrefix, v.maxPrefix))
	case p.Masked() != p:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR Block",
			fmt.Sprintf("%q has host bits set; write its network address, %s.", s, p.Masked()))
	}
}

// cidrAdvisor words Alibaba Cloud's refusals of a CIDR block as a problem with the attribute.
func cidrAdvisor(attr string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		if !hasCodePrefix(err, "InvalidCidrBlock", "InvalidCidr") {
			return framework.Advice{}, false
		}
		return framework.Advice{Summary: "Invalid CIDR Block", Attribute: path.Root(attr),
			Hint: "Alibaba Cloud refused " + attr + ". Choose another block (see the message above for why)."}, true
	}
}

// dependencyAdvisor words a delete that kept failing with DependencyViolation.
func dependencyAdvisor(what, dependents string) framework.Advisor {
	return func(op framework.Op, err error) (framework.Advice, bool) {
		if !hasCodePrefix(err, "DependencyViolation") {
			return framework.Advice{}, false
		}
		return framework.Advice{Summary: "Alibaba Cloud " + what + " Still In Use",
			Hint: fmt.Sprintf("Alibaba Cloud kept refusing to delete the %s because other objects still use it (%s), until "+
				"the delete timeout. Delete or detach them (they may be outside this configuration), or raise "+
				"timeouts { delete = ... } if they are being deleted already, and apply again.", what, dependents)}, true
	}
}
