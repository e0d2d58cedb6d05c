package acmeresource

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

func TestACMECertificateSchema(t *testing.T) {
	var resp resource.SchemaResponse
	NewCertificateResource().Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("invalid schema: %v", diags)
	}
	var walk func(prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block)
	walk = func(prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block) {
		for name, a := range attrs {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("attribute %s%s has no description", prefix, name)
			}
		}
		for name, b := range blocks {
			if name == "timeouts" {
				continue
			}
			if b.GetMarkdownDescription() == "" {
				t.Errorf("block %s%s has no description", prefix, name)
			}
			o := b.GetNestedObject()
			nested := map[string]schema.Block{}
			for k, v := range o.GetBlocks() {
				nested[k] = v.(schema.Block)
			}
			nestedAttrs := map[string]schema.Attribute{}
			for k, v := range o.GetAttributes() {
				nestedAttrs[k] = v.(schema.Attribute)
			}
			walk(prefix+name+".", nestedAttrs, nested)
		}
	}
	walk("", resp.Schema.Attributes, resp.Schema.Blocks)
	for _, secret := range []string{"account_key_pem", "private_key_pem"} {
		if !resp.Schema.Attributes[secret].IsSensitive() {
			t.Errorf("%s is not sensitive", secret)
		}
	}
	for _, attr := range issuedAttributes {
		if _, ok := resp.Schema.Attributes[attr]; !ok {
			t.Errorf("issued attribute %s is not in the schema", attr)
		}
	}
}

func TestACMENamePattern(t *testing.T) {
	for name, ok := range map[string]bool{
		"sbx.example.com": true, "*.sbx.example.com": true, "a-b.example.com": true, "xn--bcher-kva.example": true,
		"example": false, "*.example": false, "Sbx.example.com": false, "a.*.example.com": false, "*example.com": false,
		"-a.example.com": false, "a..example.com": false, "": false,
	} {
		if got := namePattern.MatchString(name); got != ok {
			t.Errorf("%q: valid %t, want %t", name, got, ok)
		}
	}
}
