package provider

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func TestProviderSchemaIsValid(t *testing.T) {
	p := New("test")()
	var meta provider.MetadataResponse
	p.Metadata(context.Background(), provider.MetadataRequest{}, &meta)
	if meta.TypeName != "sandbox" || meta.Version != "test" {
		t.Fatalf("metadata = %+v, want type sandbox version test", meta)
	}
	var resp provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("schema diagnostics: %v", resp.Diagnostics)
	}
	if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema implementation: %v", diags)
	}
	if resp.Schema.Description == "" {
		t.Fatal("provider schema needs a description: docs are generated from it")
	}
}

func TestProviderAttributesHaveDescriptions(t *testing.T) {
	var resp provider.SchemaResponse
	New("test")().Schema(context.Background(), provider.SchemaRequest{}, &resp)
	for name, b := range resp.Schema.Blocks {
		if b.GetMarkdownDescription() == "" {
			t.Errorf("block %s has no description", name)
		}
		for attr, a := range b.GetNestedObject().GetAttributes() {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s.%s has no description", name, attr)
			}
		}
	}
	if !resp.Schema.Blocks["manager"].GetNestedObject().GetAttributes()["admin_key"].IsSensitive() ||
		!resp.Schema.Blocks["aws"].GetNestedObject().GetAttributes()["secret_key"].IsSensitive() {
		t.Error("manager.admin_key or aws.secret_key is not sensitive")
	}
}

func TestProviderRejectsEndpointUnknownAtPlan(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"sandbox": providerserver.NewProtocol6WithError(New("test")()),
		},
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "manager" {
  input = "http://127.0.0.1:3000"
}
provider "sandbox" {
  manager {
    endpoint  = terraform_data.manager.output
    admin_key = "k"
  }
}
data "sandbox_templates" "all" {}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Unknown Sandbox Manager endpoint.*known only after apply`),
		}},
	})
}

// withoutAWSEnvironment leaves the provider only what a test's configuration says about AWS: no
// credentials, region, profile or endpoints from this machine, no instance metadata.
func withoutAWSEnvironment(t *testing.T) {
	t.Helper()
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS",
		"AWS_ENDPOINT_URL_ROUTE_53", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

var testFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"sandbox": providerserver.NewProtocol6WithError(New("test")()),
}

// A configuration without AWS resources never loads AWS settings: a profile that does not exist
// is not an error until an AWS resource needs a client.
func TestProviderLoadsAWSOnlyForAWSResources(t *testing.T) {
	withoutAWSEnvironment(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{
			{
				Config: `
provider "sandbox" {
  aws {
    profile = "no-such-profile"
  }
}
resource "terraform_data" "x" {
  input = "no AWS here"
}
`,
			},
			{
				Config: `
provider "sandbox" {
  aws {
    profile = "no-such-profile"
  }
}
data "sandbox_aws_vpc" "default" {
  default = true
}
`,
				ExpectError: regexp.MustCompile(`(?s)AWS Profile Not Found.*"no-such-profile".*AWS_PROFILE`),
			},
		},
	})
}

func TestProviderMissingAWSRegion(t *testing.T) {
	withoutAWSEnvironment(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "sandbox" {
  aws {
    access_key = "AKIAEXAMPLE"
    secret_key = "secret"
  }
}
data "sandbox_aws_vpc" "default" {
  default = true
}
`,
			ExpectError: regexp.MustCompile(`(?s)Missing AWS Region.*region in the provider's aws block.*AWS_REGION`),
		}},
	})
}

func TestProviderMissingAWSCredentials(t *testing.T) {
	withoutAWSEnvironment(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "sandbox" {
  aws {
    region = "eu-west-1"
  }
}
data "sandbox_aws_vpc" "default" {
  default = true
}
`,
			ExpectError: regexp.MustCompile(`(?s)Missing AWS Credentials.*access_key and secret_key.*AWS_ACCESS_KEY_ID.*AWS_PROFILE`),
		}},
	})
}

func TestProviderAWSKeyPairTogether(t *testing.T) {
	withoutAWSEnvironment(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "sandbox" {
  aws {
    region     = "eu-west-1"
    access_key = "AKIAEXAMPLE"
  }
}
data "sandbox_aws_vpc" "default" {
  default = true
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Invalid Attribute Combination.*aws.access_key,aws.secret_key`),
		}},
	})
}

func TestProviderRejectsAWSRegionUnknownAtPlan(t *testing.T) {
	withoutAWSEnvironment(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "region" {
  input = "eu-west-1"
}
provider "sandbox" {
  aws {
    region = terraform_data.region.output
  }
}
data "sandbox_aws_vpc" "default" {
  default = true
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Unknown AWS Setting.*aws.region.*AWS_REGION`),
		}},
	})
}

func TestProviderRejectsBadEndpoint(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "sandbox" {
  aws {
    endpoints {
      ec2 = "127.0.0.1:4566"
    }
  }
}
data "sandbox_aws_vpc" "default" {
  default = true
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Invalid Endpoint URL.*http://`),
		}},
	})
}
