package aws_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
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
	sbxaws "github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

const sgAddr = "sandbox_aws_security_group.test"

// groupRuleStrings are a group's rules as EC2 lists them, as sorted "in|out proto from-to peer" lines.
func groupRuleStrings(t *testing.T, c *sbxaws.Conns, groupID string) ([]string, error) {
	out, err := c.EC2.DescribeSecurityGroupRules(testContext(t), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("group-id"), Values: []string{groupID}}},
	})
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, r := range out.SecurityGroupRules {
		dir := "in"
		if awssdk.ToBool(r.IsEgress) {
			dir = "out"
		}
		peer := awssdk.ToString(r.CidrIpv4) + awssdk.ToString(r.CidrIpv6)
		if r.ReferencedGroupInfo != nil {
			peer = awssdk.ToString(r.ReferencedGroupInfo.GroupId)
		}
		lines = append(lines, fmt.Sprintf("%s %s %d-%d %s", dir, awssdk.ToString(r.IpProtocol), awssdk.ToInt32(r.FromPort), awssdk.ToInt32(r.ToPort), peer))
	}
	sort.Strings(lines)
	return lines, nil
}

// checkGroupRules asserts the rules EC2 holds for the group at addr.
func checkGroupRules(t *testing.T, addr string, want ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, addr)
		if err != nil {
			return err
		}
		got, err := groupRuleStrings(t, acctest.AWSConns(t), id)
		if err != nil {
			return err
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("group %s has rules\n  %s\nwant\n  %s", id, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		return nil
	}
}

func sgConfig(name, vpcCIDR, rules string) string {
	return fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block = %q
}

resource "sandbox_aws_security_group" "test" {
  vpc_id      = sandbox_aws_vpc.test.id
  name        = %q
  description = "acceptance test"
  %s
  tags = {
    Name = %q
  }
}
`, vpcCIDR, name, rules, name)
}

const sgRulesV1 = `
  ingress = [
    { protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = "0.0.0.0/0", description = "ssh" },
  ]
  egress = [
    { protocol = "tcp", from_port = 443, to_port = 443, cidr_ipv4 = "0.0.0.0/0" },
  ]
`

const sgRulesV2 = `
  ingress = [
    { protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = "0.0.0.0/0", description = "ssh" },
    { protocol = "tcp", from_port = 8000, to_port = 8100, cidr_ipv4 = "10.140.0.0/16" },
    { protocol = "icmp", from_port = -1, to_port = -1, cidr_ipv4 = "10.140.0.0/16" },
  ]
  egress = [
    { protocol = "-1", cidr_ipv6 = "::/0" },
  ]
