package modules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/sdkcheck"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/stack"
)

// The end-to-end tests apply each module as a user does — `terraform apply` of a root configuration
// that calls the module, with the provider installed as `make install` installs it — against the
// cloud fakes, a real Kubernetes control plane with a test node, and Pebble. The root configuration
// differs from a real run's only in the provider's endpoints and credentials, and in what it is told
// to trust and ask (the test CA, the test DNS server). Then the unchanged E2B SDK, given only the
// module's outputs, runs the product guide's demo over HTTPS, names resolving through the DNS server
// that publishes what the cloud DNS fake holds.

// sdkChecks are what the SDK check runs against a deployment: the code interpreter's demo, a
// desktop's screenshot and a CDP session of the browser template.
var sdkChecks = []string{sdkcheck.CodeInterpreter, sdkcheck.Desktop, sdkcheck.Browser}

func TestMain(m *testing.M) {
	code := m.Run()
	stack.RemoveProviderMirror()
	kubenode.RemoveBinaries()
	os.Exit(code)
}

func requireAcc(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("end-to-end test of the modules: set TF_ACC=1 (make test does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// hcl quotes s as an HCL string literal: JSON's escapes, which HCL shares, and template sequences
// escaped so that PEM or YAML text is taken literally.
func hcl(s string) string {
	b, _ := json.Marshal(s)
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(string(b))
}

// rootConfig is a root module that calls the module in dir with the arguments, configures the provider
// for the stack, and passes the named outputs of the module through.
func rootConfig(s *stack.Stack, version, dir, args string, outputs map[string]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_providers {
    sandbox = {
      source  = "sandboxstack/sandbox"
      version = %q
    }
  }
}

%s
module "this" {
  source = %q
%s}
`, version, s.ProviderConfig(), dir, args)
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		fmt.Fprintf(&b, "\noutput %q {\n  value     = module.this.%s\n  sensitive = %t\n}\n", name, name, outputs[name])
	}
	return b.String()
}

func moduleDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// acmeArgs are the module arguments of a test run's certificate: Pebble's directory and server
// certificate, the stack's DNS server for the propagation check (which it cannot do through a server
// that answers no NS queries for the zone), and Pebble's root for the provider's calls to the manager.
func acmeArgs(s *stack.Stack) string {
	return fmt.Sprintf(`  acme_email                  = "ops@example.test"
  acme_directory_url          = %s
  acme_server_ca_certificates = %s
  acme_recursive_nameservers  = [%q]
  acme_skip_propagation_check = true
  ca_certificate              = %s
`, hcl(s.ACME.DirectoryURL()), hcl(string(s.ACME.ServerCAPEM())), s.DNS.Addr(), hcl(string(s.ACME.RootPEM())))
}

// checkDeployment is what a user does with the outputs: api.<domain> answers over HTTPS with a
// certificate of the CA, and the unchanged SDK, configured with E2B_DOMAIN and E2B_API_KEY, runs the
// demo, takes a desktop screenshot and opens a CDP session of the browser template.
func checkDeployment(ctx context.Context, t *testing.T, s *stack.Stack, domain, apiKey string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api."+domain+"/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET https://api.%s/health through the published DNS record: %v", domain, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET https://api.%s/health: %s %s", domain, resp.Status, body)
	}

	start := time.Now()
	res, err := sdkcheck.Run(ctx, sdkcheck.Options{Domain: domain, APIKey: apiKey, CAFile: s.CAFile(t),
		DNSServer: s.DNS.Addr(), Checks: sdkChecks})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sdkcheck %v: %s; the demo's stdout chunks: %q", sdkChecks, time.Since(start).Round(100*time.Millisecond), res.DemoOutputs)
	if want := sdkcheck.WantDemoOutputs(); !sdkcheck.OutputsMatch(res.DemoOutputs, want) {
		t.Errorf("demo outputs %q, want %q", res.DemoOutputs, want)
	}
	if res.FileContent != sdkcheck.WantFileContent {
		t.Errorf("file read back %q, want %q", res.FileContent, sdkcheck.WantFileContent)
	}
	if res.ScreenshotBytes == 0 {
		t.Error("the desktop screenshot is empty")
	}
	if res.BrowserTitle != sdkcheck.WantBrowserTitle {
		t.Errorf("the page opened over CDP has title %q, want %q", res.BrowserTitle, sdkcheck.WantBrowserTitle)
	}
}

// planIsEmpty fails the test if a plan right after an apply has changes.
func planIsEmpty(ctx context.Context, t *testing.T, tf *stack.Terraform) {
	t.Helper()
	if changes, plan := tf.Plan(ctx); changes {
		t.Errorf("the plan after apply is not empty:\n%s", plan)
	}
}

// destroyLeavesNothing destroys and fails the test if anything the configuration made is left in the
// fakes or the cluster.
func destroyLeavesNothing(ctx context.Context, t *testing.T, s *stack.Stack, tf *stack.Terraform, keep ...string) {
	t.Helper()
	// The check sees the deployment before destroy, so that an empty list after it means something.
	before, err := s.Leftovers(ctx, keep...)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"cluster namespace sandbox-system", "cluster namespace sandboxes", "cluster crd ",
		"cluster clusterrole ", "cluster sandbox "} {
		if !slices.ContainsFunc(before, func(l string) bool { return strings.HasPrefix(l, prefix) }) {
			t.Errorf("before destroy, the leftover check sees no %q in:\n%s", prefix, strings.Join(before, "\n"))
		}
	}
	tf.Destroy(ctx)
	left, err := s.Leftovers(ctx, keep...)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("terraform destroy left:\n%s", strings.Join(left, "\n"))
	}
}

func TestACSModuleOneApply(t *testing.T) {
	ctx := requireAcc(t)
	s := stack.Start(t, stack.Options{AlidnsDomains: []string{"example.cn"}, ClusterCreateTime: 5 * time.Second})
	mirror := stack.ProviderMirror(t)
	tf := stack.NewTerraform(t, t.TempDir())
	const domain = "sbx.example.cn"
	tf.WriteFile("main.tf", rootConfig(s, mirror.Version, moduleDir(t, "alicloud-acs-sandbox"), fmt.Sprintf(`
  region         = %q
  vpc_cidr_block = "10.10.0.0/16"
  vswitches      = [{ zone_id = "%s-a", cidr_block = "10.10.1.0/24" }]
  domain         = %q
  dns_domain     = "example.cn"

  manager_replicas = 1
  pool_sizes       = { code_interpreter = 1 }
%s`, s.Ali.Region(), s.Ali.Region(), domain, acmeArgs(s)), map[string]bool{
		"e2b_domain": false, "e2b_api_key": true, "cluster_id": false, "vpc_id": false, "vswitch_ids": false,
		"security_group_id": false, "cas_certificate_id": false, "load_balancer_address": false,
	}))
	tf.Init(ctx)
	tf.Apply(ctx)
	out := tf.Outputs(ctx)

	// The outputs are what the fake holds.
	if got := tf.String(out, "e2b_domain"); got != domain {
		t.Errorf("e2b_domain = %q, want %q", got, domain)
	}
	clusters := s.Ali.Clusters()
	if len(clusters) != 1 || clusters[0].ID != tf.String(out, "cluster_id") || clusters[0].State != "running" ||
		clusters[0].VPCID != tf.String(out, "vpc_id") {
		t.Errorf("cluster_id %s, vpc_id %s; the fake holds the clusters %+v", tf.String(out, "cluster_id"), tf.String(out, "vpc_id"), clusters)
	}
	var vswitchIDs []string
	if err := json.Unmarshal(out["vswitch_ids"].Value, &vswitchIDs); err != nil {
		t.Fatalf("vswitch_ids = %s: %v", out["vswitch_ids"].Value, err)
	}
	var held []string
	for _, vs := range s.Ali.VSwitches() {
		if vs.VPCID == tf.String(out, "vpc_id") && vs.CIDR == "10.10.1.0/24" {
			held = append(held, vs.ID)
		}
	}
	if !slices.Equal(vswitchIDs, held) || len(clusters) != 1 || !slices.Equal(clusters[0].VSwitchIDs, held) {
		t.Errorf("vswitch_ids = %q; the fake holds %q in the VPC, the cluster uses %+v", vswitchIDs, held, clusters)
	}
	if !slices.ContainsFunc(s.Ali.SecurityGroups(), func(g alifake.SecurityGroupInfo) bool {
		return g.ID == tf.String(out, "security_group_id") && g.VPCID == tf.String(out, "vpc_id")
	}) {
		t.Errorf("security_group_id = %s; the fake holds %+v", tf.String(out, "security_group_id"), s.Ali.SecurityGroups())
	}
	certs := s.Ali.Certificates()
	if len(certs) != 1 || strconv.FormatInt(certs[0].ID, 10) != tf.String(out, "cas_certificate_id") || !slices.Contains(certs[0].SANs, "*."+domain) {
		t.Errorf("cas_certificate_id = %s; the fake holds %+v", tf.String(out, "cas_certificate_id"), certs)
	}
	records := s.Ali.Records()
	if len(records) != 1 || records[0].FQDN != "*."+domain || records[0].Value != tf.String(out, "load_balancer_address") {
		t.Errorf("Alidns records %+v, want one *.%s at %s", records, domain, tf.String(out, "load_balancer_address"))
	}

	checkDeployment(ctx, t, s, domain, tf.String(out, "e2b_api_key"))
	planIsEmpty(ctx, t, tf)
	destroyLeavesNothing(ctx, t, s, tf)
}

// osworldImage is the us-east-1 image of OSWorld's IMAGE_ID_MAP, the module's default: public, owned
// by another account, as in AWS.
var osworldImage = awsfake.Image{ID: "ami-0d23263edb96951d8", Name: "osworld-env-1920x1080", OwnerID: "211125610402",
	Public: true, Architecture: "x86_64"}

func TestAWSModuleOneApply(t *testing.T) {
	ctx := requireAcc(t)
	const zone, domain = "example.com", "sbx.example.com"
	s := stack.Start(t, stack.Options{Route53Zones: []string{zone}})
	mirror := stack.ProviderMirror(t)
	if s.AWS.Region() != "us-east-1" {
		t.Fatalf("the AWS fake serves %s; the module's default image map has us-east-1", s.AWS.Region())
	}
	s.AWS.AddImage(osworldImage)

	// A VPC someone made in the console, which the module adopts.
	key, secret := s.AWS.Credentials()
	ec2c := ec2.New(ec2.Options{Region: s.AWS.Region(), BaseEndpoint: aws.String(s.AWS.EC2URL()),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16"), TagSpecifications: []ec2types.TagSpecification{{
		ResourceType: ec2types.ResourceTypeVpc, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("made-in-the-console")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)

	tf := stack.NewTerraform(t, t.TempDir())
	outputs := map[string]bool{"vpc_id": false, "aws_region": false, "aws_subnet_id": false, "aws_security_group_id": false,
		"host_security_group_id": false, "image_id_map_entry": false, "e2b_domain": false, "e2b_api_key": true,
		"load_balancer_address": false}
	base := fmt.Sprintf(`
  region = %q
  vpc_id = %q
`, s.AWS.Region(), vpcID)

	// Without the optional inputs: OSWorld's network in the adopted VPC.
	tf.WriteFile("main.tf", rootConfig(s, mirror.Version, moduleDir(t, "aws-osworld"), base, outputs))
	tf.Init(ctx)
	tf.Apply(ctx)
	out := tf.Outputs(ctx)
	if got := tf.String(out, "vpc_id"); got != vpcID {
		t.Errorf("vpc_id = %q, want the adopted %q", got, vpcID)
	}
	if got := tf.String(out, "aws_region"); got != s.AWS.Region() {
		t.Errorf("aws_region = %q, want %q", got, s.AWS.Region())
	}
	var subnets []awsfake.Subnet
	for _, sn := range s.AWS.Subnets() {
		if sn.VPCID == vpcID {
			subnets = append(subnets, sn)
		}
	}
	if len(subnets) != 1 || subnets[0].ID != tf.String(out, "aws_subnet_id") || subnets[0].CIDR != "10.20.200.0/24" {
		t.Errorf("aws_subnet_id = %s; the adopted VPC's subnets in the fake: %+v", tf.String(out, "aws_subnet_id"), subnets)
	}
	groups := map[string]awsfake.SecurityGroup{}
	for _, g := range s.AWS.SecurityGroups() {
		groups[g.ID] = g
	}
	for output, name := range map[string]string{"aws_security_group_id": "osworld-env", "host_security_group_id": "osworld-host"} {
		if g, ok := groups[tf.String(out, output)]; !ok || g.Name != name || g.VPCID != vpcID {
			t.Errorf("%s = %s: the fake holds %+v, want group %s in %s", output, tf.String(out, output), g, name, vpcID)
		}
	}
	var images map[string]string
	if err := json.Unmarshal(out["image_id_map_entry"].Value, &images); err != nil || images[s.AWS.Region()] != osworldImage.ID {
		t.Errorf("image_id_map_entry = %s (%v), want {%q: %q}", out["image_id_map_entry"].Value, err, s.AWS.Region(), osworldImage.ID)
	}
	// Terraform leaves null outputs out of the state.
	if o, ok := out["e2b_domain"]; ok && string(o.Value) != "null" {
		t.Errorf("e2b_domain = %s without a domain, want null", o.Value)
	}
	planIsEmpty(ctx, t, tf)

	// With the optional inputs: the manager in the cluster, *.<domain> in Route 53, pools and a key.
	tf.WriteFile("main.tf", rootConfig(s, mirror.Version, moduleDir(t, "aws-osworld"), base+fmt.Sprintf(`
  domain            = %q
  route53_zone_name = %q
  kubeconfig        = %s

  manager_replicas = 1
  pool_sizes       = { code_interpreter = 1 }
%s`, domain, zone, hcl(s.Kubeconfig(t)), acmeArgs(s)), outputs))
	tf.Apply(ctx)
	out = tf.Outputs(ctx)
	if got := tf.String(out, "e2b_domain"); got != domain {
		t.Errorf("e2b_domain = %q, want %q", got, domain)
	}
	lb := tf.String(out, "load_balancer_address")
	var wildcard []string
	for _, rs := range s.AWS.RecordSets(s.ZoneID(zone)) {
		if rs.Name == "*."+domain+"." {
			wildcard = append(wildcard, rs.Type+" "+strings.Join(rs.Values, ","))
		}
	}
	if !slices.Equal(wildcard, []string{"A " + lb}) {
		t.Errorf("Route 53 holds %q for *.%s, want the A record %s", wildcard, domain, lb)
	}
	checkDeployment(ctx, t, s, domain, tf.String(out, "e2b_api_key"))
	planIsEmpty(ctx, t, tf)

	destroyLeavesNothing(ctx, t, s, tf, vpcID)
	if !slices.ContainsFunc(s.AWS.VPCs(), func(v awsfake.VPC) bool { return v.ID == vpcID }) {
		t.Errorf("destroy deleted the adopted VPC %s", vpcID)
	}
}
