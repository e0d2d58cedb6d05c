package alicloud_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
)

func TestAccAlicloudVPCDataSource(t *testing.T) {
	name := acctest.RandomName()
	config := fmt.Sprintf(`
resource "sandbox_alicloud_vpc" "test" {
  cidr_block  = "10.80.0.0/16"
  name        = %[1]q
  description = "looked up"
  tags        = { Name = %[1]q, role = "lookup" }
}

resource "sandbox_alicloud_vswitch" "test" {
  vpc_id     = sandbox_alicloud_vpc.test.id
  zone_id    = %[2]q
  cidr_block = "10.80.1.0/24"
}

data "sandbox_alicloud_vpc" "by_id" {
  id         = sandbox_alicloud_vpc.test.id
  depends_on = [sandbox_alicloud_vswitch.test]
}

data "sandbox_alicloud_vpc" "by_name" {
  name = sandbox_alicloud_vpc.test.name
}

data "sandbox_alicloud_vpc" "by_tags" {
  tags = { Name = %[1]q, role = "lookup" }
  depends_on = [sandbox_alicloud_vpc.test]
}

data "sandbox_alicloud_vpc" "default" {
  default = true
}
`, name, testZone())
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		CheckDestroy:             checkDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("id"), vpcAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.CompareValuePairs("data.sandbox_alicloud_vpc.by_name", tfjsonpath.New("id"), vpcAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.CompareValuePairs("data.sandbox_alicloud_vpc.by_tags", tfjsonpath.New("id"), vpcAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("cidr_block"), knownvalue.StringExact("10.80.0.0/16")),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("description"), knownvalue.StringExact("looked up")),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("default"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("vswitch_ids"), knownvalue.ListSizeExact(1)),
					statecheck.CompareValuePairs("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("vswitch_ids").AtSliceIndex(0),
						vswitchAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.by_id", tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Name": knownvalue.StringExact(name), "role": knownvalue.StringExact("lookup"),
					})),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.default", tfjsonpath.New("default"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.sandbox_alicloud_vpc.default", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^vpc-`))),
				},
			},
		},
	})
}

func TestAccAlicloudVPCDataSource_errors(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheckAlibaba(t) },
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config:      `data "sandbox_alicloud_vpc" "none" { name = "tf-acc-test-no-such-vpc" }`,
				ExpectError: regexp.MustCompile(`(?s)No Matching VPC.*name "tf-acc-test-no-such-vpc"`),
			},
			{
				Config:      `data "sandbox_alicloud_vpc" "any" {}`,
				ExpectError: regexp.MustCompile(`(?s)At least one of these attributes must be configured`),
			},
		},
	})
}
