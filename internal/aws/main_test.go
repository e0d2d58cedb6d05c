package aws_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	sbxaws "github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// The acceptance tests run the real terraform CLI against the provider served in-process. Without
// real AWS credentials, acctest.Main points the provider at the AWS fakes (see package acctest).
func TestMain(m *testing.M) { acctest.Main(m) }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// describeVPC is the VPC as EC2 shows it; nil when it does not exist.
func describeVPC(ctx context.Context, c *sbxaws.Conns, id string) (*ec2types.Vpc, error) {
	out, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if errorCode(err) == "InvalidVpcID.NotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range out.Vpcs {
		if awssdk.ToString(out.Vpcs[i].VpcId) == id {
			return &out.Vpcs[i], nil
		}
	}
	return nil, nil
}

func describeSubnet(ctx context.Context, c *sbxaws.Conns, id string) (*ec2types.Subnet, error) {
	out, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if errorCode(err) == "InvalidSubnetID.NotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range out.Subnets {
		if awssdk.ToString(out.Subnets[i].SubnetId) == id {
			return &out.Subnets[i], nil
		}
	}
	return nil, nil
}

// checkDestroyed is a CheckDestroy: every object of the types in the last state is gone from EC2
// and, against the shared fake, from the fake's own state too.
func checkDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		ctx := testContext(t)
		c := acctest.AWSConns(t)
		fake := acctest.SharedAWSFake()
		for name, rs := range s.RootModule().Resources {
			if strings.HasPrefix(name, "data.") {
				continue // looked up, not created
			}
			id := rs.Primary.ID
			switch rs.Type {
			case "sandbox_aws_vpc":
				v, err := describeVPC(ctx, c, id)
				if err != nil {
					return err
				}
				if v != nil {
					return fmt.Errorf("%s: VPC %s still exists after destroy", name, id)
				}
				if fake != nil && slices.ContainsFunc(fake.VPCs(), func(v awsfake.VPC) bool { return v.ID == id }) {
					return fmt.Errorf("%s: the fake still holds VPC %s", name, id)
				}
			case "sandbox_aws_subnet":
				sub, err := describeSubnet(ctx, c, id)
				if err != nil {
					return err
				}
				if sub != nil {
					return fmt.Errorf("%s: subnet %s still exists after destroy", name, id)
				}
				if fake != nil && slices.ContainsFunc(fake.Subnets(), func(v awsfake.Subnet) bool { return v.ID == id }) {
					return fmt.Errorf("%s: the fake still holds subnet %s", name, id)
				}
			case "sandbox_aws_security_group":
				_, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
				if errorCode(err) != "InvalidGroup.NotFound" {
					return fmt.Errorf("%s: security group %s still exists after destroy (describe: %v)", name, id, err)
				}
				if fake != nil && slices.ContainsFunc(fake.SecurityGroups(), func(g awsfake.SecurityGroup) bool { return g.ID == id }) {
					return fmt.Errorf("%s: the fake still holds security group %s", name, id)
				}
				if fake != nil && slices.ContainsFunc(fake.SecurityGroupRules(), func(r awsfake.SecurityGroupRule) bool { return r.GroupID == id }) {
					return fmt.Errorf("%s: the fake still holds rules of security group %s", name, id)
				}
			}
		}
		return nil
	}
}

// checkNoLeftovers is a CheckDestroy for a test's own fake: nothing created through the API remains.
func checkNoLeftovers(f *acctest.FakeAWS) func(*terraform.State) error {
	return func(*terraform.State) error {
		if left := f.Leftovers(); len(left) > 0 {
			return fmt.Errorf("the fake still holds %v after destroy", left)
		}
		return nil
	}
}

// idOf reads a resource's ID from the state, for out-of-band changes in a Check.
func idOf(s *terraform.State, addr string) (string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok || rs.Primary == nil || rs.Primary.ID == "" {
		return "", fmt.Errorf("%s is not in the state", addr)
	}
	return rs.Primary.ID, nil
}
