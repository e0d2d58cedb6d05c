package alicloud

import (
	"context"
	"fmt"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

var (
	_ datasource.DataSource                     = (*vpcDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*vpcDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*vpcDataSource)(nil)
)

// NewVPCDataSource is the sandbox_alicloud_vpc data source.
func NewVPCDataSource() datasource.DataSource {
	return &vpcDataSource{newDataSourceBase("alicloud_vpc")}
}

type vpcDataSource struct {
	dataSourceBase
}

type vpcDataModel struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Default      types.Bool   `tfsdk:"default"`
	Tags         types.Map    `tfsdk:"tags"`
	CIDRBlock    types.String `tfsdk:"cidr_block"`
	Description  types.String `tfsdk:"description"`
	RouterID     types.String `tfsdk:"router_id"`
	RouteTableID types.String `tfsdk:"route_table_id"`
	VSwitchIDs   types.List   `tfsdk:"vswitch_ids"`
}

func (d *vpcDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up one existing Alibaba Cloud VPC by ID, name, tags, or as the region's default VPC " +
			"(criteria combine). Exactly one VPC must match. Terraform does not manage it; to manage an existing VPC, import " +
			"it into `sandbox_alicloud_vpc` instead.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "ID of the VPC (`vpc-…`).",
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-bp1qpo0kug3a20qqe4l1c")},
			},
			"name": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Name of the VPC.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"default": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "`true` to find the region's default VPC (`false` excludes it).",
			},
			"tags": schema.MapAttribute{
				Optional:            true,
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Tags the VPC must have (each key with exactly this value; others may exist too). Read back as all of the VPC's tags.",
			},
			"cidr_block":     schema.StringAttribute{Computed: true, MarkdownDescription: "The VPC's IPv4 CIDR block."},
			"description":    schema.StringAttribute{Computed: true, MarkdownDescription: "The VPC's description."},
			"router_id":      schema.StringAttribute{Computed: true, MarkdownDescription: "ID of the VPC's vRouter."},
			"route_table_id": schema.StringAttribute{Computed: true, MarkdownDescription: "ID of the VPC's system route table."},
			"vswitch_ids": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "IDs of the VPC's vSwitches."},
		},
	}
}

// ConfigValidators asks for at least one criterion: a lookup without any would pick an arbitrary VPC.
func (d *vpcDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.AtLeastOneOf(
		path.MatchRoot("id"), path.MatchRoot("name"), path.MatchRoot("default"), path.MatchRoot("tags"))}
}

func (d *vpcDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m vpcDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.conns(ctx, &resp.Diagnostics)
	tags := tagsFrom(ctx, m.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	in := vpc.CreateDescribeVpcsRequest()
	in.VpcId, in.VpcName = m.ID.ValueString(), m.Name.ValueString()
	var criteria []string
	for k, v := range map[string]string{"id": in.VpcId, "name": in.VpcName} {
		if v != "" {
			criteria = append(criteria, fmt.Sprintf("%s %q", k, v))
		}
	}
	if !m.Default.IsNull() && !m.Default.IsUnknown() {
		in.IsDefault = requests.NewBoolean(m.Default.ValueBool())
		criteria = append(criteria, fmt.Sprintf("default = %t", m.Default.ValueBool()))
	}
	if len(tags) > 0 {
		var t []vpc.DescribeVpcsTag
		for _, k := range sortedKeys(tags) {
			t = append(t, vpc.DescribeVpcsTag{Key: k, Value: tags[k]})
			criteria = append(criteria, fmt.Sprintf("tag %s = %q", k, tags[k]))
		}
		in.Tag = &t
	}
	vpcs, err := findVPCs(ctx, c, in)
	if err != nil && !isCode(err, errVPCNotFound) {
		addError(&resp.Diagnostics, opLookup, err)
		return
	}
	switch {
	case len(vpcs) == 0:
		resp.Diagnostics.AddError("No Matching VPC", fmt.Sprintf("No VPC in %s matches %s (for these credentials). Check the "+
			"criteria and the provider's region.", c.Region, strings.Join(criteria, ", ")))
		return
	case len(vpcs) > 1:
		var ids []string
		for _, v := range vpcs {
			ids = append(ids, v.VpcId)
		}
		resp.Diagnostics.AddError("Several Matching VPCs", fmt.Sprintf("%d VPCs match %s: %s. Add criteria (id, name, tags) "+
			"so that exactly one matches.", len(vpcs), strings.Join(criteria, ", "), strings.Join(ids, ", ")))
		return
	}
	v := vpcs[0]
	m.ID, m.Name, m.Default = types.StringValue(v.VpcId), types.StringValue(v.VpcName), types.BoolValue(v.IsDefault)
	m.CIDRBlock, m.Description, m.RouterID = types.StringValue(v.CidrBlock), types.StringValue(v.Description), types.StringValue(v.VRouterId)
	m.RouteTableID = types.StringValue("")
	if ids := v.RouterTableIds.RouterTableIds; len(ids) > 0 {
		m.RouteTableID = types.StringValue(ids[0])
	}
	m.Tags, _ = types.MapValueFrom(ctx, types.StringType, vpcTags(&v))
	ids := v.VSwitchIds.VSwitchId
	if ids == nil {
		ids = []string{}
	}
	m.VSwitchIDs, _ = types.ListValueFrom(ctx, types.StringType, ids)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

var opLookup = framework.Op{Verb: "looking up", Kind: vpcKind}
