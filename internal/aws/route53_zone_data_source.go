package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

const zoneKind = "Route 53 hosted zone"

var (
	_ datasource.DataSource              = (*zoneDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*zoneDataSource)(nil)
)

// NewRoute53ZoneDataSource is the sandbox_aws_route53_zone data source.
func NewRoute53ZoneDataSource() datasource.DataSource {
	return &zoneDataSource{newDataSourceBase("aws_route53_zone")}
}

type zoneDataSource struct {
	dataSourceBase
}

type zoneDataModel struct {
	Name        types.String `tfsdk:"name"`
	PrivateZone types.Bool   `tfsdk:"private_zone"`
	ID          types.String `tfsdk:"id"`
	ZoneID      types.String `tfsdk:"zone_id"`
	Comment     types.String `tfsdk:"comment"`
	NameServers types.List   `tfsdk:"name_servers"`
	RecordCount types.Int64  `tfsdk:"resource_record_set_count"`
}

func (d *zoneDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Finds an existing Route 53 hosted zone by name, public or private, to put " +
			"`sandbox_aws_route53_record`s in. Exactly one zone of that name and kind must exist.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The zone's domain name, for example `example.com` (a trailing dot is optional).",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 1024)},
			},
			"private_zone": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Look for a private zone (associated with VPCs) instead of a public one. Default `false`.",
			},
			"id":      schema.StringAttribute{Computed: true, MarkdownDescription: "The zone's ID (`Z…`), as `zone_id`."},
			"zone_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The zone's ID (`Z…`), for `sandbox_aws_route53_record.zone_id`."},
			"comment": schema.StringAttribute{Computed: true, MarkdownDescription: "The zone's comment."},
			"name_servers": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The name servers of a public zone, to delegate the domain to (empty for a private zone).",
			},
			"resource_record_set_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "How many record sets the zone holds."},
		},
	}
}

func (d *zoneDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m zoneDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name, private := canonicalRecordName(m.Name.ValueString()), m.PrivateZone.ValueBool()
	kind := "public"
	if private {
		kind = "private"
	}
	op := framework.Op{Verb: "looking up", Kind: zoneKind, ID: fmt.Sprintf("%s (%s)", fqdnOf(name), kind)}
	var matches []r53types.HostedZone
	in := &route53.ListHostedZonesByNameInput{DNSName: awssdk.String(name)}
	for {
		out, err := c.Route53.ListHostedZonesByName(ctx, in)
		if err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
		past := false
		for _, z := range out.HostedZones {
			if !sameRecordName(awssdk.ToString(z.Name), name) {
				past = true // zones come sorted by name: the ones of this name are first
				break
			}
			if z.Config != nil && z.Config.PrivateZone == private || z.Config == nil && !private {
				matches = append(matches, z)
			}
		}
		if past || !out.IsTruncated {
			break
		}
		in.DNSName, in.HostedZoneId = out.NextDNSName, out.NextHostedZoneId
	}
	switch len(matches) {
	case 1:
	case 0:
		resp.Diagnostics.AddError("No Matching Route 53 Hosted Zone",
			fmt.Sprintf("There is no %s hosted zone named %s for these credentials. Check the name and private_zone "+
				"(a private zone needs private_zone = true).", kind, fqdnOf(name)))
		return
	default:
		var ids []string
		for _, z := range matches {
			ids = append(ids, cleanZoneID(awssdk.ToString(z.Id)))
		}
		resp.Diagnostics.AddError("Several Route 53 Hosted Zones Match",
			fmt.Sprintf("%d %s hosted zones are named %s: %s. Use the zone ID directly in zone_id.", len(ids), kind,
				fqdnOf(name), strings.Join(ids, ", ")))
		return
	}
	z := matches[0]
	id := cleanZoneID(awssdk.ToString(z.Id))
	got, err := c.Route53.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: &id})
	if err != nil {
		addError(&resp.Diagnostics, framework.Op{Verb: "reading", Kind: zoneKind, ID: id}, err)
		return
	}
	var ns []string
	if got.DelegationSet != nil {
		ns = got.DelegationSet.NameServers
	}
	m.ID, m.ZoneID = types.StringValue(id), types.StringValue(id)
	m.PrivateZone = types.BoolValue(private)
	m.Comment = types.StringValue("")
	if z.Config != nil {
		m.Comment = types.StringValue(awssdk.ToString(z.Config.Comment))
	}
	m.NameServers = types.ListValueMust(types.StringType, stringValues(ns))
	m.RecordCount = types.Int64Value(awssdk.ToInt64(z.ResourceRecordSetCount))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
