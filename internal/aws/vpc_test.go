package aws_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

const vpcAddr = "sandbox_aws_vpc.test"

func vpcConfig(name, cidr string, hostnames bool, extraTags string) string {
	return fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block           = %q
  enable_dns_hostnames = %t
  tags = {
    Name = %q
    %s
  }
}
`, cidr, hostnames, name, extraTags)
}

// checkVPC asserts what EC2 itself holds for the VPC in the state.
func checkVPC(t *testing.T, cidr string, hostnames bool, tags map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, vpcAddr)
		if err != nil {
			return err
		}
		ctx := testContext(t)
		c := acctest.AWSConns(t)
		v, err := describeVPC(ctx, c, id)
		if err != nil || v == nil {
			return fmt.Errorf("VPC %s: %v (exists: %t)", id, err, v != nil)
		}
		if got := awssdk.ToString(v.CidrBlock); got != cidr {
			return fmt.Errorf("VPC %s has CIDR %s, want %s", id, got, cidr)
		}
		attr, err := c.EC2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &id, Attribute: ec2types.VpcAttributeNameEnableDnsHostnames})
		if err != nil {
			return err
		}
		if got := awssdk.ToBool(attr.EnableDnsHostnames.Value); got != hostnames {
			return fmt.Errorf("VPC %s has enableDnsHostnames %t, want %t", id, got, hostnames)
		}
		got := map[string]string{}
		for _, tag := range v.Tags {
			got[awssdk.ToString(tag.Key)] = awssdk.ToString(tag.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(tags) {
			return fmt.Errorf("VPC %s has tags %v, want %v", id, got, tags)
		}
		return nil
	}
}

func TestAccVPC_basic(t *testing.T) {
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: vpcConfig(name, "10.20.0.0/16", false, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(vpcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^vpc-[0-9a-f]+$`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:vpc/vpc-[0-9a-f]+$`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("cidr_block"), knownvalue.StringExact("10.20.0.0/16")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("enable_dns_support"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("enable_dns_hostnames"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("default"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("default_security_group_id"), knownvalue.StringRegexp(regexp.MustCompile(`^sg-[0-9a-f]+$`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("owner_id"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{12}$`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"Name": knownvalue.StringExact(name)})),
				},
				Check: checkVPC(t, "10.20.0.0/16", false, map[string]string{"Name": name}),
			},
			{
				ResourceName:            vpcAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// DNS host names and tags change in place: same VPC.
				Config: vpcConfig(name, "10.20.0.0/16", true, `env = "test"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(vpcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("enable_dns_hostnames"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Name": knownvalue.StringExact(name), "env": knownvalue.StringExact("test"),
					})),
				},
				Check: checkVPC(t, "10.20.0.0/16", true, map[string]string{"Name": name, "env": "test"}),
			},
			{
				// A new CIDR block is a new VPC.
				Config: vpcConfig(name, "10.21.0.0/16", true, `env = "test"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkVPC(t, "10.21.0.0/16", true, map[string]string{"Name": name, "env": "test"}),
			},
		},
	})
}

// createVPCOutOfBand makes a VPC the way someone else would (console, another tool), and removes
// it at the end of the test if Terraform did not.
func createVPCOutOfBand(t *testing.T, cidr, name string) string {
	t.Helper()
	ctx := testContext(t)
	c := acctest.AWSConns(t)
	out, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock: awssdk.String(cidr),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc,
			Tags: []ec2types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String(name)}}}},
	})
	if err != nil {
		t.Fatalf("create a VPC outside Terraform: %v", err)
	}
	id := awssdk.ToString(out.Vpc.VpcId)
	t.Cleanup(func() {
		_, err := c.EC2.DeleteVpc(context.Background(), &ec2.DeleteVpcInput{VpcId: &id})
		if err != nil && errorCode(err) != "InvalidVpcID.NotFound" {
			t.Errorf("clean up VPC %s: %v", id, err)
		}
	})
	return id
}

