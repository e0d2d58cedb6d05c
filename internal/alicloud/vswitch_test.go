package alicloud_test

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

const vswitchAddr = "sandbox_alicloud_vswitch.test"

// testZone is the zone vSwitches are made in: ALIBABA_CLOUD_ZONE against real Alibaba Cloud, else
// the fakes' first zone.
func testZone() string {
	if z := os.Getenv("ALIBABA_CLOUD_ZONE"); z != "" {
		return z
	}
	return alifake.DefaultRegion + "-a"
}

func vswitchConfig(name, vpcCIDR, cidr, description, tags string) string {
	return fmt.Sprintf(`
resource "sandbox_alicloud_vpc" "test" {
  cidr_block = %[2]q
  name       = %[1]q
}

resource "sandbox_alicloud_vswitch" "test" {
  vpc_id      = sandbox_alicloud_vpc.test.id
  zone_id     = %[5]q
  cidr_block  = %[3]q
  name        = %[1]q
  description = %[4]q
  tags = {
    %[6]s
  }
}
`, name, vpcCIDR, cidr, description, testZone(), tags)
}

func checkVSwitch(t *testing.T, cidr, name, description string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, vswitchAddr)
		if err != nil {
			return err
		}
		vpcID, err := idOf(s, vpcAddr)
		if err != nil {
			return err
		}
		v, err := describeVSwitch(acctest.AlibabaConns(t), id)
		if err != nil || v == nil {
			return fmt.Errorf("vSwitch %s: %v (exists: %t)", id, err, v != nil)
		}
		if v.VpcId != vpcID || v.CidrBlock != cidr || v.VSwitchName != name || v.Description != description || v.ZoneId != testZone() {
			return fmt.Errorf("vSwitch %s is %+v; want VPC %s, CIDR %s, name %q, description %q, zone %s", id, v, vpcID, cidr,
				name, description, testZone())
		}
		return nil
	}
}

func TestAccAlicloudVSwitch_basic(t *testing.T) {
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: vswitchConfig(name, "10.60.0.0/16", "10.60.1.0/24", "first", `Name = "a"`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(vswitchAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(vswitchAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^vsw-[0-9a-z]+$`))),
					statecheck.CompareValuePairs(vswitchAddr, tfjsonpath.New("vpc_id"), vpcAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(vswitchAddr, tfjsonpath.New("zone_id"), knownvalue.StringExact(testZone())),
					statecheck.ExpectKnownValue(vswitchAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"Name": knownvalue.StringExact("a")})),
				},
				Check: checkVSwitch(t, "10.60.1.0/24", name, "first"),
			},
			{
				ResourceName:            vswitchAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				Config: vswitchConfig(name+"-2", "10.60.0.0/16", "10.60.1.0/24", "", `Name = "b"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vswitchAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(vswitchAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(vswitchAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"Name": knownvalue.StringExact("b")})),
				},
				Check: checkVSwitch(t, "10.60.1.0/24", name+"-2", ""),
			},
			{
				// The VPC exists now, so a block outside it is refused before anything changes.
				Config:      vswitchConfig(name+"-2", "10.60.0.0/16", "10.61.1.0/24", "", `Name = "b"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)vSwitch CIDR Block Outside the VPC.*10\.61\.1\.0/24 is not inside the CIDR\s+block of VPC`),
			},
			{
				Config: vswitchConfig(name+"-2", "10.60.0.0/16", "10.60.2.0/24", "", `Name = "b"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vswitchAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkVSwitch(t, "10.60.2.0/24", name+"-2", ""),
			},
		},
	})
}

// TestAccAlicloudVSwitch_disappears deletes the vSwitch out of band: the next plan creates it again.
func TestAccAlicloudVSwitch_disappears(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	name := acctest.RandomName()
	config := f.ProviderConfig() + vswitchConfig(name, "10.62.0.0/16", "10.62.0.0/24", "", "")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, vswitchAddr)
					if err != nil {
						return err
					}
					return f.DeleteOutOfBand(id)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vswitchAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}

// TestAccAlicloudVSwitch_faults survives a vSwitch that is invisible, then Pending, after its
// create, throttling, and deletes refused while dependencies go away.
func TestAccAlicloudVSwitch_faults(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{
		NotFoundReads:      2,
		PendingReads:       3,
		Throttle:           map[string]alifake.Throttle{"CreateVSwitch": {Next: 1}, "DescribeVSwitches": {Every: 4}},
		DependencyFailures: map[string]int{"DeleteVSwitch": 2},
	})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             resource.ComposeTestCheckFunc(checkNoLeftovers(f), atLeastCalls(f, "DeleteVSwitch", 3)),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + vswitchConfig(name, "10.63.0.0/16", "10.63.0.0/24", "", ""),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(vswitchAddr, "cidr_block", "10.63.0.0/24"),
					atLeastCalls(f, "CreateVSwitch", 2),
					// 2 NotFound + 3 Pending + Available.
					atLeastCalls(f, "DescribeVSwitches", 6),
				),
			},
		},
	})
}

// TestAccAlicloudVSwitch_dependencyTimeout: a vSwitch something else still uses cannot be
// deleted; after the delete timeout the error says why and what to do.
func TestAccAlicloudVSwitch_dependencyTimeout(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	name := acctest.RandomName()
	config := func(timeout string) string {
		return f.ProviderConfig() + fmt.Sprintf(`
resource "sandbox_alicloud_vpc" "test" {
  cidr_block = "10.64.0.0/16"
}

resource "sandbox_alicloud_vswitch" "test" {
  vpc_id     = sandbox_alicloud_vpc.test.id
  zone_id    = %q
  cidr_block = "10.64.0.0/24"
  name       = %q
  timeouts {
    delete = %q
  }
}
`, testZone(), name, timeout)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: config("2s"),
				Check: func(s *terraform.State) error {
					id, err := idOf(s, vswitchAddr)
					if err != nil {
						return err
					}
					f.SetInUse(id, true)
					return nil
				},
			},
			{
				Config:      config("2s"),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Alibaba Cloud vSwitch Still In Use.*DependencyViolation`),
			},
			{
				// Released: the destroy at the end of the test succeeds.
				Config: config("2s"),
				Check: func(s *terraform.State) error {
					id, err := idOf(s, vswitchAddr)
					if err != nil {
						return err
					}
					f.SetInUse(id, false)
					return nil
				},
			},
		},
	})
}
