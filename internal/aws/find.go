package aws

import (
	"context"
	"fmt"
	"regexp"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// vpcIDPattern is what a VPC ID looks like.
var vpcIDPattern = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)

// Finders return the object or a retry.NotFoundError, so that waiters and Read can tell "gone"
// from a failure.

// findVPCs lists the VPCs matching input (all pages).
func findVPCs(ctx context.Context, conn *ec2.Client, input *ec2.DescribeVpcsInput) ([]ec2types.Vpc, error) {
	var out []ec2types.Vpc
	pages := ec2.NewDescribeVpcsPaginator(conn, input)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isCode(err, errCodeInvalidVPCIDNotFound) {
			return nil, retry.NotFound(err)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, page.Vpcs...)
	}
	return out, nil
}

func findVPCByID(ctx context.Context, conn *ec2.Client, id string) (*ec2types.Vpc, error) {
	vpcs, err := findVPCs(ctx, conn, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil {
		return nil, err
	}
	for i := range vpcs {
		if awssdk.ToString(vpcs[i].VpcId) == id {
			return &vpcs[i], nil
		}
	}
	return nil, retry.NotFoundf("VPC %s not found", id)
}

// findVPCAttribute reads one of the VPC's boolean attributes (DNS support or hostnames).
func findVPCAttribute(ctx context.Context, conn *ec2.Client, id string, name ec2types.VpcAttributeName) (bool, error) {
	out, err := conn.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &id, Attribute: name})
	if isCode(err, errCodeInvalidVPCIDNotFound) {
		return false, retry.NotFound(err)
	}
	if err != nil {
		return false, err
	}
	var v *ec2types.AttributeBooleanValue
	switch name {
	case ec2types.VpcAttributeNameEnableDnsSupport:
		v = out.EnableDnsSupport
	case ec2types.VpcAttributeNameEnableDnsHostnames:
		v = out.EnableDnsHostnames
	default:
		return false, fmt.Errorf("unsupported VPC attribute %s", name)
	}
	if v == nil {
		return false, fmt.Errorf("DescribeVpcAttribute answered without %s", name)
	}
	return awssdk.ToBool(v.Value), nil
}

// findDefaultSecurityGroupID is the ID of the VPC's "default" security group.
func findDefaultSecurityGroupID(ctx context.Context, conn *ec2.Client, vpcID string) (string, error) {
	out, err := conn.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("vpc-id"), Values: []string{vpcID}},
		{Name: awssdk.String("group-name"), Values: []string{"default"}},
	}})
	if err != nil {
		return "", err
	}
	for _, g := range out.SecurityGroups {
		if awssdk.ToString(g.VpcId) == vpcID && awssdk.ToString(g.GroupName) == "default" {
			return awssdk.ToString(g.GroupId), nil
		}
	}
	return "", retry.NotFoundf("default security group of VPC %s not found", vpcID)
}

// findSubnets lists the subnets matching input (all pages).
func findSubnets(ctx context.Context, conn *ec2.Client, input *ec2.DescribeSubnetsInput) ([]ec2types.Subnet, error) {
	var out []ec2types.Subnet
	pages := ec2.NewDescribeSubnetsPaginator(conn, input)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isCode(err, errCodeInvalidSubnetNotFound) {
			return nil, retry.NotFound(err)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, page.Subnets...)
	}
	return out, nil
}

func findSubnetByID(ctx context.Context, conn *ec2.Client, id string) (*ec2types.Subnet, error) {
	subnets, err := findSubnets(ctx, conn, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if err != nil {
		return nil, err
	}
	for i := range subnets {
		if awssdk.ToString(subnets[i].SubnetId) == id {
			return &subnets[i], nil
		}
	}
	return nil, retry.NotFoundf("subnet %s not found", id)
}

// vpcCIDRs are the IPv4 CIDR blocks associated with a VPC (the primary one and any secondary).
func vpcCIDRs(v *ec2types.Vpc) []string {
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	add(awssdk.ToString(v.CidrBlock))
	for _, a := range v.CidrBlockAssociationSet {
		if a.CidrBlockState == nil || a.CidrBlockState.State == ec2types.VpcCidrBlockStateCodeAssociated {
			add(awssdk.ToString(a.CidrBlock))
		}
	}
	return out
}
