package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

var (
	_ datasource.DataSource                     = (*vpcDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*vpcDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*vpcDataSource)(nil)
)

// NewVPCDataSource is the sandbox_aws_vpc data source.
func NewVPCDataSource() datasource.DataSource { return &vpcDataSource{newDataSourceBase("aws_vpc")} }

type vpcDataSource struct {
	dataSourceBase
}

type vpcDataModel struct {
	ID                     types.String `tfsdk:"id"`
	Default                types.Bool   `tfsdk:"default"`
	Tags                   types.Map    `tfsdk:"tags"`
	ARN                    types.String `tfsdk:"arn"`
	CIDRBlock              types.String `tfsdk:"cidr_block"`
	CIDRBlocks             types.List   `tfsdk:"cidr_blocks"`
	State                  types.String `tfsdk:"state"`
	EnableDNSSupport       types.Bool   `tfsdk:"enable_dns_support"`
	EnableDNSHostnames     types.Bool   `tfsdk:"enable_dns_hostnames"`
	DefaultSecurityGroupID types.String `tfsdk:"default_security_group_id"`
	OwnerID                types.String `tfsdk:"owner_id"`
	TagsAll                types.Map    `tfsdk:"tags_all"`
}

func (d *vpcDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up one existing AWS VPC, by ID, by tags, or the region's default VPC (criteria " +
			"combine), for configurations that only reference it. Exactly one VPC must match. To have Terraform manage " +
			"an existing VPC instead, import it into a `sandbox_aws_vpc` resource.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "ID of the VPC to find (`vpc-…`); the ID of the VPC found.",
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-0123456789abcdef0")},
			},
			"default": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "`true` finds the region's default VPC, `false` only non-default VPCs; whether the VPC " +
					"found is the default one.",
			},
			"tags": schema.MapAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Tags the VPC must have (each key with exactly this value; others may exist too).",
				Validators:          []validator.Map{mapvalidator.SizeAtLeast(1)},
			},
			"arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The VPC's ARN.",
			},
			"cidr_block": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The VPC's primary IPv4 CIDR block.",
			},
			"cidr_blocks": schema.ListAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Every IPv4 CIDR block associated with the VPC, the primary one first.",
			},
			"state": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`pending` or `available`.",
			},
			"enable_dns_support": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether the VPC's Amazon DNS server resolves names.",
			},
			"enable_dns_hostnames": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether instances with public IPs get public DNS host names.",
			},
			"default_security_group_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the VPC's `default` security group.",
			},
			"owner_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ID of the AWS account that owns the VPC.",
			},
			"tags_all": schema.MapAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Every tag of the VPC found.",
			},
		},
	}
}

// ConfigValidators asks for at least one criterion: without one, "the VPC" is ambiguous.
func (d *vpcDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.AtLeastOneOf(path.MatchRoot("id"), path.MatchRoot("default"), path.MatchRoot("tags")),
	}
}

func (d *vpcDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m vpcDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.conns(ctx, &resp.Diagnostics)
	filterTags := tagsFrom(ctx, m.Tags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	in := &ec2.DescribeVpcsInput{}
	var criteria []string
	if !m.ID.IsNull() {
		in.VpcIds = []string{m.ID.ValueString()}
		criteria = append(criteria, "id "+m.ID.ValueString())
	}
	if !m.Default.IsNull() {
		in.Filters = append(in.Filters, ec2types.Filter{Name: awssdk.String("is-default"), Values: []string{fmt.Sprint(m.Default.ValueBool())}})
		criteria = append(criteria, fmt.Sprintf("default = %t", m.Default.ValueBool()))
	}
	keys := make([]string, 0, len(filterTags))
	for k := range filterTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Filters = append(in.Filters, ec2types.Filter{Name: awssdk.String("tag:" + k), Values: []string{filterTags[k]}})
		criteria = append(criteria, fmt.Sprintf("tag %s = %q", k, filterTags[k]))
	}
	op := framework.Op{Verb: "looking up", Kind: vpcKind, ID: "(" + strings.Join(criteria, ", ") + ")"}
	vpcs, err := findVPCs(ctx, c.EC2, in)
	if err != nil && !retry.IsNotFound(err) {
		addError(&resp.Diagnostics, op, err)
		return
	}
	switch len(vpcs) {
	case 1:
	case 0:
		resp.Diagnostics.AddError("No Matching AWS VPC",
			fmt.Sprintf("No VPC in %s matches %s. Check the criteria and the provider's region.", c.Region, strings.Join(criteria, ", ")))
		return
	default:
		var ids []string
		for _, v := range vpcs {
			ids = append(ids, awssdk.ToString(v.VpcId))
		}
		resp.Diagnostics.AddError("Several AWS VPCs Match",
			fmt.Sprintf("%d VPCs in %s match %s: %s. Add criteria (id, or more tags) so that exactly one matches.",
				len(vpcs), c.Region, strings.Join(criteria, ", "), strings.Join(ids, ", ")))
		return
	}
	id := awssdk.ToString(vpcs[0].VpcId)
	v, err := readVPC(ctx, c, id, false)
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: vpcKind, ID: id}, err)
		return
	}
	var res vpcModel
	v.into(c, &res)
	m.ID, m.ARN, m.CIDRBlock, m.Default = res.ID, res.ARN, res.CIDRBlock, res.Default
	m.EnableDNSSupport, m.EnableDNSHostnames = res.EnableDNSSupport, res.EnableDNSHostnames
	m.DefaultSecurityGroupID, m.OwnerID = res.DefaultSecurityGroupID, res.OwnerID
	m.State = types.StringValue(string(v.vpc.State))
	blocks, diags := types.ListValueFrom(ctx, types.StringType, vpcCIDRs(v.vpc))
	resp.Diagnostics.Append(diags...)
	m.CIDRBlocks = blocks
	all, diags := types.MapValueFrom(ctx, types.StringType, tagsOf(v.vpc.Tags))
	resp.Diagnostics.Append(diags...)
	m.TagsAll = all
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
