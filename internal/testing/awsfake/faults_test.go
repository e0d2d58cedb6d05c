package awsfake_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

func TestEventualConsistency(t *testing.T) {
	_, c := start(t, awsfake.Options{Faults: awsfake.Faults{NotFoundReads: 2}})
	id := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})).must(t).Vpc.VpcId)
	for i := range 2 {
		_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
		if errorCode(err) != "InvalidVpcID.NotFound" {
			t.Fatalf("read %d of a new VPC: %v, want InvalidVpcID.NotFound", i+1, err)
		}
	}
	ok(c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})).must(t)

	// Filtered describes leave a hidden resource out instead of failing.
	sg := aws.ToString(ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &id, GroupName: aws.String("g"), Description: aws.String("g")})).must(t).GroupId)
	filter := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{sg}}}}
	counts := []int{}
	for range 3 {
		counts = append(counts, len(ok(c.ec2.DescribeSecurityGroups(ctx, filter)).must(t).SecurityGroups))
	}
	if counts[0] != 0 || counts[1] != 0 || counts[2] != 1 {
		t.Fatalf("filtered reads saw %v groups, want [0 0 1]", counts)
	}
}

func TestThrottling(t *testing.T) {
	s, c := start(t, awsfake.Options{})

	s.SetFaults(awsfake.Faults{ThrottleEvery: 3})
	var codes []string
	for range 6 {
		_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		codes = append(codes, errorCode(err))
	}
	if want := []string{"", "", "RequestLimitExceeded", "", "", "RequestLimitExceeded"}; !equal(codes, want) {
		t.Fatalf("codes = %q, want %q", codes, want)
	}
	s.SetFaults(awsfake.Faults{})

	s.ThrottleNext("GetCallerIdentity", 1)
	_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "Throttling")
	ok(c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)

	s.ThrottleNext("ListHostedZones", 1)
	_, err = c.route53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	wantCode(t, err, "PriorRequestNotComplete")
	s.SetFaults(awsfake.Faults{Route53ThrottleCode: "Throttling"})
	s.ThrottleNext("ListHostedZones", 1)
	_, err = c.route53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	wantCode(t, err, "Throttling")

	// The SDK's standard retryer treats the codes as throttling and gets through (no backoff in tests).
	id, secret := s.Credentials()
	cfg := clientConfig(s, id, secret)
	cfg.RetryMaxAttempts = 0
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}
	retrying := newClients(s, cfg)
	s.ThrottleNext("DescribeVpcs", 2)
	ok(retrying.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})).must(t)
	s.ThrottleNext("ListHostedZones", 2)
	ok(retrying.route53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})).must(t)

	// The journal shows what the client met: 2 + 1 + 2 EC2 throttles, and the retries that got through.
	if n := s.ErrorCount("RequestLimitExceeded"); n != 4 {
		t.Fatalf("RequestLimitExceeded answered %d times, want 4", n)
	}
	calls := s.Calls()
	last := calls[len(calls)-3:]
	want := []awsfake.Call{{"route53", "ListHostedZones", "Throttling"}, {"route53", "ListHostedZones", "Throttling"}, {"route53", "ListHostedZones", ""}}
	if !slices.Equal(last, want) {
		t.Fatalf("last calls = %+v, want %+v", last, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDependencyViolations(t *testing.T) {
	s, c := start(t, awsfake.Options{Faults: awsfake.Faults{DependencyViolationOnFirstDelete: true}})
	vpc := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.4.0.0/16")})).must(t).Vpc.VpcId)
	sub := aws.ToString(ok(c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: aws.String("10.4.0.0/20")})).must(t).Subnet.SubnetId)
	sg := aws.ToString(ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpc, GroupName: aws.String("g"), Description: aws.String("g")})).must(t).GroupId)

	// First attempt of each delete fails once, like a lingering ENI; the retry succeeds.
	_, err := c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &sub})
	wantCode(t, err, "DependencyViolation")
	ok(c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &sub})).must(t)

	// A pinned resource stays undeletable until unpinned.
	s.Pin(sg)
	for range 2 {
		_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &sg})
		wantCode(t, err, "DependencyViolation")
	}
	s.Unpin(sg)
	ok(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &sg})).must(t)

	_, err = c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &vpc})
	wantCode(t, err, "DependencyViolation")
	ok(c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &vpc})).must(t)
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("leftovers %v", left)
	}
}

func TestDriftOutOfBand(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	vpc := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.5.0.0/16")})).must(t).Vpc.VpcId)
	ok(c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: aws.String("10.5.0.0/24")})).must(t)
	if err := s.DeleteOutOfBand(vpc); err != nil {
		t.Fatal(err)
	}
	_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("out-of-band delete left %v", left)
	}
	if err := s.DeleteOutOfBand("vpc-0000000000000000b"); err == nil {
		t.Fatal("deleting an unknown ID out of band succeeded")
	}
}

// TestLingeringNetworkInterface is the cleanup terraform-provider-aws does before deleting a subnet or a
// security group: find the interfaces that pin it, detach, delete, then delete the subnet and group.
func TestLingeringNetworkInterface(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	vpc := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16")})).must(t).Vpc.VpcId)
	sub := aws.ToString(ok(c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: aws.String("10.8.1.0/24")})).must(t).Subnet.SubnetId)
	sg := aws.ToString(ok(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpc, GroupName: aws.String("fn"), Description: aws.String("fn")})).must(t).GroupId)
	eni, err := s.AddNetworkInterface(sub, []string{sg}, "AWS Lambda VPC ENI-fn", true)
	if err != nil {
		t.Fatal(err)
	}
	if eni.PrivateIP != "10.8.1.4" || eni.Status != "in-use" {
		t.Fatalf("interface = %+v", eni)
	}

	_, err = c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &sub})
	wantCode(t, err, "DependencyViolation")
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &sg})
	wantCode(t, err, "DependencyViolation")

	found := ok(c.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("group-id"), Values: []string{sg}}, {Name: aws.String("description"), Values: []string{"AWS Lambda VPC ENI*"}},
	}})).must(t).NetworkInterfaces
	if len(found) != 1 || aws.ToString(found[0].NetworkInterfaceId) != eni.ID || found[0].Attachment == nil ||
		aws.ToString(found[0].Groups[0].GroupName) != "fn" || aws.ToString(found[0].AvailabilityZone) != "us-east-1a" {
		t.Fatalf("described = %+v", found)
	}
	_, err = c.ec2.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: &eni.ID})
	wantCode(t, err, "InvalidNetworkInterface.InUse")
	ok(c.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: found[0].Attachment.AttachmentId, Force: aws.Bool(true)})).must(t)
	ok(c.ec2.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: &eni.ID})).must(t)
	_, err = c.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni.ID}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")

	ok(c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &sub})).must(t)
	ok(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &sg})).must(t)
	ok(c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &vpc})).must(t)
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("leftovers %v", left)
	}
}
