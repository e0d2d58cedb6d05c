package acmeresource

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
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

// ModifyPlan plans a renewal exactly when fewer than min_days_remaining days are left.
func TestACMECertificatePlansRenewalInsideTheWindow(t *testing.T) {
	ctx := context.Background()
	notAfter := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		now     time.Time
		minDays int64
		renew   bool
	}{
		{"31 days left, window 30", notAfter.Add(-31 * day), 30, false},
		{"29 days left, window 30", notAfter.Add(-29 * day), 30, true},
		{"29 days left, window 0", notAfter.Add(-29 * day), 0, false},
		{"expired, window 0", notAfter.Add(time.Second), 0, true},
		{"89 days left, window 100", notAfter.Add(-89 * day), 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &certificateResource{ResourceBase: framework.NewResourceBase("acme_certificate"), now: func() time.Time { return tc.now }}
			var sresp resource.SchemaResponse
			r.Schema(ctx, resource.SchemaRequest{}, &sresp)
			state := issuedModel(notAfter, 30)
			plan := issuedModel(notAfter, tc.minDays)
			st := tfsdk.State{Schema: sresp.Schema}
			pl := tfsdk.Plan{Schema: sresp.Schema}
			if d := st.Set(ctx, &state); d.HasError() {
				t.Fatal(d)
			}
			if d := pl.Set(ctx, &plan); d.HasError() {
				t.Fatal(d)
			}
			resp := resource.ModifyPlanResponse{Plan: pl}
			r.ModifyPlan(ctx, resource.ModifyPlanRequest{State: st, Plan: pl, Config: tfsdk.Config{Schema: sresp.Schema, Raw: pl.Raw}}, &resp)
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			for _, attr := range issuedAttributes {
				var v types.String
				resp.Plan.GetAttribute(ctx, path.Root(attr), &v)
				if v.IsUnknown() != tc.renew {
					t.Errorf("%s unknown %t; want %t (renewal planned)", attr, v.IsUnknown(), tc.renew)
				}
			}
			var names types.List
			resp.Plan.GetAttribute(ctx, path.Root("names"), &names)
			if names.IsUnknown() {
				t.Error("names became unknown")
			}
		})
	}
}

func issuedModel(notAfter time.Time, minDays int64) certificateModel {
	s := types.StringValue
	return certificateModel{
		ID: s("https://ca.test/cert/1"), DirectoryURL: s("https://ca.test/dir"), CACertificatesPEM: types.StringNull(),
		AccountEmail: types.StringNull(), AccountKeyPEM: s("key"), AccountURL: s("https://ca.test/acct/1"),
		Names:   types.ListValueMust(types.StringType, []attr.Value{s("*.a.test"), s("a.test")}),
		KeyType: s("P256"), Profile: types.StringNull(), MinDaysRemaining: types.Int64Value(minDays),
		RevokeOnDestroy: types.BoolValue(true),
		DNSChallenge: &dnsChallengeModel{Route53: &route53Model{HostedZoneID: s("Z1")},
			RecursiveNameservers: types.ListNull(types.StringType), SkipPropagationCheck: types.BoolNull(),
			PropagationTimeout: types.StringNull(), PollingInterval: types.StringNull()},
		CertificatePEM: s("cert"), IssuerPEM: s("issuer"), PrivateKeyPEM: s("pk"),
		NotBefore: s(notAfter.Add(-90 * 24 * time.Hour).Format(time.RFC3339)), NotAfter: s(notAfter.Format(time.RFC3339)),
		Serial: s("1"), CertificateURL: s("https://ca.test/cert/1"),
		Timeouts: timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
			"create": types.StringType, "update": types.StringType, "delete": types.StringType})},
	}
}
