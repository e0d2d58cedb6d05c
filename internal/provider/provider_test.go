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
	if !resp.Schema.Blocks["manager"].GetNestedObject().GetAttributes()["admin_key"].IsSensitive() {
		t.Error("manager.admin_key is not sensitive")
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
