package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// withoutAlibabaEnvironment leaves the provider only what a test's configuration says about Alibaba
// Cloud.
func withoutAlibabaEnvironment(t *testing.T) {
	t.Helper()
	for _, v := range []string{alicloud.EnvAccessKey, alicloud.EnvSecretKey, alicloud.EnvRegion} {
		t.Setenv(v, "")
	}
	for _, p := range alicloud.Products {
		t.Setenv(alicloud.EnvEndpoint(p), "")
	}
}

func TestProviderAlicloudSecretIsSensitive(t *testing.T) {
	var resp provider.SchemaResponse
	New("test")().Schema(t.Context(), provider.SchemaRequest{}, &resp)
	b, ok := resp.Schema.Blocks["alicloud"]
	if !ok {
		t.Fatal("no alicloud block")
	}
	if !b.GetNestedObject().GetAttributes()["secret_key"].IsSensitive() {
		t.Error("alicloud.secret_key is not sensitive")
	}
	for _, p := range alicloud.Products {
		if _, ok := b.GetNestedObject().GetBlocks()["endpoints"].GetNestedObject().GetAttributes()[p]; !ok {
			t.Errorf("alicloud.endpoints has no %s", p)
		}
	}
}

// A configuration without Alibaba Cloud resources neither needs Alibaba settings nor contacts the
// endpoints it names.
func TestProviderContactsAlibabaOnlyForAlibabaResources(t *testing.T) {
	withoutAlibabaEnvironment(t)
	f := alifake.New(t, alifake.Options{})
	ak, sk := f.Credentials()
	block := fmt.Sprintf(`
provider "sandbox" {
  alicloud {
    region     = %q
    access_key = %q
    secret_key = %q
    endpoints {
      vpc = %q
      ecs = %q
    }
  }
}
`, f.Region(), ak, sk, f.URL(alifake.VPC), f.URL(alifake.ECS))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{
			{
				// No Alibaba settings at all, and no Alibaba resources: fine.
				Config: `resource "terraform_data" "x" { input = "no Alibaba Cloud here" }`,
			},
			{
				Config: block + `resource "terraform_data" "x" { input = "no Alibaba Cloud here" }`,
				Check: func(*terraform.State) error {
					for _, action := range []string{"DescribeVpcs", "DescribeRegions", "DescribeZones", "DescribeSecurityGroups"} {
						if n := f.CallCount(action); n != 0 {
							return fmt.Errorf("the provider called %s %d times without an Alibaba Cloud resource", action, n)
						}
					}
					return nil
				},
			},
			{
				// With one, the same block is used.
				Config: block + `data "sandbox_alicloud_vpc" "default" { default = true }`,
				Check: func(*terraform.State) error {
					if n := f.CallCount("DescribeVpcs"); n == 0 {
						return fmt.Errorf("the data source did not reach the fake")
					}
					return nil
				},
			},
		},
	})
}

func TestProviderAlicloudDiagnostics(t *testing.T) {
	withoutAlibabaEnvironment(t)
	lookup := `data "sandbox_alicloud_vpc" "default" { default = true }`
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{
			{
				Config:      lookup,
				ExpectError: regexp.MustCompile(`(?s)Missing Alibaba Cloud Settings.*region\s+\(or ALIBABA_CLOUD_REGION\).*access_key\s+\(or\s+ALIBABA_CLOUD_ACCESS_KEY_ID\).*secret_key\s+\(or\s+ALIBABA_CLOUD_ACCESS_KEY_SECRET\)`),
			},
			{
				Config:      "provider \"sandbox\" {\n  alicloud {\n    access_key = \"AK\"\n  }\n}\n" + lookup,
				ExpectError: regexp.MustCompile(`(?s)must be configured together:\s+\[alicloud.access_key,alicloud.secret_key\]`),
			},
			{
				Config:      "provider \"sandbox\" {\n  alicloud {\n    endpoints {\n      vpc = \"ftp://127.0.0.1:1\"\n    }\n  }\n}\n" + lookup,
				ExpectError: regexp.MustCompile(`(?s)Invalid Endpoint.*scheme\s+must be https or http`),
			},
			{
				Config: `
resource "terraform_data" "region" { input = "cn-hangzhou" }
provider "sandbox" {
  alicloud {
    region = terraform_data.region.output
  }
}
` + lookup,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Unknown Alibaba Cloud Setting.*ALIBABA_CLOUD_REGION`),
			},
		},
	})
}

// Wrong keys are told apart from a missing setting: the API's refusal names the attribute and the
// environment variables to check.
func TestProviderAlicloudRejectedCredentials(t *testing.T) {
	withoutAlibabaEnvironment(t)
	f := alifake.New(t, alifake.Options{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "sandbox" {
  alicloud {
    region     = %q
    access_key = "LTAI5tWrongKey"
    secret_key = "wrong"
    endpoints {
      vpc = %q
    }
  }
}
data "sandbox_alicloud_vpc" "default" { default = true }
`, f.Region(), f.URL(alifake.VPC)),
			ExpectError: regexp.MustCompile(`(?s)Alibaba Cloud Rejected the Credentials.*ALIBABA_CLOUD_ACCESS_KEY_ID`),
		}},
	})
}
