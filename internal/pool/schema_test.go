package pool

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

func TestResourceSchemas(t *testing.T) {
	ctx := context.Background()
	for _, newR := range []func() resource.Resource{NewPoolResource, NewAPIKeyResource} {
		r := newR()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "sandbox"}, &meta)
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, resp.Diagnostics)
		}
		if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, diags)
		}
		if resp.Schema.MarkdownDescription == "" {
			t.Errorf("%s has no description", meta.TypeName)
		}
		for name, a := range resp.Schema.Attributes {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s.%s has no description", meta.TypeName, name)
			}
		}
		for _, secret := range []string{"admin_key"} {
			if !resp.Schema.Attributes[secret].IsSensitive() {
				t.Errorf("%s.%s is not sensitive", meta.TypeName, secret)
			}
		}
	}
}

func TestTemplatesDataSourceSchema(t *testing.T) {
	ctx := context.Background()
	var resp datasource.SchemaResponse
	NewTemplatesDataSource().Schema(ctx, datasource.SchemaRequest{}, &resp)
	if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
		t.Fatal(diags)
	}
	for name, a := range resp.Schema.Attributes {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("sandbox_templates.%s has no description", name)
		}
	}
}

func TestPoolNamePattern(t *testing.T) {
	for _, ok := range []string{"a", "warm", "code-interpreter", "p1", strings.Repeat("a", 63), "0-0"} {
		if !PoolNamePattern.MatchString(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a_b", "a.b", strings.Repeat("a", 64), "ä"} {
		if PoolNamePattern.MatchString(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEndpointValidator(t *testing.T) {
	ctx := context.Background()
	check := func(v types.String) diag.Diagnostics {
		var resp validator.StringResponse
		EndpointValidator().ValidateString(ctx, validator.StringRequest{Path: path.Root("endpoint"), ConfigValue: v}, &resp)
		return resp.Diagnostics
	}
	for _, v := range []types.String{types.StringValue("http://127.0.0.1:3000"), types.StringNull(), types.StringUnknown()} {
		if d := check(v); d.HasError() {
			t.Errorf("%v: %v", v, d)
		}
	}
	if d := check(types.StringValue("127.0.0.1:3000")); !d.HasError() {
		t.Error("an endpoint without scheme was accepted")
	}
}

func TestSplitImportID(t *testing.T) {
	for in, want := range map[string][2]string{
		"warm":                        {"", "warm"},
		"http://127.0.0.1:3000|warm":  {"http://127.0.0.1:3000", "warm"},
		" https://m.example | warm  ": {"https://m.example", "warm"},
	} {
		var d diag.Diagnostics
		ep, id := splitImportID(in, "name", &d)
		if d.HasError() || ep != want[0] || id != want[1] {
			t.Errorf("splitImportID(%q) = %q, %q, %v", in, ep, id, d)
		}
	}
	for _, in := range []string{"", "|warm", "http://h|", "ftp://h|warm"} {
		var d diag.Diagnostics
		if splitImportID(in, "name", &d); !d.HasError() {
			t.Errorf("splitImportID(%q) accepted", in)
		}
	}
}

func TestEffectiveEndpoint(t *testing.T) {
	d := framework.ManagerDefaults{Endpoint: "http://127.0.0.1:3000/"}
	if got, ok := effectiveEndpoint(types.StringNull(), d); !ok || got != "http://127.0.0.1:3000" {
		t.Errorf("null → %q, %v", got, ok)
	}
	if got, ok := effectiveEndpoint(types.StringValue("http://other:3000"), d); !ok || got != "http://other:3000" {
		t.Errorf("own → %q, %v", got, ok)
	}
	if _, ok := effectiveEndpoint(types.StringUnknown(), d); ok {
		t.Error("unknown reported known")
	}
}