`

func TestAccSecurityGroup_basic(t *testing.T) {
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: sgConfig(name, "10.140.0.0/16", sgRulesV1),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(sgAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^sg-[0-9a-f]+$`))),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:security-group/sg-[0-9a-f]+$`))),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("owner_id"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{12}$`))),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("internal_cidr_blocks"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("10.140.0.0/16")})),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_ingress"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"protocol": knownvalue.StringExact("tcp"), "from_port": knownvalue.Int64Exact(22), "to_port": knownvalue.Int64Exact(22),
							"cidr_ipv4": knownvalue.StringExact("0.0.0.0/0"), "description": knownvalue.StringExact("ssh"),
						}),
					})),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_egress"), knownvalue.SetSizeExact(1)),
				},
				// The default allow-all egress rule is gone: egress is managed.
				Check: checkGroupRules(t, sgAddr, "in tcp 22-22 0.0.0.0/0", "out tcp 443-443 0.0.0.0/0"),
			},
			{
				ResourceName:            sgAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Rules change in place: the same group.
				Config: sgConfig(name, "10.140.0.0/16", sgRulesV2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_ingress"), knownvalue.SetSizeExact(3)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(sgAddr, tfjsonpath.New("id")),
				},
				Check: checkGroupRules(t, sgAddr, "in tcp 22-22 0.0.0.0/0", "in tcp 8000-8100 10.140.0.0/16",
					"in icmp -1--1 10.140.0.0/16", "out -1 -1--1 ::/0"),
			},
			{
				ResourceName:            sgAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Without egress, outbound rules are AWS's business again: they stay as they are.
				Config: sgConfig(name, "10.140.0.0/16", `
  ingress = [
    { protocol = "udp", from_port = 53, to_port = 53, security_group_id = sandbox_aws_vpc.test.default_security_group_id },
  ]
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(sgAddr, tfjsonpath.New("id"))},
				Check: resource.ComposeTestCheckFunc(
					func(s *terraform.State) error {
						vpc := s.RootModule().Resources[vpcAddr].Primary.Attributes["default_security_group_id"]
						return checkGroupRules(t, sgAddr, "in udp 53-53 "+vpc, "out -1 -1--1 ::/0")(s)
					},
				),
			},
		},
	})
}

// TestAccSecurityGroup_presetOSWorld: the osworld-env preset in the default VPC opens exactly the
// guideline's 8 inbound rules (6 of them from the VPC's own CIDR, read from AWS) and 1 outbound
// rule; the plan shows them before apply; internal_cidr_blocks overrides the VPC's CIDR in place.
func TestAccSecurityGroup_presetOSWorld(t *testing.T) {
	name := acctest.RandomName()
	config := func(extra string) string {
		return fmt.Sprintf(`
data "sandbox_aws_vpc" "default" {
  default = true
}

resource "sandbox_aws_security_group" "test" {
  vpc_id = data.sandbox_aws_vpc.default.id
  name   = %q
  preset = "osworld-env"
  %s
}

resource "sandbox_aws_security_group" "host" {
  vpc_id = data.sandbox_aws_vpc.default.id
  name   = "%s-host"
  preset = "osworld-host"
}
`, name, extra, name)
	}
	rulesFrom := func(cidr string) []string {
		want := []string{"in tcp 22-22 0.0.0.0/0", "in tcp 5910-5910 0.0.0.0/0", "out -1 -1--1 0.0.0.0/0"}
		for _, p := range []int{80, 5000, 8006, 8080, 8081, 9222} {
			want = append(want, fmt.Sprintf("in tcp %d-%d %s", p, p, cidr))
		}
		return want
	}
	// The fake's default VPC is 172.31.0.0/16, like every default VPC.
	defaultCIDR := "172.31.0.0/16"
	if acctest.SharedAWSFake() == nil {
		defaultCIDR = "" // read below
	}
	hostRules := checkGroupRules(t, "sandbox_aws_security_group.host", "in tcp 8080-8080 0.0.0.0/0", "out -1 -1--1 0.0.0.0/0")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionCreate),
					// The plan is honest: every rule the preset adds is known before apply.
					plancheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_ingress"), knownvalue.SetSizeExact(8)),
					plancheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_egress"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"protocol": knownvalue.StringExact("-1"), "cidr_ipv4": knownvalue.StringExact("0.0.0.0/0")}),
					})),
				}},
				Check: func(s *terraform.State) error {
					cidr := defaultCIDR
					if cidr == "" {
						cidr = s.RootModule().Resources[sgAddr].Primary.Attributes["internal_cidr_blocks.0"]
					}
					if err := checkGroupRules(t, sgAddr, rulesFrom(cidr)...)(s); err != nil {
						return err
					}
					return hostRules(s)
				},
			},
			{
				Config: config(`internal_cidr_blocks = ["10.0.0.0/8"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("sandbox_aws_security_group.host", plancheck.ResourceActionNoop),
				}},
				Check: checkGroupRules(t, sgAddr, rulesFrom("10.0.0.0/8")...),
			},
			{
				// Import a preset group: its rules come back as explicit ingress and egress.
				ResourceName:            sgAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "preset", "ingress", "egress", "internal_cidr_blocks"},
			},
		},
	})
}

