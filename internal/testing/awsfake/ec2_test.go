package awsfake_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

func TestCallerIdentity(t *testing.T) {
	s, c := start(t, awsfake.Options{AccountID: "111122223333"})
	out := ok(c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	if aws.ToString(out.Account) != "111122223333" || !strings.HasPrefix(aws.ToString(out.Arn), "arn:aws:iam::111122223333:user/") ||
		!strings.HasPrefix(aws.ToString(out.UserId), "AIDA") {
		t.Fatalf("identity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
	if s.AccountID() != "111122223333" {
		t.Fatalf("AccountID() = %s", s.AccountID())
	}
}

func TestSignatureChecks(t *testing.T) {
	s, _ := start(t, awsfake.Options{})
	id, _ := s.Credentials()
	for _, tc := range []struct {
		name, keyID, secret, ec2Code, stsCode, r53Code string
	}{
		{"wrong secret", id, "not-the-secret", "AuthFailure", "SignatureDoesNotMatch", "SignatureDoesNotMatch"},
		{"unknown key", "AKIAUNKNOWNUNKNOWN00", "whatever", "AuthFailure", "InvalidClientTokenId", "InvalidClientTokenId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClients(s, clientConfig(s, tc.keyID, tc.secret))
			_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			wantCode(t, err, tc.ec2Code)
			_, err = c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			wantCode(t, err, tc.stsCode)
			_, err = c.route53.ListHostedZones(ctx, nil)
			wantCode(t, err, tc.r53Code)
		})
	}
}

func TestDefaultAccount(t *testing.T) {
	s, c := start(t, awsfake.Options{Region: "eu-central-1"})
	vpcs := ok(c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
		Filters: []types.Filter{{Name: aws.String("isDefault"), Values: []string{"true"}}},
	})).must(t).Vpcs
	if len(vpcs) != 1 || aws.ToString(vpcs[0].CidrBlock) != "172.31.0.0/16" || !aws.ToBool(vpcs[0].IsDefault) {
		t.Fatalf("default VPC = %+v", vpcs)
	}
	vpcID := aws.ToString(vpcs[0].VpcId)
	subnets := ok(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("default-for-az"), Values: []string{"true"}}},
	})).must(t).Subnets
	var zones []string
	for _, sub := range subnets {
		zones = append(zones, aws.ToString(sub.AvailabilityZone))
	}
	if !slices.Equal(zones, []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"}) {
		t.Fatalf("default subnets in %v", zones)
	}
	groups := ok(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})).must(t).SecurityGroups
	if len(groups) != 1 || aws.ToString(groups[0].VpcId) != vpcID || len(groups[0].IpPermissionsEgress) != 1 ||
		len(groups[0].IpPermissions) != 1 || aws.ToString(groups[0].IpPermissions[0].UserIdGroupPairs[0].GroupId) != aws.ToString(groups[0].GroupId) {
		t.Fatalf("default group = %+v", groups)
	}
	azs := ok(c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})).must(t).AvailabilityZones
	if len(azs) != 3 || aws.ToString(azs[0].ZoneId) != "euc1-az1" || aws.ToString(azs[0].RegionName) != "eu-central-1" {
		t.Fatalf("zones = %+v", azs)
	}
	attrs := ok(c.ec2.DescribeAccountAttributes(ctx, &ec2.DescribeAccountAttributesInput{
		AttributeNames: []types.AccountAttributeName{types.AccountAttributeNameDefaultVpc},
	})).must(t).AccountAttributes
	if len(attrs) != 1 || aws.ToString(attrs[0].AttributeValues[0].AttributeValue) != vpcID {
		t.Fatalf("account attributes = %+v", attrs)
	}
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("a fresh account has leftovers: %v", left)
	}
}

