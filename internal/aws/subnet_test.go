package aws_test

import (
	"fmt"
	"regexp"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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

const subnetAddr = "sandbox_aws_subnet.test"

// subnetConfig is a VPC and a subnet of it; publicIP "" leaves map_public_ip_on_launch out.
func subnetConfig(name, vpcCIDR, subnetCIDR, publicIP, extraTags string) string {
	public := ""
	if publicIP != "" {
		public = "map_public_ip_on_launch = " + publicIP
	}
	return fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block = %q
  tags = {
    Name = %q
  }
}

resource "sandbox_aws_subnet" "test" {
  vpc_id     = sandbox_aws_vpc.test.id
  cidr_block = %q
  %s
  tags = {
    Name = %q
    %s
  }
}
`, vpcCIDR, name, subnetCIDR, public, name, extraTags)
}

func checkSubnet(t *testing.T, cidr string, public bool, tags map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, subnetAddr)
		if err != nil {
			return err
		}
		vpcID, err := idOf(s, vpcAddr)
		if err != nil {
			return err
		}
		sub, err := describeSubnet(testContext(t), acctest.AWSConns(t), id)
		if err != nil || sub == nil {
			return fmt.Errorf("subnet %s: %v (exists: %t)", id, err, sub != nil)
		}
		if awssdk.ToString(sub.CidrBlock) != cidr || awssdk.ToString(sub.VpcId) != vpcID ||
			awssdk.ToBool(sub.MapPublicIpOnLaunch) != public || string(sub.State) != "available" {
			return fmt.Errorf("subnet %s is %s in %s, public IP %t, state %s; want %s in %s, public IP %t, available",
				id, awssdk.ToString(sub.CidrBlock), awssdk.ToString(sub.VpcId), awssdk.ToBool(sub.MapPublicIpOnLaunch), sub.State,
				cidr, vpcID, public)
		}
		got := map[string]string{}
		for _, tag := range sub.Tags {
			got[awssdk.ToString(tag.Key)] = awssdk.ToString(tag.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(tags) {
			return fmt.Errorf("subnet %s has tags %v, want %v", id, got, tags)
		}
		return nil
	}
}

func TestAccSubnet_basic(t *testing.T) {
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: subnetConfig(name, "10.70.0.0/16", "10.70.1.0/24", "", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(subnetAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^subnet-[0-9a-f]+$`))),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:subnet/subnet-[0-9a-f]+$`))),
					statecheck.CompareValuePairs(subnetAddr, tfjsonpath.New("vpc_id"), vpcAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("cidr_block"), knownvalue.StringExact("10.70.1.0/24")),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("availability_zone"), knownvalue.StringRegexp(regexp.MustCompile(`^[a-z]+-[a-z]+-\d[a-z]$`))),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("availability_zone_id"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("map_public_ip_on_launch"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("owner_id"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{12}$`))),
				},
				Check: checkSubnet(t, "10.70.1.0/24", false, map[string]string{"Name": name}),
			},
			{
				ResourceName:            subnetAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				Config: subnetConfig(name, "10.70.0.0/16", "10.70.1.0/24", "true", `tier = "public"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(subnetAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(subnetAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("map_public_ip_on_launch"), knownvalue.Bool(true)),
				},
				Check: checkSubnet(t, "10.70.1.0/24", true, map[string]string{"Name": name, "tier": "public"}),
			},
			{
				// Import again with the import block after the change.
				ResourceName:            subnetAddr,
				ImportState:             true,
				ImportStateKind:         resource.ImportBlockWithID,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				Config: subnetConfig(name, "10.70.0.0/16", "10.70.2.0/24", "true", `tier = "public"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(subnetAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkSubnet(t, "10.70.2.0/24", true, map[string]string{"Name": name, "tier": "public"}),
			},
		},
	})
}

// TestAccSubnet_cidrOutsideVPC: once the VPC exists, a subnet block outside it is refused at plan
// time, with a message that names both blocks.
func TestAccSubnet_cidrOutsideVPC(t *testing.T) {
	name := acctest.RandomName()
	vpc := fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block = "10.80.0.0/16"
  tags = {
    Name = %q
  }
}
`, name)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{Config: vpc},
			{
				Config: vpc + `
