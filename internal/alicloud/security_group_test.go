package alicloud_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
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

const sgAddr = "sandbox_alicloud_security_group.test"

func sgConfig(vpcCIDR, body string) string {
	return fmt.Sprintf(`
resource "sandbox_alicloud_vpc" "test" {
  cidr_block = %q
  name       = "tf-acc-test-security-group"
}

resource "sandbox_alicloud_security_group" "test" {
  vpc_id = sandbox_alicloud_vpc.test.id
%s
}
`, vpcCIDR, body)
}

// apiRules are the group's rules as the API holds them, one "direction protocol ports cidr policy
// priority description" line each, sorted.
func apiRules(t *testing.T, id string) ([]string, error) {
	perms, err := describeRules(acctest.AlibabaConns(t), id)
	if err != nil {
		return nil, err
	}
	if perms == nil {
		return nil, fmt.Errorf("security group %s does not exist", id)
	}
	var out []string
	for _, p := range perms {
		cidr := p.SourceCidrIp
		if strings.EqualFold(p.Direction, "egress") {
			cidr = p.DestCidrIp
		}
		out = append(out, strings.ToLower(strings.Join([]string{p.Direction, p.IpProtocol, p.PortRange, cidr, p.Policy, p.Priority}, " "))+
			" "+p.Description)
	}
	sort.Strings(out)
	return out, nil
}

// checkRules asserts the group in the state has exactly these rules in the API.
func checkRules(t *testing.T, want ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, sgAddr)
		if err != nil {
			return err
		}
		got, err := apiRules(t, id)
		if err != nil {
			return err
		}
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("security group %s has rules\n%s\nwant\n%s", id, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	}
}

