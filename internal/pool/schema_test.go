package pool

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
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

func TestConnectionValidators(t *testing.T) {
	ctx := context.Background()
	ca := testca.New(t, "x.test")
	for _, tc := range []struct {
		v    validator.String
		in   types.String
		want string // "" accepts
	}{
		{ConnectAddressValidator(), types.StringValue("203.0.113.10:443"), ""},
		{ConnectAddressValidator(), types.StringValue("lb.example.com:443"), ""},
		{ConnectAddressValidator(), types.StringUnknown(), ""},
		{ConnectAddressValidator(), types.StringValue("203.0.113.10"), "want host:port"},
		{CACertificateValidator(), types.StringValue(string(ca.CertPEM)), ""},
		{CACertificateValidator(), types.StringNull(), ""},
		{CACertificateValidator(), types.StringValue("-----BEGIN CERT"), "no PEM certificate"},
		{CACertificateValidator(), types.StringValue(string(ca.KeyPEM)), "want CERTIFICATE blocks"},
	} {
		var resp validator.StringResponse
		tc.v.ValidateString(ctx, validator.StringRequest{Path: path.Root("x"), ConfigValue: tc.in}, &resp)
		switch {
		case tc.want == "" && resp.Diagnostics.HasError():
			t.Errorf("%v rejected: %v", tc.in, resp.Diagnostics)
		case tc.want != "" && (!resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics[0].Detail(), tc.want)):
			t.Errorf("%v: %v, want an error containing %q", tc.in, resp.Diagnostics, tc.want)
		}
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

// The provider's connect address and CA apply to resources that use the provider's endpoint, never
// to one that names another manager.
func TestNewClientConnectionDefaults(t *testing.T) {
	ca := testca.New(t, "*.sandbox.test")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = ca.TLSConfig
	srv.StartTLS()
	t.Cleanup(srv.Close)
	d := framework.ManagerDefaults{Endpoint: "https://api.sandbox.test", AdminKey: "adm",
		ConnectAddress: srv.Listener.Addr().String(), CACertificate: string(ca.CertPEM)}
	null := types.StringNull()
	for name, tc := range map[string]struct {
		loc    managerLocation
		wantOK bool
	}{
		"provider's manager":           {managerLocation{Endpoint: null, AdminKey: null, ConnectAddress: null, CACertificate: null}, true},
		"same endpoint spelled again":  {managerLocation{Endpoint: types.StringValue("https://api.sandbox.test/"), AdminKey: null, ConnectAddress: null, CACertificate: null}, true},
		"another manager":              {managerLocation{Endpoint: types.StringValue("https://other.sandbox.test"), AdminKey: null, ConnectAddress: null, CACertificate: null}, false},
		"another manager, own address": {managerLocation{Endpoint: types.StringValue("https://other.sandbox.test"), AdminKey: null, ConnectAddress: types.StringValue(d.ConnectAddress), CACertificate: types.StringValue(d.CACertificate)}, true},
	} {
		t.Run(name, func(t *testing.T) {
			var diags diag.Diagnostics
			c := tc.loc.client(d, &diags)
			if diags.HasError() {
				t.Fatal(diags)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := c.Health(ctx); (err == nil) != tc.wantOK {
				t.Fatalf("Health() = %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
	var diags diag.Diagnostics
	managerLocation{Endpoint: null, AdminKey: null, ConnectAddress: types.StringValue("nope"), CACertificate: null}.client(d, &diags)
	if !diags.HasError() || !strings.Contains(diags[0].Detail(), "want host:port") {
		t.Fatalf("invalid connect address: %v", diags)
	}
}