func tagSpec(rt types.ResourceType, kv ...string) []types.TagSpecification {
	spec := types.TagSpecification{ResourceType: rt}
	for i := 0; i+1 < len(kv); i += 2 {
		spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return []types.TagSpecification{spec}
}

func TestVPCLifecycle(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	_, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/8")})
	wantCode(t, err, "InvalidVpc.Range")
	vpc := ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock: aws.String("10.20.0.0/16"), TagSpecifications: tagSpec(types.ResourceTypeVpc, "Name", "sbx", "team", "infra"),
	})).must(t).Vpc
	id := aws.ToString(vpc.VpcId)
	if !strings.HasPrefix(id, "vpc-") || vpc.State != types.VpcStateAvailable || len(vpc.Tags) != 2 {
		t.Fatalf("created %+v", vpc)
	}
	for _, f := range []types.Filter{
		{Name: aws.String("tag:Name"), Values: []string{"sb*"}},
		{Name: aws.String("tag-key"), Values: []string{"team"}},
		{Name: aws.String("cidr"), Values: []string{"10.20.0.0/16"}},
		{Name: aws.String("vpc-id"), Values: []string{id}},
	} {
		got := ok(c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{f}})).must(t).Vpcs
		if len(got) != 1 || aws.ToString(got[0].VpcId) != id {
			t.Fatalf("filter %s=%v found %d VPCs", aws.ToString(f.Name), f.Values, len(got))
		}
	}
	_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")

	// DNS attributes: support on, hostnames off by default; one attribute per call.
	attr := func(a types.VpcAttributeName) *ec2.DescribeVpcAttributeOutput {
		return ok(c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &id, Attribute: a})).must(t)
	}
	if !aws.ToBool(attr(types.VpcAttributeNameEnableDnsSupport).EnableDnsSupport.Value) ||
		aws.ToBool(attr(types.VpcAttributeNameEnableDnsHostnames).EnableDnsHostnames.Value) {
		t.Fatal("wrong default DNS attributes")
	}
	ok(c.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: &id, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}})).must(t)
	if !aws.ToBool(attr(types.VpcAttributeNameEnableDnsHostnames).EnableDnsHostnames.Value) {
		t.Fatal("enableDnsHostnames not modified")
	}

	// Tags: create, delete one, describe.
	ok(c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}})).must(t)
	ok(c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("team")}}})).must(t)
	tags := ok(c.ec2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})).must(t).Tags
	var keys []string
	for _, tg := range tags {
		keys = append(keys, aws.ToString(tg.Key))
		if tg.ResourceType != types.ResourceTypeVpc {
			t.Fatalf("resource type %q", tg.ResourceType)
		}
	}
	if !slices.Equal(keys, []string{"Name", "env"}) {
		t.Fatalf("tags = %v", keys)
	}
	_, err = c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-0000000000000000a"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantCode(t, err, "InvalidVpcID.NotFound")

	// A subnet and a group keep the VPC alive; the default group does not.
	sub := ok(c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &id, CidrBlock: aws.String("10.20.1.0/24")})).must(t).Subnet
	sg := ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &id, GroupName: aws.String("web"), Description: aws.String("web")})).must(t)
	_, err = c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &id})
	wantCode(t, err, "DependencyViolation")
	ok(c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sub.SubnetId})).must(t)
	_, err = c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &id})
	wantCode(t, err, "DependencyViolation")
	if left := s.Leftovers(); len(left) != 2 {
		t.Fatalf("leftovers = %v", left)
	}
	ok(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})).must(t)
	ok(c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &id})).must(t)
	_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	_, err = c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &id})
	wantCode(t, err, "InvalidVpcID.NotFound")
	_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"not-a-vpc"}})
	wantCode(t, err, "InvalidVpcID.Malformed")
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("destroy left %v", left)
	}
	if n := len(s.SecurityGroups()); n != 1 {
		t.Fatalf("%d groups remain, want only the default VPC's", n)
	}
}

func TestSubnets(t *testing.T) {
	s, c := start(t, awsfake.Options{Faults: awsfake.Faults{SubnetPendingReads: 2}})
	vpcID := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})).must(t).Vpc.VpcId)
	_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String("10.2.0.0/24")})
	wantCode(t, err, "InvalidSubnet.Range")
	_, err = c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String("10.1.0.0/24"), AvailabilityZone: aws.String("us-east-1z")})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String("vpc-0123456789abcdef0"), CidrBlock: aws.String("10.1.0.0/24")})
	wantCode(t, err, "InvalidVpcID.NotFound")
	sub := ok(c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: &vpcID, CidrBlock: aws.String("10.1.0.0/24"), AvailabilityZone: aws.String("us-east-1b"),
		TagSpecifications: tagSpec(types.ResourceTypeSubnet, "Name", "a"),
	})).must(t).Subnet
	_, err = c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String("10.1.0.128/25")})
	wantCode(t, err, "InvalidSubnet.Conflict")
	if sub.State != types.SubnetStatePending || aws.ToString(sub.AvailabilityZoneId) != "use1-az2" || aws.ToInt32(sub.AvailableIpAddressCount) != 251 {
		t.Fatalf("created %+v", sub)
	}
	id := aws.ToString(sub.SubnetId)
	states := []types.SubnetState{}
	for range 3 {
		got := ok(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})).must(t).Subnets
		states = append(states, got[0].State)
	}
	if !slices.Equal(states, []types.SubnetState{"pending", "pending", "available"}) {
		t.Fatalf("states over reads = %v", states)
	}
	ok(c.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: &id, MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}})).must(t)
	got := ok(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("tag:Name"), Values: []string{"a"}}}})).must(t).Subnets
	if len(got) != 1 || !aws.ToBool(got[0].MapPublicIpOnLaunch) {
		t.Fatalf("after modify: %+v", got)
	}
	if subs := s.Subnets(); !subs[len(subs)-1].MapPublicIPOnLaunch {
		t.Fatal("inspection does not show MapPublicIpOnLaunch")
	}
	// The SDK's waiter works against the fake.
	w := ec2.NewSubnetAvailableWaiter(c.ec2, func(o *ec2.SubnetAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = 1, 1 })
	if err := w.Wait(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}}, 1e9); err != nil {
		t.Fatal(err)
	}
	// Pagination.
	var pages, total int
	p := ec2.NewDescribeSubnetsPaginator(c.ec2, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		pages++
		total += len(ok(p.NextPage(ctx)).must(t).Subnets)
	}
	if total != 4 || pages != 1 {
		t.Fatalf("paginated %d subnets in %d pages", total, pages)
	}
	ok(c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &id})).must(t)
	_, err = c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &id})
	wantCode(t, err, "InvalidSubnetID.NotFound")
}
