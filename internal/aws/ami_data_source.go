package aws

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

const amiKind = "AWS AMI"

var amiIDPattern = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)

var (
	_ datasource.DataSource                     = (*amiDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*amiDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*amiDataSource)(nil)
)

// NewAMIDataSource is the sandbox_aws_ami data source.
func NewAMIDataSource() datasource.DataSource { return &amiDataSource{newDataSourceBase("aws_ami")} }

type amiDataSource struct {
	dataSourceBase
}

type amiDataModel struct {
	ImageID            types.String `tfsdk:"image_id"`
	NamePattern        types.String `tfsdk:"name_pattern"`
	Owners             types.List   `tfsdk:"owners"`
	Architecture       types.String `tfsdk:"architecture"`
	MostRecent         types.Bool   `tfsdk:"most_recent"`
	ID                 types.String `tfsdk:"id"`
	Name               types.String `tfsdk:"name"`
	Description        types.String `tfsdk:"description"`
	OwnerID            types.String `tfsdk:"owner_id"`
	CreationDate       types.String `tfsdk:"creation_date"`
	State              types.String `tfsdk:"state"`
	RootDeviceName     types.String `tfsdk:"root_device_name"`
	VirtualizationType types.String `tfsdk:"virtualization_type"`
	PlatformDetails    types.String `tfsdk:"platform_details"`
	Region             types.String `tfsdk:"region"`
}

func (d *amiDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up an AMI (machine image) in the provider's region, by ID or by name pattern. " +
			"AMI IDs are per region: an ID copied from another region (OSWorld's `IMAGE_ID_MAP` lists one per region) is " +
			"not found, and the lookup fails with a message that says so, rather than failing later in an instance launch.",
		Attributes: map[string]schema.Attribute{
			"image_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The AMI's ID (`ami-…`), which must exist in the provider's region.",
				Validators:          []validator.String{stringvalidator.RegexMatches(amiIDPattern, "must be an AMI ID such as ami-0123456789abcdef0")},
			},
			"name_pattern": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "A name to match; `*` matches any characters and `?` one (for example " +
					"`ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*`).",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 128)},
			},
			"owners": schema.ListAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Only images of these owners: account IDs, `self`, `amazon` or `aws-marketplace`. " +
					"Recommended with `name_pattern`: anyone can publish an image with a familiar name.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"architecture": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Only images of this architecture: `x86_64` or `arm64`.",
				Validators:          []validator.String{stringvalidator.OneOf("x86_64", "arm64", "i386", "x86_64_mac", "arm64_mac")},
			},
			"most_recent": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "When several images match, take the newest (by creation date). Without it, several " +
					"matches are an error.",
			},
			"id":                  computed("The AMI's ID."),
			"name":                computed("The AMI's name."),
			"description":         computed("The AMI's description."),
			"owner_id":            computed("ID of the account that owns the AMI."),
			"creation_date":       computed("When the AMI was created (RFC 3339)."),
			"state":               computed("The AMI's state (`available` for a found image)."),
			"root_device_name":    computed("Device name of the root volume, for example `/dev/sda1`."),
			"virtualization_type": computed("`hvm` or `paravirtual`."),
			"platform_details":    computed("The platform, for example `Linux/UNIX`."),
			"region":              computed("The region the AMI was found in (the provider's)."),
		},
	}
}

func (d *amiDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.AtLeastOneOf(path.MatchRoot("image_id"), path.MatchRoot("name_pattern")),
	}
}

