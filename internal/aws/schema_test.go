package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

func TestResourceSchemas(t *testing.T) {
	ctx := context.Background()
	for _, newR := range []func() resource.Resource{NewVPCResource, NewSubnetResource, NewSecurityGroupResource, NewRoute53RecordResource} {
		r := newR()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "sandbox"}, &meta)
		if !strings.HasPrefix(meta.TypeName, "sandbox_aws_") {
			t.Errorf("type name %q", meta.TypeName)
		}
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, diags)
		}
		if resp.Schema.MarkdownDescription == "" {
			t.Errorf("%s has no description", meta.TypeName)
		}
		for name, a := range resp.Schema.Attributes {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s.%s has no description", meta.TypeName, name)
			}
		}
		if _, ok := resp.Schema.Blocks["timeouts"]; !ok {
			t.Errorf("%s waits but has no timeouts block", meta.TypeName)
		}
	}
}

func TestDataSourceSchema(t *testing.T) {
	ctx := context.Background()
	for _, newD := range dataSources {
		d := newD()
		var meta datasource.MetadataResponse
		d.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "sandbox"}, &meta)
		var resp datasource.SchemaResponse
		d.Schema(ctx, datasource.SchemaRequest{}, &resp)
		if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, diags)
		}
		for name, a := range resp.Schema.Attributes {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s.%s has no description", meta.TypeName, name)
			}
		}
	}
}

var dataSources = []func() datasource.DataSource{NewVPCDataSource, NewAMIDataSource, NewRoute53ZoneDataSource}

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e",
	} {
		if got := partitionOf(region); got != want {
			t.Errorf("partitionOf(%s) = %s, want %s", region, got, want)
		}
	}
	c := &Conns{Region: "cn-north-1", Partition: "aws-cn"}
	if got := c.arn("ec2", "123456789012", "vpc/vpc-1"); got != "arn:aws-cn:ec2:cn-north-1:123456789012:vpc/vpc-1" {
		t.Errorf("arn = %s", got)
	}
}

// apiErr is an AWS API error as the SDK returns it: an operation error around a coded error.
func apiErr(op, code string) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: op,
		Err: &smithy.GenericAPIError{Code: code, Message: "message from AWS"}}
}

func TestAdvise(t *testing.T) {
	op := framework.Op{Verb: "creating", Kind: "AWS VPC", ID: "10.0.0.0/16"}
	for _, tc := range []struct {
		err             error
		summary, detail string
	}{
		{apiErr("CreateVpc", "AuthFailure"), "AWS Rejected the Credentials", "AWS_ACCESS_KEY_ID"},
		{apiErr("CreateVpc", "UnauthorizedOperation"), "AWS Permission Denied", "Allow ec2:CreateVpc"},
		{apiErr("CreateVpc", "RequestLimitExceeded"), "AWS Throttled the Requests", "after 25 attempts"},
		{&ConfigError{Summary: "Missing AWS Region", Detail: "No AWS region is configured"}, "Missing AWS Region", "No AWS region is configured."},
		{apiErr("CreateVpc", "VpcLimitExceeded"), "Error creating AWS VPC", "While creating AWS VPC 10.0.0.0/16: operation error EC2: CreateVpc"},
	} {
		var d diag.Diagnostics
		addError(&d, op, tc.err)
		if len(d) != 1 || d[0].Summary() != tc.summary || !strings.Contains(d[0].Detail(), tc.detail) {
			t.Errorf("%v: got %q / %q, want %q containing %q", tc.err, d[0].Summary(), d[0].Detail(), tc.summary, tc.detail)
		}
	}
	if isCode(errors.New("DependencyViolation"), errCodeDependencyViolation) {
		t.Error("a plain error matched a code")
	}
}

func TestSubnetCIDRAdvisorNamesBothSides(t *testing.T) {
	plan := subnetModel{VPCID: types.StringValue("vpc-1"), CIDRBlock: types.StringValue("10.9.0.0/24")}
	var d diag.Diagnostics
	addError(&d, framework.Op{Verb: "creating", Kind: subnetKind}, apiErr("CreateSubnet", errCodeInvalidSubnetRange), subnetCIDRAdvisor(plan))
	withPath, ok := d[0].(diag.DiagnosticWithPath)
	if !ok || !withPath.Path().Equal(path.Root("cidr_block")) || !strings.Contains(d[0].Detail(), "10.9.0.0/24 is not inside the CIDR block of VPC vpc-1") {
		t.Errorf("got %#v", d[0])
	}
}

func TestCIDRValidator(t *testing.T) {
	v := cidrValidator{minPrefix: 16, maxPrefix: 28}
	check := func(s string) diag.Diagnostics {
		var resp validator.StringResponse
		v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("cidr_block"), ConfigValue: types.StringValue(s)}, &resp)
		return resp.Diagnostics
	}
	for _, ok := range []string{"10.0.0.0/16", "10.0.1.0/24", "192.168.0.16/28"} {
		if d := check(ok); d.HasError() {
			t.Errorf("%s: %v", ok, d)
		}
	}
	for _, bad := range []string{"10.0.0.1/16", "10.0.0.0/8", "10.0.0.0/29", "fd00::/64", "10.0.0.0", "nope"} {
		if d := check(bad); !d.HasError() {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestTags(t *testing.T) {
	tags := ec2Tags(map[string]string{"b": "2", "a": "1"})
	if len(tags) != 2 || *tags[0].Key != "a" || *tags[1].Value != "2" {
		t.Errorf("ec2Tags not sorted by key: %v", tags)
	}
	if v := tagsValue(nil, types.MapNull(types.StringType)); !v.IsNull() {
		t.Error("no tags and no prior tags should stay null")
	}
	empty, _ := types.MapValue(types.StringType, nil)
	if v := tagsValue(nil, empty); v.IsNull() || len(v.Elements()) != 0 {
		t.Error("no tags with an empty prior map should stay an empty map")
	}
	var resp validator.StringResponse
	notReservedTagKey{}.ValidateString(context.Background(), validator.StringRequest{ConfigValue: types.StringValue("AWS:cloudformation")}, &resp)
	if !resp.Diagnostics.HasError() {
		t.Error("an aws: key was accepted")
	}
}

func TestVPCCIDRsAndExampleSubnet(t *testing.T) {
	if got := exampleSubnet([]string{"10.20.0.0/16"}); got != "10.20.0.0/24" {
		t.Errorf("exampleSubnet = %s", got)
	}
	if got := exampleSubnet([]string{"10.20.0.0/26"}); got != "10.20.0.0/26" {
		t.Errorf("exampleSubnet of a small VPC = %s", got)
	}
}

func TestUserAgent(t *testing.T) {
	if userAgent("terraform-provider-sandbox/0.0.1 (+https://registry.terraform.io/sandboxstack/sandbox)") == nil {
		t.Error("no user agent middleware for a product/version string")
	}
	if userAgent("") != nil {
		t.Error("a middleware for an empty user agent")
	}
}