func TestAccAlicloudSecurityGroup_basic(t *testing.T) {
	name := acctest.RandomName()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: sgConfig("10.70.0.0/16", fmt.Sprintf(`
  name        = %q
  description = "web"
  tags        = { Name = %q }
  rules = [
    { direction = "ingress", protocol = "tcp", port_range = "443/443", cidr_ip = "0.0.0.0/0", description = "https" },
    { direction = "egress", protocol = "all", port_range = "-1/-1", cidr_ip = "0.0.0.0/0" },
  ]`, name, name)),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(sgAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^sg-[0-9a-z]+$`))),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("type"), knownvalue.StringExact("normal")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("vpc_cidr_block"), knownvalue.StringExact("10.70.0.0/16")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("preset_rules"), knownvalue.SetSizeExact(0)),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("rules"), knownvalue.SetSizeExact(2)),
				},
				Check: checkRules(t, "ingress tcp 443/443 0.0.0.0/0 accept 1 https", "egress all -1/-1 0.0.0.0/0 accept 1 "),
			},
			{
				ResourceName:            sgAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Rules, name and tags change in place: one rule added, one changed, one removed.
				Config: sgConfig("10.70.0.0/16", fmt.Sprintf(`
  name        = "%s-2"
  description = "web"
  tags        = { Name = %q, env = "test" }
  rules = [
    { direction = "ingress", protocol = "tcp", port_range = "443/443", cidr_ip = "0.0.0.0/0", description = "https, again", priority = 2 },
    { direction = "ingress", protocol = "udp", port_range = "53/53", cidr_ip = "10.70.0.0/16", policy = "drop" },
  ]`, name, name)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(sgAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("name"), knownvalue.StringExact(name+"-2")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Name": knownvalue.StringExact(name), "env": knownvalue.StringExact("test"),
					})),
				},
				Check: checkRules(t, "ingress tcp 443/443 0.0.0.0/0 accept 2 https, again", "ingress udp 53/53 10.70.0.0/16 drop 1 "),
			},
			{
				// Defaults left out read back as left out: no diff.
				Config: sgConfig("10.70.0.0/16", `
  rules = [
    { direction = "ingress", protocol = "tcp", port_range = "443/443", cidr_ip = "0.0.0.0/0" },
    { direction = "egress", protocol = "icmp", port_range = "-1/-1", cidr_ip = "0.0.0.0/0", policy = "accept", priority = 1 },
  ]`),
				Check: checkRules(t, "ingress tcp 443/443 0.0.0.0/0 accept 1 ", "egress icmp -1/-1 0.0.0.0/0 accept 1 "),
			},
		},
	})
}

func TestAccAlicloudSecurityGroup_invalidRules(t *testing.T) {
	rule := func(protocol, ports string) string {
		return fmt.Sprintf(`
resource "sandbox_alicloud_security_group" "test" {
  vpc_id = "vpc-bp1qpo0kug3a20qqe4l1c"
  rules  = [{ direction = "ingress", protocol = %q, port_range = %q, cidr_ip = "0.0.0.0/0" }]
}`, protocol, ports)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: rule("icmp", "0/0"), PlanOnly: true, ExpectError: regexp.MustCompile(`write port_range = "-1/-1"`)},
			{Config: rule("tcp", "90/80"), PlanOnly: true, ExpectError: regexp.MustCompile(`1 <= from <= to <=\s+65535`)},
			{Config: rule("tcp", "80"), PlanOnly: true, ExpectError: regexp.MustCompile(`must be from/to`)},
		},
	})
}

// osworldRules are the osworld-env preset's rules with inside as the VPC's block.
func osworldRules(inside string) []string {
	return []string{
		"ingress tcp 22/22 0.0.0.0/0 accept 1 osworld-env: SSH",
		"ingress tcp 5910/5910 0.0.0.0/0 accept 1 osworld-env: VNC",
		"ingress tcp 80/80 " + inside + " accept 1 osworld-env: HTTP from the VPC",
		"ingress tcp 5000/5000 " + inside + " accept 1 osworld-env: environment server from the VPC",
		"ingress tcp 8006/8006 " + inside + " accept 1 osworld-env: VM console from the VPC",
		"ingress tcp 8080/8080 " + inside + " accept 1 osworld-env: HTTP 8080 from the VPC",
		"ingress tcp 8081/8081 " + inside + " accept 1 osworld-env: HTTP 8081 from the VPC",
		"ingress tcp 9222/9222 " + inside + " accept 1 osworld-env: Chrome DevTools from the VPC",
		"egress all -1/-1 0.0.0.0/0 accept 1 osworld-env: all traffic out",
	}
}

func TestAccAlicloudSecurityGroup_presets(t *testing.T) {
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: sgConfig("10.71.0.0/16", `  preset = "osworld-env"`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(sgAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("vpc_cidr_block"), knownvalue.StringExact("10.71.0.0/16")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("preset_rules"), knownvalue.SetSizeExact(9)),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("rules"), knownvalue.Null()),
				},
				Check: checkRules(t, osworldRules("10.71.0.0/16")...),
			},
			{
				ResourceName:      sgAddr,
				ImportState:       true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) { id, err := idOf(s, sgAddr); return "osworld-env/" + id, err },
				ImportStateVerify: true,
				// The block's default is read from the VPC, as after create.
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// The inside block is overridable; the six inside rules move to it in place.
				Config: sgConfig("10.71.0.0/16", `
  preset         = "osworld-env"
  vpc_cidr_block = "10.71.8.0/24"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(sgAddr, tfjsonpath.New("id"))},
				Check:             checkRules(t, osworldRules("10.71.8.0/24")...),
			},
			{
				// Another preset, plus a rule of its own, in place.
				Config: sgConfig("10.71.0.0/16", `
  preset = "sandbox-manager"
  rules  = [{ direction = "ingress", protocol = "tcp", port_range = "22/22", cidr_ip = "10.71.0.0/16", description = "ssh" }]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(sgAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("preset_rules"), knownvalue.SetSizeExact(2)),
				},
				Check: checkRules(t, "ingress tcp 443/443 0.0.0.0/0 accept 1 sandbox-manager: HTTPS",
					"ingress tcp 80/80 0.0.0.0/0 accept 1 sandbox-manager: HTTP", "ingress tcp 22/22 10.71.0.0/16 accept 1 ssh"),
			},
		},
	})
}

// revokeOutOfBand revokes the group's ingress rule on port, as someone in the console would.
func revokeOutOfBand(t *testing.T, id, port string) error {
	c := acctest.AlibabaConns(t)
	perms, err := describeRules(c, id)
	if err != nil {
		return err
	}
	for _, p := range perms {
		if p.PortRange == port+"/"+port && strings.EqualFold(p.Direction, "ingress") {
			req := ecs.CreateRevokeSecurityGroupRequest()
			alicloud.PointRPC(c, "ecs", req.RpcRequest)
			req.SecurityGroupId, req.SecurityGroupRuleId = id, &[]string{p.SecurityGroupRuleId}
			_, err := c.ECS.RevokeSecurityGroup(req)
			return err
		}
	}
	return fmt.Errorf("security group %s has no ingress rule on port %s", id, port)
}

// TestAccAlicloudSecurityGroup_drift: rules revoked or added outside Terraform show in the plan,
// and apply restores the configured set.
func TestAccAlicloudSecurityGroup_drift(t *testing.T) {
	config := sgConfig("10.72.0.0/16", `
  preset = "sandbox-manager"
  rules  = [{ direction = "ingress", protocol = "tcp", port_range = "8443/8443", cidr_ip = "10.72.0.0/16" }]`)
	want := []string{"ingress tcp 443/443 0.0.0.0/0 accept 1 sandbox-manager: HTTPS",
		"ingress tcp 80/80 0.0.0.0/0 accept 1 sandbox-manager: HTTP", "ingress tcp 8443/8443 10.72.0.0/16 accept 1 "}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  checkRules(t, want...),
			},
			{
				// Only a preset rule revoked: preset_rules shows it.
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, sgAddr)
					if err != nil {
						return err
					}
					return revokeOutOfBand(t, id, "443")
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				Check: checkRules(t, want...),
			},
			{
				// A rule of the configuration revoked, a stranger's rule added: rules shows both.
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, sgAddr)
					if err != nil {
						return err
					}
					if err := revokeOutOfBand(t, id, "8443"); err != nil {
						return err
					}
					c := acctest.AlibabaConns(t)
					req := ecs.CreateAuthorizeSecurityGroupRequest()
					alicloud.PointRPC(c, "ecs", req.RpcRequest)
					req.SecurityGroupId, req.IpProtocol, req.PortRange, req.SourceCidrIp = id, "tcp", "3389/3389", "0.0.0.0/0"
					_, err = c.ECS.AuthorizeSecurityGroup(req)
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				Check: checkRules(t, want...),
			},
		},
	})
}

// TestAccAlicloudSecurityGroup_disappears deletes the group out of band: the next plan creates it again.
func TestAccAlicloudSecurityGroup_disappears(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	config := f.ProviderConfig() + sgConfig("10.73.0.0/16", `  preset = "sandbox-manager"`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, sgAddr)
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
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					groups := f.SecurityGroups()
					if len(groups) != 1 || len(groups[0].Rules) != 2 {
						return fmt.Errorf("the fake holds %+v, want one group with the preset's two rules", groups)
					}
					return nil
				},
			},
		},
	})
}

// TestAccAlicloudSecurityGroup_faults survives a group invisible after its create, throttled rule
// changes and reads, and deletes refused while instances are released.
func TestAccAlicloudSecurityGroup_faults(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{
		Throttle: map[string]alifake.Throttle{
			"CreateSecurityGroup":            {Next: 1},
			"AuthorizeSecurityGroup":         {Next: 2},
			"AuthorizeSecurityGroupEgress":   {Next: 1},
			"RevokeSecurityGroup":            {Next: 1},
			"DescribeSecurityGroupAttribute": {Every: 3},
		},
		DependencyFailures: map[string]int{"DeleteSecurityGroup": 2},
	})
	vpcOnly := f.ProviderConfig() + `
resource "sandbox_alicloud_vpc" "test" {
  cidr_block = "10.74.0.0/16"
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             resource.ComposeTestCheckFunc(checkNoLeftovers(f), atLeastCalls(f, "DeleteSecurityGroup", 3)),
		Steps: []resource.TestStep{
			{
				// The VPC first, so that only the group is new (and invisible) in the next step.
				Config: vpcOnly,
				Check:  func(*terraform.State) error { f.SetNotFoundReads(2); return nil },
			},
			{
				Config: f.ProviderConfig() + sgConfig("10.74.0.0/16", `  preset = "osworld-env"`),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(sgAddr, "preset_rules.#", "9"),
					atLeastCalls(f, "CreateSecurityGroup", 2),
					atLeastCalls(f, "AuthorizeSecurityGroup", 3),
					atLeastCalls(f, "AuthorizeSecurityGroupEgress", 2),
					// Two NotFound answers for the new group, then reads before and after the rules.
					atLeastCalls(f, "DescribeSecurityGroups", 4),
				),
			},
			{
				Config: f.ProviderConfig() + sgConfig("10.74.0.0/16", `  preset = "sandbox-manager"`),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(sgAddr, "preset_rules.#", "2"),
					atLeastCalls(f, "RevokeSecurityGroup", 2),
				),
			},
		},
	})
}