// TestAccSecurityGroup_ruleDrift: a rule revoked and another authorized outside Terraform show in
// the next plan as an update, and apply puts the configured rules back.
func TestAccSecurityGroup_ruleDrift(t *testing.T) {
	name := acctest.RandomName()
	config := sgConfig(name, "10.150.0.0/16", `
  preset = "sandbox-manager"
  ingress = [
    { protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = "10.150.0.0/16" },
  ]
`)
	want := []string{"in tcp 22-22 10.150.0.0/16", "in tcp 443-443 0.0.0.0/0", "in tcp 80-80 0.0.0.0/0", "out -1 -1--1 0.0.0.0/0"}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeTestCheckFunc(
					checkGroupRules(t, sgAddr, want...),
					func(s *terraform.State) error {
						id, err := idOf(s, sgAddr)
						if err != nil {
							return err
						}
						c := acctest.AWSConns(t)
						ctx := testContext(t)
						if _, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &id,
							IpPermissions: []ec2types.IpPermission{{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(443), ToPort: awssdk.Int32(443),
								IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}}}); err != nil {
							return err
						}
						_, err = c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id,
							IpPermissions: []ec2types.IpPermission{{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(3389), ToPort: awssdk.Int32(3389),
								IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}}})
						return err
					},
				),
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				Check: checkGroupRules(t, sgAddr, want...),
			},
		},
	})
}

func TestAccSecurityGroup_disappears(t *testing.T) {
	name := acctest.RandomName()
	config := sgConfig(name, "10.160.0.0/16", sgRulesV1)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAWS(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, sgAddr)
					if err != nil {
						return err
					}
					_, err = acctest.AWSConns(t).EC2.DeleteSecurityGroup(testContext(t), &ec2.DeleteSecurityGroupInput{GroupId: &id})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(vpcAddr, plancheck.ResourceActionNoop),
				}},
				Check: checkGroupRules(t, sgAddr, "in tcp 22-22 0.0.0.0/0", "out tcp 443-443 0.0.0.0/0"),
			},
		},
	})
}