// TestAccVPC_importBlock adopts an existing VPC with a config-driven import block (Terraform 1.5+):
// the resource names no CIDR; the plan imports it with no change, and Terraform manages it from
// then on (tags change in place, destroy deletes it).
func TestAccVPC_importBlock(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it")
	}
	acctest.PreCheckAWS(t)
	name := acctest.RandomName()
	id := createVPCOutOfBand(t, "10.30.0.0/16", name)
	adopt := func(tags string) string {
		return fmt.Sprintf(`
import {
  to = sandbox_aws_vpc.adopted
  id = %q
}

resource "sandbox_aws_vpc" "adopted" {
  tags = {
    %s
  }
}
`, id, tags)
	}
	const addr = "sandbox_aws_vpc.adopted"
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: adopt(fmt.Sprintf("Name = %q", name)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringFunc(func(v string) error {
						if v != id {
							return fmt.Errorf("imported %s, want %s", v, id)
						}
						return nil
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cidr_block"), knownvalue.StringExact("10.30.0.0/16")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("enable_dns_support"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("default_security_group_id"), knownvalue.NotNull()),
				},
			},
			{
				Config: adopt(fmt.Sprintf("Name = %q\n    managed = \"terraform\"", name)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags").AtMapKey("managed"), knownvalue.StringExact("terraform")),
				},
			},
		},
	})
}

// TestAccVPC_importBlockStep is the import-block variant of ImportStateVerify.
func TestAccVPC_importBlockStep(t *testing.T) {
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{Config: vpcConfig(name, "10.40.0.0/16", true, "")},
			{
				ResourceName:    vpcAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
			},
		},
	})
}

// TestAccVPC_disappears deletes the VPC outside Terraform: the refresh notices, and the plan
// creates it again.
func TestAccVPC_disappears(t *testing.T) {
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: vpcConfig(name, "10.50.0.0/16", false, ""),
				Check: func(s *terraform.State) error {
					id, err := idOf(s, vpcAddr)
					if err != nil {
						return err
					}
					_, err = acctest.AWSConns(t).EC2.DeleteVpc(testContext(t), &ec2.DeleteVpcInput{VpcId: &id})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: vpcConfig(name, "10.50.0.0/16", false, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionCreate),
				}},
				Check: checkVPC(t, "10.50.0.0/16", false, map[string]string{"Name": name}),
			},
		},
	})
}

// TestAccVPC_faults survives what real accounts do now and then: reads that do not show a new VPC
// yet, throttling, and a delete refused with DependencyViolation. It runs against a fake of its own,
// reached through the provider's aws block (endpoints, keys, region) instead of the environment.
func TestAccVPC_faults(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{
		NotFoundReads:                    2,
		ThrottleEvery:                    4,
		DependencyViolationOnFirstDelete: true,
	})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy: func(s *terraform.State) error {
			if err := checkNoLeftovers(fake)(s); err != nil {
				return err
			}
			for _, code := range []string{"RequestLimitExceeded", "InvalidVpcID.NotFound", "DependencyViolation"} {
				if fake.ErrorCount(code) == 0 {
					return fmt.Errorf("the fake never answered %s: the test did not exercise it", code)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: fake.ProviderConfig() + vpcConfig(name, "10.60.0.0/16", true, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("enable_dns_hostnames"), knownvalue.Bool(true)),
				},
			},
			{
				Config: fake.ProviderConfig() + vpcConfig(name, "10.60.0.0/16", false, `env = "faults"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionUpdate),
				}},
			},
		},
	})
}

// TestVPC_missingCIDR needs no cloud: creating a VPC without a CIDR block fails at plan time.
func TestVPC_missingCIDR(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			Config:      `resource "sandbox_aws_vpc" "test" {}`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Missing VPC CIDR Block.*import`),
		}},
	})
}

func TestVPC_invalidCIDR(t *testing.T) {
	for cidr, want := range map[string]string{
		"10.0.0.1/16": `host bits set; write its network address, 10\.0\.0\.0/16`,
		"10.0.0.0/8":  `/8 prefix; AWS accepts /16 to /28`,
		"fd00::/64":   `not an IPv4 CIDR block`,
	} {
		t.Run(cidr, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.FakeFactories(),
				Steps: []resource.TestStep{{
					Config:      fmt.Sprintf(`resource "sandbox_aws_vpc" "test" { cidr_block = %q }`, cidr),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)Invalid CIDR Block.*` + want),
				}},
			})
		})
	}
}
