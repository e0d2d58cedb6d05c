package alicloud_test

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

const vpcAddr = "sandbox_alicloud_vpc.test"

func vpcConfig(name, cidr, description, extraTags string) string {
	return fmt.Sprintf(`
resource "sandbox_alicloud_vpc" "test" {
  cidr_block  = %q
  name        = %q
  description = %q
  tags = {
    Name = %q
    %s
  }
}
`, cidr, name, description, name, extraTags)
}

// checkVPC asserts what the API itself holds for the VPC in the state.
func checkVPC(t *testing.T, cidr, name, description string, tags map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, vpcAddr)
		if err != nil {
			return err
		}
		v, err := describeVPC(acctest.AlibabaConns(t), id)
		if err != nil || v == nil {
			return fmt.Errorf("VPC %s: %v (exists: %t)", id, err, v != nil)
		}
		if v.CidrBlock != cidr || v.VpcName != name || v.Description != description {
			return fmt.Errorf("VPC %s has CIDR %s, name %q, description %q; want %s, %q, %q", id, v.CidrBlock, v.VpcName,
				v.Description, cidr, name, description)
		}
		got := map[string]string{}
		for _, tag := range v.Tags.Tag {
			got[tag.Key] = tag.Value
		}
		if fmt.Sprint(got) != fmt.Sprint(tags) {
			return fmt.Errorf("VPC %s has tags %v, want %v", id, got, tags)
		}
		return nil
	}
}

