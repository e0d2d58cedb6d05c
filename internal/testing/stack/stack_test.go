package stack_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/stack"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stack.RemoveProviderMirror()
	kubenode.RemoveBinaries()
	os.Exit(code)
}

// TestStack applies, through the installed provider and the Alibaba Cloud fakes' endpoints, a wildcard
// record and a certificate: the CA validates the challenges the provider writes into Alidns through the
// stack's DNS server, which also resolves the wildcard record. A second plan is empty, and destroy
// leaves nothing. (The Route 53 side of the DNS server is tested in package zonedns; the modules'
// end-to-end tests use both.)
func TestStack(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := stack.Start(t, stack.Options{AlidnsDomains: []string{"ali.test"}})
	if left, err := s.Leftovers(ctx); err != nil || len(left) > 0 {
		t.Fatalf("a new stack holds %q (%v)", left, err)
	}
	version := stack.ProviderMirror(t).Version

	tf := stack.NewTerraform(t, t.TempDir())
	tf.WriteFile("main.tf", fmt.Sprintf(`
terraform {
  required_providers {
    sandbox = {
      source  = "sandboxstack/sandbox"
      version = %q
    }
  }
}

%s

locals {
  acme_directory = %q
  acme_tls_ca    = %q
  resolvers      = [%q]
}

resource "sandbox_alicloud_dns_record" "sandboxes" {
  domain_name = "ali.test"
  rr          = "*.sbx"
  type        = "A"
  value       = "127.0.0.1"
}

resource "sandbox_acme_certificate" "sandboxes" {
  directory_url       = local.acme_directory
  ca_certificates_pem = local.acme_tls_ca
  account_email       = "ops@ali.test"
  names               = ["*.sbx.ali.test", "sbx.ali.test"]
  dns_challenge {
    recursive_nameservers  = local.resolvers
    skip_propagation_check = true
    alidns {
      domain = "ali.test"
    }
  }
}

output "certificate" {
  value = sandbox_acme_certificate.sandboxes.certificate_pem
}
`, version, s.ProviderConfig(), s.ACME.DirectoryURL(), string(s.ACME.ServerCAPEM()), s.DNS.Addr()))
	tf.Init(ctx)
	tf.Apply(ctx)

	outputs := tf.Outputs(ctx)
	block, _ := pem.Decode([]byte(tf.String(outputs, "certificate")))
	if block == nil {
		t.Fatal("the certificate output holds no PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	inter := x509.NewCertPool()
	inter.AppendCertsFromPEM(s.ACME.IntermediatePEM())
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "api.sbx.ali.test", Roots: s.ACME.Roots(), Intermediates: inter}); err != nil {
		t.Errorf("the certificate does not verify for api.sbx.ali.test: %v", err)
	}
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.DNS.Addr())
	}}
	for name, want := range map[string]string{"api.sbx.ali.test": "127.0.0.1", "49983-abc.sbx.ali.test": "127.0.0.1"} {
		if got, err := resolver.LookupHost(ctx, name); err != nil || !slices.Equal(got, []string{want}) {
			t.Errorf("%s resolves to %v (%v), want %s", name, got, err, want)
		}
	}

	if changes, plan := tf.Plan(ctx); changes {
		t.Errorf("the second plan has changes:\n%s", plan)
	}
	tf.Destroy(ctx)
	if left, err := s.Leftovers(ctx); err != nil || len(left) > 0 {
		t.Errorf("destroy left %q (%v)", left, err)
	}
}
