package aws_test

import (
	"fmt"
	"regexp"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
)

// TestAccVPCDataSource finds a VPC by ID and by tags, and compares what it reads with the managed
// resource's attributes.
func TestAccVPCDataSource(t *testing.T) {
	name := acctest.RandomName()
	config := fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block           = "10.130.0.0/16"
  enable_dns_hostnames = true
  tags = {
    Name = %q
    role = "lookup"
  }
}

data "sandbox_aws_vpc" "by_id" {
  id = sandbox_aws_vpc.test.id
}

data "sandbox_aws_vpc" "by_tags" {
  tags = {
    Name = %q
  }
  depends_on = [sandbox_aws_vpc.test]
}
`, name, name)
	same := func(ds, attr string) statecheck.StateCheck {
		return statecheck.CompareValuePairs(ds, tfjsonpath.New(attr), vpcAddr, tfjsonpath.New(attr), compare.ValuesSame())
	}
	var checks []statecheck.StateCheck
	for _, ds := range []string{"data.sandbox_aws_vpc.by_id", "data.sandbox_aws_vpc.by_tags"} {
		for _, attr := range []string{"id", "arn", "cidr_block", "enable_dns_support", "enable_dns_hostnames", "default", "default_security_group_id", "owner_id"} {
			checks = append(checks, same(ds, attr))
		}
		checks = append(checks,
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("state"), knownvalue.StringExact("available")),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("cidr_blocks"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("10.130.0.0/16")})),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
				"Name": knownvalue.StringExact(name), "role": knownvalue.StringExact("lookup"),
			})),
		)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps:                    []resource.TestStep{{Config: config, ConfigStateChecks: checks}},
	})
}

// TestAccVPCDataSource_default finds the region's default VPC. Against real AWS it needs one in
// the region (most accounts have it).
func TestAccVPCDataSource_default(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheckAWS(t)
			out, err := acctest.AWSConns(t).EC2.DescribeVpcs(testContext(t), &ec2.DescribeVpcsInput{
				Filters: []ec2types.Filter{{Name: awssdk.String("is-default"), Values: []string{"true"}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Vpcs) == 0 {
				t.Fatal("the region has no default VPC; create one (aws ec2 create-default-vpc) or pick another AWS_REGION")
			}
		},
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: `data "sandbox_aws_vpc" "default" {
  default = true
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.sandbox_aws_vpc.default", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^vpc-`))),
				statecheck.ExpectKnownValue("data.sandbox_aws_vpc.default", tfjsonpath.New("default"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("data.sandbox_aws_vpc.default", tfjsonpath.New("enable_dns_hostnames"), knownvalue.Bool(true)),
			},
		}},
	})
}

// TestAccVPCDataSource_noMatch says which criteria matched nothing.
func TestAccVPCDataSource_noMatch(t *testing.T) {
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`data "sandbox_aws_vpc" "none" {
  tags = {
    Name = %q
  }
}`, name),
			ExpectError: regexp.MustCompile(`(?s)No Matching AWS VPC.*tag Name = "` + name + `"`),
		}},
	})
}

// TestVPCDataSource_needsACriterion needs no cloud: a lookup without criteria is refused.
func TestVPCDataSource_needsACriterion(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			Config:      `data "sandbox_aws_vpc" "any" {}`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Missing Attribute Configuration.*id.*default.*tags`),
		}},
	})
}