// TestAccSecurityGroup_faults: the new group and its rules stay invisible for a while, requests are
// throttled, and the first delete fails with DependencyViolation; the fake's journal shows each fault
// was met, and the destroy leaves nothing.
func TestAccSecurityGroup_faults(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{
		NotFoundReads:                    2,
		ThrottleEvery:                    5,
		DependencyViolationOnFirstDelete: true,
	})
	name := acctest.RandomName()
	config := fake.ProviderConfig() + sgConfig(name, "10.170.0.0/16", `
  preset = "osworld-env"
  egress = [
    { protocol = "tcp", from_port = 443, to_port = 443, cidr_ipv4 = "0.0.0.0/0" },
  ]
`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy: func(s *terraform.State) error {
			if err := checkNoLeftovers(fake)(s); err != nil {
				return err
			}
			for _, code := range []string{"RequestLimitExceeded", "InvalidGroup.NotFound", "DependencyViolation"} {
				if fake.ErrorCount(code) == 0 {
					return fmt.Errorf("the fake never answered %s: the test did not exercise it", code)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_ingress"), knownvalue.SetSizeExact(8)),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("all_egress"), knownvalue.SetSizeExact(2)),
				},
				Check: func(s *terraform.State) error {
					id, err := idOf(s, sgAddr)
					if err != nil {
						return err
					}
					n := 0
					for _, r := range fake.SecurityGroupRules() {
						if r.GroupID == id {
							n++
						}
					}
					if n != 10 {
						return fmt.Errorf("the fake holds %d rules of %s, want 10", n, id)
					}
					return nil
				},
			},
			{
				// Once reads settle, the plan is empty.
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

// TestAccSecurityGroup_invalidRules: rule mistakes are refused at plan time with the reason.
func TestAccSecurityGroup_invalidRules(t *testing.T) {
	for _, tc := range []struct{ rules, want string }{
		{`ingress = [{ protocol = "tcp", cidr_ipv4 = "0.0.0.0/0" }]`, `protocol tcp needs from_port and to_port`},
		{`ingress = [{ protocol = "tcp", from_port = 80, to_port = 80 }]`, `exactly one of cidr_ipv4, cidr_ipv6 or\s+security_group_id`},
		{`ingress = [{ protocol = "tcp", from_port = 90, to_port = 80, cidr_ipv4 = "0.0.0.0/0" }]`, `ports 90-80 are not a range`},
		{`egress = [{ protocol = "-1", from_port = 0, to_port = 0, cidr_ipv4 = "0.0.0.0/0" }]`, `leave from_port\s+and to_port out`},
		{`ingress = [{ protocol = "tcp", from_port = 22, to_port = 22, cidr_ipv4 = "10.0.0.1/8" }]`, `not an IPv4 CIDR block`},
		{`preset = "osworld"`, `value must be one of`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.FakeFactories(),
				Steps: []resource.TestStep{{
					Config: fmt.Sprintf(`
resource "sandbox_aws_security_group" "test" {
  vpc_id = "vpc-0123456789abcdef0"
  name   = "x"
  %s
}
`, tc.rules),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// TestAccSecurityGroup_dependencyTimeout: a group that a network interface outside Terraform still
// uses cannot be deleted; the delete retries DependencyViolation until its timeout, then says what
// to do, and goes through once the interface is gone.
func TestAccSecurityGroup_dependencyTimeout(t *testing.T) {
	fake := acctest.StartFakeAWS(t, awsfake.Faults{})
	name := acctest.RandomName()
	config := fake.ProviderConfig() + fmt.Sprintf(`
resource "sandbox_aws_vpc" "test" {
  cidr_block = "10.180.0.0/16"
}

resource "sandbox_aws_security_group" "test" {
  vpc_id = sandbox_aws_vpc.test.id
  name   = %q
  preset = "sandbox-manager"
  timeouts {
    delete = "1s"
  }
}
`, name)
	var groupID string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(fake),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, sgAddr)
					groupID = id
					fake.Pin(id) // an instance's interface the fake does not model
					return err
				},
			},
			{
				Config:      config,
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)AWS security group Still In Use.*DependencyViolation.*network interfaces.*timeouts`),
			},
			{
				PreConfig: func() { fake.Unpin(groupID) },
				Config:    config,
			},
		},
	})
}

// TestAccSecurityGroup_osworldGuidelineExample applies examples/aws-osworld-guideline as users run
// it (against a fake of its own, in place of the environment's provider settings): the .env output
// names the subnet and the env group, the second plan is empty, and destroy leaves nothing.
func TestAccSecurityGroup_osworldGuidelineExample(t *testing.T) {
	src, err := os.ReadFile("../../examples/aws-osworld-guideline/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	fake := acctest.StartFakeAWS(t, awsfake.Faults{})
	config := regexp.MustCompile(`(?s)terraform \{.*?\n\}\n`).ReplaceAllString(string(src), "")
	config = strings.Replace(config, `provider "sandbox" {}`, fake.ProviderConfig(), 1)
	if !strings.Contains(config, fake.EC2URL()) || strings.Contains(config, "required_providers") {
		t.Fatal("the example's provider block or terraform block changed; update this test")
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(fake),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				subnet, err := idOf(s, "sandbox_aws_subnet.osworld")
				if err != nil {
					return err
				}
				group, err := idOf(s, "sandbox_aws_security_group.env")
				if err != nil {
					return err
				}
				want := fmt.Sprintf("AWS_REGION=us-east-1\nAWS_SUBNET_ID=%s\nAWS_SECURITY_GROUP_ID=%s\n", subnet, group)
				if got := s.RootModule().Outputs["dotenv"].Value; got != want {
					return fmt.Errorf("dotenv output %q, want %q", got, want)
				}
				n := 0
				for _, r := range fake.SecurityGroupRules() {
					if r.GroupID == group {
						n++
					}
				}
				if n != 9 {
					return fmt.Errorf("the env group has %d rules, want the guideline's 8 inbound and 1 outbound", n)
				}
				return nil
			},
		}},
	})
}