func (d *amiDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m amiDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.conns(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	in := &ec2.DescribeImagesInput{}
	var criteria []string
	if !m.ImageID.IsNull() {
		in.ImageIds = []string{m.ImageID.ValueString()}
		criteria = append(criteria, "id "+m.ImageID.ValueString())
	}
	if !m.NamePattern.IsNull() {
		in.Filters = append(in.Filters, ec2types.Filter{Name: awssdk.String("name"), Values: []string{m.NamePattern.ValueString()}})
		criteria = append(criteria, fmt.Sprintf("name %q", m.NamePattern.ValueString()))
	}
	if !m.Architecture.IsNull() {
		in.Filters = append(in.Filters, ec2types.Filter{Name: awssdk.String("architecture"), Values: []string{m.Architecture.ValueString()}})
		criteria = append(criteria, "architecture "+m.Architecture.ValueString())
	}
	if !m.Owners.IsNull() {
		resp.Diagnostics.Append(m.Owners.ElementsAs(ctx, &in.Owners, false)...)
		criteria = append(criteria, "owners "+strings.Join(in.Owners, ", "))
	}
	what := strings.Join(criteria, ", ")
	op := framework.Op{Verb: "looking up", Kind: amiKind, ID: "(" + what + ")"}
	var images []ec2types.Image
	pages := ec2.NewDescribeImagesPaginator(c.EC2, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isCode(err, "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable") {
			resp.Diagnostics.AddAttributeError(path.Root("image_id"), "AMI Not Available in "+c.Region,
				fmt.Sprintf("The image %s does not exist in %s, the provider's region (or these credentials may not use it). "+
					"AMI IDs are per region: the same image has another ID in each region, and OSWorld's IMAGE_ID_MAP lists one "+
					"per region. Use the ID for %s, look the image up by name_pattern and owners, or copy it into %s "+
					"(aws ec2 copy-image --source-region <region> --source-image-id <id> --region %s --name <name>).",
					m.ImageID.ValueString(), c.Region, c.Region, c.Region, c.Region))
			return
		}
		if err != nil {
			addError(&resp.Diagnostics, op, err)
			return
		}
		images = append(images, page.Images...)
	}
	switch {
	case len(images) == 0:
		resp.Diagnostics.AddError("No Matching AMI in "+c.Region,
			fmt.Sprintf("No image in %s matches %s. AMIs are per region: check the provider's region, the pattern and the "+
				"owners (for example aws ec2 describe-images --region %s --owners <owner> --filters Name=name,Values=<pattern>).",
				c.Region, what, c.Region))
		return
	case len(images) > 1 && !m.MostRecent.ValueBool():
		var names []string
		for _, img := range images {
			names = append(names, fmt.Sprintf("%s (%s)", awssdk.ToString(img.ImageId), awssdk.ToString(img.Name)))
		}
		sort.Strings(names)
		if len(names) > 5 {
			names = append(names[:5], "…")
		}
		resp.Diagnostics.AddError("Several AMIs Match",
			fmt.Sprintf("%d images in %s match %s: %s. Set most_recent = true to take the newest, or narrow the criteria.",
				len(images), c.Region, what, strings.Join(names, ", ")))
		return
	}
	sort.SliceStable(images, func(i, j int) bool {
		return awssdk.ToString(images[i].CreationDate) > awssdk.ToString(images[j].CreationDate)
	})
	img := images[0]
	if img.State != ec2types.ImageStateAvailable {
		resp.Diagnostics.AddError("AMI Not Available",
			fmt.Sprintf("The image %s (%s) in %s is %s, not available: instances cannot launch from it. Use another image, "+
				"or wait until it is available.", awssdk.ToString(img.ImageId), awssdk.ToString(img.Name), c.Region, img.State))
		return
	}
	m.ID = types.StringValue(awssdk.ToString(img.ImageId))
	m.Name = types.StringValue(awssdk.ToString(img.Name))
	m.Description = types.StringValue(awssdk.ToString(img.Description))
	m.OwnerID = types.StringValue(awssdk.ToString(img.OwnerId))
	m.CreationDate = types.StringValue(awssdk.ToString(img.CreationDate))
	m.State = types.StringValue(string(img.State))
	m.RootDeviceName = types.StringValue(awssdk.ToString(img.RootDeviceName))
	m.VirtualizationType = types.StringValue(string(img.VirtualizationType))
	m.PlatformDetails = types.StringValue(awssdk.ToString(img.PlatformDetails))
	m.Region = types.StringValue(c.Region)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
