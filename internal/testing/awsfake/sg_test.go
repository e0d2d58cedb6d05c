package awsfake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

func tcp(port int32, cidrs ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
	}
	return p
}

func groupRules(t *testing.T, c clients, groupID string) []types.SecurityGroupRule {
	t.Helper()
	return ok(c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}},
	})).must(t).SecurityGroupRules
}

func TestSecurityGroupRules(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	vpcID := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.3.0.0/16")})).must(t).Vpc.VpcId)
	_, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpcID, GroupName: aws.String("default"), Description: aws.String("x")})
	wantCode(t, err, "InvalidGroup.Reserved")
	sg := ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: &vpcID, GroupName: aws.String("sandbox"), Description: aws.String("sandbox hosts"),
		TagSpecifications: tagSpec(types.ResourceTypeSecurityGroup, "Name", "sandbox"),
	})).must(t)
	groupID := aws.ToString(sg.GroupId)
	_, err = c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpcID, GroupName: aws.String("sandbox"), Description: aws.String("x")})
	wantCode(t, err, "InvalidGroup.Duplicate")

	// A new group allows all egress, as in AWS.
	rules := groupRules(t, c, groupID)
	if len(rules) != 1 || !aws.ToBool(rules[0].IsEgress) || aws.ToString(rules[0].IpProtocol) != "-1" || aws.ToString(rules[0].CidrIpv4) != "0.0.0.0/0" {
		t.Fatalf("initial rules = %+v", rules)
	}
	// Revoke it by permission, the way terraform-provider-aws does after create.
	ok(c.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
	}})).must(t)
	_, err = c.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
	}})
	wantCode(t, err, "InvalidPermission.NotFound")

	// One rule per source; the IDs come back in the response.
	auth := ok(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: &groupID, IpPermissions: []types.IpPermission{tcp(443, "10.0.0.0/8", "192.168.0.0/16")},
		TagSpecifications: tagSpec(types.ResourceTypeSecurityGroupRule, "Name", "https"),
	})).must(t)
	if !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 2 || aws.ToInt32(auth.SecurityGroupRules[0].FromPort) != 443 {
		t.Fatalf("authorize = %+v", auth)
	}
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: &groupID, IpPermissions: []types.IpPermission{tcp(443, "10.0.0.0/8")},
	})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: &groupID, IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
	})
	wantCode(t, err, "InvalidParameterValue")

	// A rule referencing another group pins that group.
	other := aws.ToString(ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpcID, GroupName: aws.String("lb"), Description: aws.String("lb")})).must(t).GroupId)
	ref := ok(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: &groupID, IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080),
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: &other, Description: aws.String("from lb")}}}},
	})).must(t)
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &other})
	wantCode(t, err, "DependencyViolation")
	referencing := ok(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("ip-permission.group-id"), Values: []string{other}},
	}})).must(t).SecurityGroups
	if len(referencing) != 1 || aws.ToString(referencing[0].GroupId) != groupID {
		t.Fatalf("groups referencing %s: %+v", other, referencing)
	}

	// DescribeSecurityGroups groups the one-source rules back into permissions.
	got := ok(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{groupID}})).must(t).SecurityGroups[0]
	if len(got.IpPermissions) != 2 || len(got.IpPermissions[0].IpRanges) != 2 || len(got.IpPermissionsEgress) != 0 ||
		aws.ToString(got.IpPermissions[1].UserIdGroupPairs[0].GroupId) != other || aws.ToString(got.Tags[0].Value) != "sandbox" {
		t.Fatalf("group = %+v", got)
	}
	byName := ok(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{"sandbox"}}, {Name: aws.String("vpc-id"), Values: []string{vpcID}},
	}})).must(t).SecurityGroups
	if len(byName) != 1 || aws.ToString(byName[0].GroupId) != groupID {
		t.Fatalf("by name = %+v", byName)
	}

	// Rules by ID; revoke by ID; a revoked or foreign ID is NotFound.
	ruleID := aws.ToString(ref.SecurityGroupRules[0].SecurityGroupRuleId)
	one := ok(c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{ruleID}})).must(t).SecurityGroupRules
	if len(one) != 1 || aws.ToString(one[0].ReferencedGroupInfo.GroupId) != other || aws.ToString(one[0].Description) != "from lb" {
		t.Fatalf("rule = %+v", one)
	}
	_, err = c.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: &groupID, SecurityGroupRuleIds: []string{ruleID}})
	wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound")
	ok(c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &groupID, SecurityGroupRuleIds: []string{ruleID}})).must(t)
	_, err = c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &groupID, SecurityGroupRuleIds: []string{ruleID}})
	wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound")
	_, err = c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{ruleID}})
	wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound")
	if n := len(groupRules(t, c, groupID)); n != 2 {
		t.Fatalf("%d rules left, want 2", n)
	}

	// Egress by permission, then delete everything.
	ok(c.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}},
	}})).must(t)
	defaultGroup := ok(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{"default"}}, {Name: aws.String("vpc-id"), Values: []string{vpcID}},
	}})).must(t).SecurityGroups[0]
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: defaultGroup.GroupId})
	wantCode(t, err, "CannotDelete")
	ok(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &other})).must(t)
	ok(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &groupID})).must(t)
	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{groupID}})
	wantCode(t, err, "InvalidGroup.NotFound")
	for _, r := range s.SecurityGroupRules() {
		if r.GroupID == groupID || r.GroupID == other {
			t.Fatalf("rule %s of a deleted group survived", r.ID)
		}
	}
}

func TestModifySecurityGroupRules(t *testing.T) {
	_, c := start(t, awsfake.Options{})
	vpcID := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.7.0.0/16")})).must(t).Vpc.VpcId)
	groupID := aws.ToString(ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpcID, GroupName: aws.String("g"), Description: aws.String("g")})).must(t).GroupId)
	rules := ok(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: &groupID, IpPermissions: []types.IpPermission{tcp(22, "10.0.0.0/8"), tcp(80, "10.0.0.0/8")},
	})).must(t).SecurityGroupRules
	ssh, http := rules[0].SecurityGroupRuleId, rules[1].SecurityGroupRuleId

	ok(c.ec2.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: &groupID, SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: ssh,
		SecurityGroupRule: &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(2222), ToPort: aws.Int32(2222),
			CidrIpv4: aws.String("192.168.0.0/16"), Description: aws.String("ssh")},
	}}})).must(t)
	got := ok(c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{*ssh}})).must(t).SecurityGroupRules[0]
	if aws.ToInt32(got.FromPort) != 2222 || aws.ToString(got.CidrIpv4) != "192.168.0.0/16" || aws.ToString(got.Description) != "ssh" || aws.ToBool(got.IsEgress) {
		t.Fatalf("modified rule = %+v", got)
	}
	_, err := c.ec2.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: &groupID, SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: http,
		SecurityGroupRule:   &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(2222), ToPort: aws.Int32(2222), CidrIpv4: aws.String("192.168.0.0/16")},
	}}})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.ec2.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: &groupID, SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: aws.String("sgr-00000000000000000"),
		SecurityGroupRule:   &types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), CidrIpv4: aws.String("0.0.0.0/0")},
	}}})
	wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound")
}