resource "sandbox_aws_subnet" "test" {
  vpc_id     = sandbox_aws_vpc.test.id
  cidr_block = "10.81.0.0/24"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Subnet CIDR Block Outside the VPC.*10\.81\.0\.0/24.*vpc-[0-9a-f]+\s+\(10\.80\.0\.0/16\)`),
			},
		},
	})
}

// TestAccSubnet_cidrOutsideNewVPC: when the VPC is created in the same apply its CIDR is unknown at
// plan time, so AWS refuses the block at apply time; the error still names both blocks' owners.
func TestAccSubnet_cidrOutsideNewVPC(t *testing.T) {
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{{
			Config:      subnetConfig(name, "10.90.0.0/16", "10.91.0.0/24", "", ""),
			ExpectError: regexp.MustCompile(`(?s)Subnet CIDR Block Outside the VPC.*10\.91\.0\.0/24.*vpc-[0-9a-f]+`),
		}},
	})
}

func TestAccSubnet_disappears(t *testing.T) {
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: subnetConfig(name, "10.100.0.0/16", "10.100.1.0/24", "", ""),
				Check: func(s *terraform.State) error {
					id, err := idOf(s, subnetAddr)
					if err != nil {
						return err
					}
					_, err = acctest.AWSConns(t).EC2.DeleteSubnet(testContext(t), &ec2.DeleteSubnetInput{SubnetId: &id})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: subnetConfig(name, "10.100.0.0/16", "10.100.1.0/24", "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(subnetAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionNoop),
				}},
				Check: checkSubnet(t, "10.100.1.0/24", false, map[string]string{"Name": name}),
			},
		},
	})
}

// TestAccSubnet_faults: a new subnet stays pending and invisible for a while, requests are
// throttled, and the first delete of the subnet and of the VPC fail with DependencyViolation.
func TestAccSubnet_faults(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{
		NotFoundReads:                    2,
		SubnetPendingReads:               3,
		ThrottleEvery:                    5,
		DependencyViolationOnFirstDelete: true,
	})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy: func(s *terraform.State) error {
			if err := checkNoLeftovers(fake)(s); err != nil {
				return err
			}
			for _, code := range []string{"RequestLimitExceeded", "InvalidSubnetID.NotFound", "DependencyViolation"} {
				if fake.ErrorCount(code) == 0 {
					return fmt.Errorf("the fake never answered %s: the test did not exercise it", code)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: fake.ProviderConfig() + subnetConfig(name, "10.110.0.0/16", "10.110.1.0/24", "true", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(subnetAddr, tfjsonpath.New("map_public_ip_on_launch"), knownvalue.Bool(true)),
				},
				Check: func(s *terraform.State) error {
					id, err := idOf(s, subnetAddr)
					if err != nil {
						return err
					}
					for _, sub := range fake.Subnets() {
						if sub.ID == id && sub.State == "available" && sub.MapPublicIPOnLaunch {
							return nil
						}
					}
					return fmt.Errorf("the fake has no available public subnet %s: %+v", id, fake.Subnets())
				},
			},
		},
	})
}

// TestAccSubnet_dependencyTimeout: a subnet that something outside Terraform keeps using cannot be
// deleted; the delete retries DependencyViolation until its timeout, then says what to do.
func TestAccSubnet_dependencyTimeout(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{})
	name := acctest.RandomName()
	config := func(deleteTimeout string) string {
		return fake.ProviderConfig() + fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block = "10.120.0.0/16"
}

resource "sandbox_aws_subnet" "test" {
  vpc_id     = sandbox_aws_vpc.test.id
  cidr_block = "10.120.1.0/24"
  tags = {
    Name = %q
  }
  timeouts {
    delete = %q
  }
}
`, name, deleteTimeout)
	}
	var subnetID string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(fake),
		Steps: []resource.TestStep{
			{
				Config: config("1s"),
				Check: func(s *terraform.State) error {
					id, err := idOf(s, subnetAddr)
					subnetID = id
					fake.Pin(id) // an interface the fake does not model
					return err
				},
			},
			{
				Config:      config("1s"),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)AWS subnet Still In Use.*DependencyViolation.*network interfaces.*timeouts`),
			},
			{
				// Once the dependency is gone, the destroy goes through.
				PreConfig: func() { fake.Unpin(subnetID) },
				Config:    config("1s"),
			},
		},
	})
}
