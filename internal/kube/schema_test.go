package kube_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/kube"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
)

func TestSchema(t *testing.T) {
	ctx := context.Background()
	var resp fwresource.SchemaResponse
	kube.NewManagerDeploymentResource().Schema(ctx, fwresource.SchemaRequest{}, &resp)
	if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
		t.Fatal(diags)
	}
	var walk func(prefix string, attrs map[string]schema.Attribute)
	walk = func(prefix string, attrs map[string]schema.Attribute) {
		for name, a := range attrs {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s%s has no description", prefix, name)
			}
			switch n := a.(type) {
			case schema.SingleNestedAttribute:
				walk(prefix+name+".", n.Attributes)
			case schema.ListNestedAttribute:
				walk(prefix+name+"[].", n.NestedObject.Attributes)
			}
		}
	}
	walk("", resp.Schema.Attributes)
	for _, secret := range []string{"kubeconfig", "token", "tls_private_key", "tls_private_key_wo", "admin_key"} {
		if !resp.Schema.Attributes[secret].IsSensitive() {
			t.Errorf("%s is not sensitive", secret)
		}
	}
}

// TestConfigValidation plans configurations that cannot work: Terraform refuses them before any
// cluster is contacted.
func TestConfigValidation(t *testing.T) {
	ca := testca.New(t, "*.sbx.example.test")
	other := testca.New(t, "*.sbx.example.test")
	resourceHCL := func(body string) string {
		return fmt.Sprintf("resource \"sandbox_manager_deployment\" \"test\" {\n  domain = \"sbx.example.test\"\n%s\n}\n", body)
	}
	step := func(body, want string) resource.TestStep {
		return resource.TestStep{Config: resourceHCL(body), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			step(`  kubeconfig = "x"
  host       = "https://h"
  token      = "t"`, `(?s)Invalid Attribute Combination.*kubeconfig`),
			step(`  tls_certificate = `+heredoc(string(ca.LeafPEM)), `Certificate Without Private Key`),
			step(`  tls_private_key_wo = `+heredoc(string(ca.KeyPEM)), `Private Key Without Certificate`),
			step(`  tls_certificate    = `+heredoc(string(ca.LeafPEM))+`
  tls_private_key_wo = `+heredoc(string(other.KeyPEM)), `Invalid TLS Certificate or Key`),
			step(`  replicas = 0`, `replicas`),
			step(`  namespace = "default"`, `(?s)namespace.*default`),
			step(`  namespace = "sbx"
  sandbox_namespace = "sbx"`, `Sandbox Namespace Is the Manager's`),
			step(`  service = { type = "Ingress" }`, `service.type`),
			step(`  resources = { cpu_limit = "lots" }`, `Invalid Quantity`),
			step(`  image = "ghcr.io/sandboxstack/sandbox-manager:1.0"`, `image repository without a tag`),
		},
	})
}