func TestAccAlicloudVPC_basic(t *testing.T) {
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: vpcConfig(name, "10.20.0.0/16", "sandbox hosts", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(vpcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^vpc-[0-9a-z]+$`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("cidr_block"), knownvalue.StringExact("10.20.0.0/16")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("default"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("router_id"), knownvalue.StringRegexp(regexp.MustCompile(`^vrt-`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("route_table_id"), knownvalue.StringRegexp(regexp.MustCompile(`^vtb-`))),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"Name": knownvalue.StringExact(name)})),
				},
				Check: checkVPC(t, "10.20.0.0/16", name, "sandbox hosts", map[string]string{"Name": name}),
			},
			{
				ResourceName:            vpcAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Name, description and tags change in place: same VPC.
				Config: vpcConfig(name+"-2", "10.20.0.0/16", "", `env = "test"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(vpcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(vpcAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Name": knownvalue.StringExact(name + "-2"), "env": knownvalue.StringExact("test"),
					})),
				},
				Check: checkVPC(t, "10.20.0.0/16", name+"-2", "", map[string]string{"Name": name + "-2", "env": "test"}),
			},
			{
				// A new CIDR block is a new VPC.
				Config: vpcConfig(name+"-2", "10.21.0.0/16", "", `env = "test"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkVPC(t, "10.21.0.0/16", name+"-2", "", map[string]string{"Name": name + "-2", "env": "test"}),
			},
		},
	})
}

func TestAccAlicloudVPC_invalidCIDR(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config:      `resource "sandbox_alicloud_vpc" "test" { cidr_block = "10.20.0.1/16" }`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`host bits set; write its network address, 10.20.0.0/16`),
			},
			{
				Config:      `resource "sandbox_alicloud_vpc" "test" { name = "no-cidr" }`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`cidr_block is required to create a VPC`),
			},
		},
	})
}

// createVPCOutOfBand makes a VPC the way someone else would (console, another tool), and removes it
// at the end of the test if Terraform did not.
func createVPCOutOfBand(t *testing.T, cidr, name string) string {
	t.Helper()
	c := acctest.AlibabaConns(t)
	req := vpc.CreateCreateVpcRequest()
	alicloud.PointRPC(c, "vpc", req.RpcRequest)
	req.CidrBlock, req.VpcName = cidr, name
	req.Tag = &[]vpc.CreateVpcTag{{Key: "Name", Value: name}}
	resp, err := c.VPC.CreateVpc(req)
	if err != nil {
		t.Fatalf("create a VPC outside Terraform: %v", err)
	}
	id := resp.VpcId
	t.Cleanup(func() {
		del := vpc.CreateDeleteVpcRequest()
		alicloud.PointRPC(c, "vpc", del.RpcRequest)
		del.VpcId = id
		if _, err := c.VPC.DeleteVpc(del); err != nil && !regexp.MustCompile(`InvalidVpcId.NotFound`).MatchString(err.Error()) {
			t.Errorf("clean up VPC %s: %v", id, err)
		}
	})
	return id
}

// TestAccAlicloudVPC_importBlock adopts an existing VPC with an import block: the resource names no
// CIDR; the plan imports it with no change, and Terraform manages it from then on (tags change in
// place, destroy deletes it).
func TestAccAlicloudVPC_importBlock(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it")
	}
	acctest.PreCheckAlibaba(t)
	name := acctest.RandomName()
	id := createVPCOutOfBand(t, "10.30.0.0/16", name)
	adopt := func(tags string) string {
		return fmt.Sprintf(`
import {
  to = sandbox_alicloud_vpc.adopted
  id = %q
}

resource "sandbox_alicloud_vpc" "adopted" {
  tags = {
    %s
  }
}
`, id, tags)
	}
	const addr = "sandbox_alicloud_vpc.adopted"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: adopt(fmt.Sprintf("Name = %q", name)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(id)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cidr_block"), knownvalue.StringExact("10.30.0.0/16")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
				},
			},
			{
				Config: adopt(fmt.Sprintf("Name = %q\n    adopted = \"yes\"", name)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(id)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Name": knownvalue.StringExact(name), "adopted": knownvalue.StringExact("yes"),
					})),
				},
			},
		},
	})
}

// TestAccAlicloudVPC_disappears deletes the VPC out of band: the next plan creates it again.
func TestAccAlicloudVPC_disappears(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + vpcConfig(name, "10.40.0.0/16", "gone soon", ""),
				Check: func(s *terraform.State) error {
					id, err := idOf(s, vpcAddr)
					if err != nil {
						return err
					}
					return f.DeleteOutOfBand(id)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: f.ProviderConfig() + vpcConfig(name, "10.40.0.0/16", "gone soon", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					if n := len(f.VPCs()); n != 2 {
						return fmt.Errorf("the fake holds %d VPCs, want the default one and the recreated one", n)
					}
					return nil
				},
			},
		},
	})
}

// TestAccAlicloudVPC_faults survives an eventually consistent, throttling API: the new VPC is
// invisible to its first reads and Pending for the next ones, calls are throttled, and the first
// deletes fail with a dependency error.
func TestAccAlicloudVPC_faults(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{
		NotFoundReads: 2,
		PendingReads:  2,
		Throttle: map[string]alifake.Throttle{
			"CreateVpc":      {Next: 2},
			"DescribeVpcs":   {Every: 3},
			"TagResources":   {Next: 1},
			"UnTagResources": {Next: 1},
		},
		DependencyFailures: map[string]int{"DeleteVpc": 2},
	})
	name := acctest.RandomName()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy: resource.ComposeTestCheckFunc(
			checkNoLeftovers(f),
			atLeastCalls(f, "DeleteVpc", 3),
		),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + vpcConfig(name, "10.50.0.0/16", "faulty", `env = "a"`),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(vpcAddr, "cidr_block", "10.50.0.0/16"),
					atLeastCalls(f, "CreateVpc", 3),
					// 2 NotFound + 2 Pending + Available, plus every third call throttled.
					atLeastCalls(f, "DescribeVpcs", 6),
				),
			},
			{
				Config: f.ProviderConfig() + vpcConfig(name, "10.50.0.0/16", "faulty", `team = "b"`),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(vpcAddr, "tags.team", "b"),
					resource.TestCheckNoResourceAttr(vpcAddr, "tags.env"),
					atLeastCalls(f, "TagResources", 2),
					atLeastCalls(f, "UnTagResources", 2),
				),
			},
		},
	})
}
