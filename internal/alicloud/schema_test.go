package alicloud

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

func TestResourceSchemas(t *testing.T) {
	ctx := context.Background()
	for _, newResource := range []func() resource.Resource{NewVPCResource, NewVSwitchResource, NewSecurityGroupResource, NewDNSRecordResource} {
		r := newResource()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "sandbox"}, &meta)
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, resp.Diagnostics)
		}
		if d := resp.Schema.ValidateImplementation(ctx); d.HasError() {
			t.Errorf("%s: %v", meta.TypeName, d)
		}
		if resp.Schema.MarkdownDescription == "" {
			t.Errorf("%s has no description", meta.TypeName)
		}
		checkDescriptions(t, meta.TypeName, resp.Schema.Attributes)
		if _, ok := r.(resource.ResourceWithImportState); !ok {
			t.Errorf("%s cannot be imported", meta.TypeName)
		}
	}
	var resp datasource.SchemaResponse
	NewVPCDataSource().Schema(ctx, datasource.SchemaRequest{}, &resp)
	if d := resp.Schema.ValidateImplementation(ctx); d.HasError() {
		t.Errorf("sandbox_alicloud_vpc data source: %v", d)
	}
	for name, a := range resp.Schema.Attributes {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("data source attribute %s has no description", name)
		}
	}
}

func checkDescriptions(t *testing.T, prefix string, attrs map[string]rschema.Attribute) {
	t.Helper()
	for name, a := range attrs {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("%s.%s has no description", prefix, name)
		}
		if n, ok := a.(rschema.SetNestedAttribute); ok {
			checkDescriptions(t, prefix+"."+name, n.NestedObject.Attributes)
		}
	}
}

func TestSettingsFallBackToTheEnvironment(t *testing.T) {
	t.Setenv(EnvRegion, "cn-shanghai")
	t.Setenv(EnvAccessKey, "env-ak")
	t.Setenv(EnvSecretKey, "env-sk")
	t.Setenv(EnvEndpoint("vpc"), "http://127.0.0.1:1")
	t.Setenv(EnvEndpoint("ecs"), "")
	s := Settings(framework.AlibabaSettings{Region: "cn-hangzhou",
		Endpoints: framework.AlibabaEndpoints{ECS: "https://ecs.example"}})
	if s.Region != "cn-hangzhou" || s.AccessKey != "env-ak" || s.SecretKey != "env-sk" ||
		s.Endpoints.VPC != "http://127.0.0.1:1" || s.Endpoints.ECS != "https://ecs.example" {
		t.Fatalf("settings = %+v", s)
	}
	// A key pair in the block is used whole: never a block key with an environment secret.
	s = Settings(framework.AlibabaSettings{AccessKey: "block-ak", SecretKey: "block-sk"})
	if s.AccessKey != "block-ak" || s.SecretKey != "block-sk" {
		t.Fatalf("settings = %+v", s)
	}
}

func TestConnsScheme(t *testing.T) {
	t.Setenv(EnvRegion, "")
	t.Setenv(EnvAccessKey, "")
	t.Setenv(EnvSecretKey, "")
	for _, p := range Products {
		t.Setenv(EnvEndpoint(p), "")
	}
	c, err := newConns(&framework.ProviderData{Alibaba: framework.AlibabaSettings{Region: "cn-hangzhou", AccessKey: "a", SecretKey: "b",
		Endpoints: framework.AlibabaEndpoints{VPC: "http://127.0.0.1:9"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Production requests go over HTTPS; an http:// endpoint (a local fake) is used as written.
	if e, ok := c.Endpoint("vpc"); !ok || e.Scheme != "HTTP" || e.Host != "127.0.0.1" || e.Port != "9" {
		t.Fatalf("vpc endpoint = %+v, %t", e, ok)
	}
	if _, ok := c.Endpoint("ecs"); ok {
		t.Fatal("ecs has an endpoint nobody configured")
	}
	if _, err := newConns(&framework.ProviderData{Alibaba: framework.AlibabaSettings{AccessKey: "a"}}); err == nil ||
		!strings.Contains(err.Error(), "only one of access_key and secret_key") {
		t.Fatalf("half a key pair: %v", err)
	}
	_, err = newConns(&framework.ProviderData{Alibaba: framework.AlibabaSettings{Region: "r", AccessKey: "a", SecretKey: "b",
		Endpoints: framework.AlibabaEndpoints{CS: "https://cs.example/v1"}}})
	if err == nil || !strings.Contains(err.Error(), "endpoints.cs") || !strings.Contains(err.Error(), "ALIBABA_CLOUD_ENDPOINT_CS") {
		t.Fatalf("bad endpoint: %v", err)
	}
}

func TestPresetRules(t *testing.T) {
	rules := presetRules(PresetOSWorldEnv, "10.1.0.0/16")
	inside, anywhereIn, egress := 0, 0, 0
	for _, r := range rules {
		switch {
		case r.Direction == "egress":
			egress++
			if r.Protocol != "all" || r.PortRange != "-1/-1" || r.CIDR != anywhere {
				t.Errorf("egress rule %v, want all traffic out", r)
			}
		case r.CIDR == "10.1.0.0/16":
			inside++
		case r.CIDR == anywhere:
			anywhereIn++
			if r.PortRange != "22/22" && r.PortRange != "5910/5910" {
				t.Errorf("%v is open to anywhere", r)
			}
		}
	}
	if inside != 6 || anywhereIn != 2 || egress != 1 {
		t.Fatalf("osworld-env: %d inside, %d from anywhere, %d egress; want 6, 2, 1", inside, anywhereIn, egress)
	}
	for _, r := range presetRules(PresetSandboxManager, "") {
		if r.CIDR != anywhere || (r.PortRange != "443/443" && r.PortRange != "80/80") {
			t.Errorf("sandbox-manager rule %v", r)
		}
	}
}

func TestPortRangeProblem(t *testing.T) {
	for _, ok := range [][2]string{{"tcp", "443/443"}, {"udp", "1/65535"}, {"all", "-1/-1"}, {"icmp", "-1/-1"}} {
		if p := portRangeProblem(ok[0], ok[1]); p != "" {
			t.Errorf("%v: %s", ok, p)
		}
	}
	for _, bad := range [][2]string{{"tcp", "0/80"}, {"tcp", "80/70"}, {"tcp", "1/65536"}, {"all", "1/2"}, {"gre", "0/0"}, {"tcp", "a/b"}} {
		if portRangeProblem(bad[0], bad[1]) == "" {
			t.Errorf("%v accepted", bad)
		}
	}
}
