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

// TestStack applies, through the installed provider and the fakes' endpoints, DNS records in both
// clouds and a certificate from each: the CA validates the challenges the provider writes into Alidns
// and Route 53 through the stack's DNS server, which also resolves the wildcard records. A second plan
// is empty, and destroy leaves nothing.
func TestStack(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := stack.Start(t, stack.Options{AlidnsDomains: []string{"ali.test"}, Route53Zones: []string{"aws.test"}})
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
  trust          = %q
  resolvers      = [%q]
}

resource "sandbox_alicloud_dns_record" "lb" {
  domain_name = "ali.test"
  rr          = "*.sbx"
  type        = "A"
  value       = "127.0.0.1"
}

resource "sandbox_aws_route53_record" "lb" {
  zone_id = %q
  name    = "lb.aws.test"
  type    = "A"
  records = ["127.0.0.2"]
  ttl     = 60
}

resource "sandbox_aws_route53_record" "sandboxes" {
  zone_id = sandbox_aws_route53_record.lb.zone_id
  name    = "*.sbx.aws.test"
  type    = "CNAME"
  records = [sandbox_aws_route53_record.lb.fqdn]
  ttl     = 60
}

resource "sandbox_acme_certificate" "ali" {
  directory_url       = local.acme_directory
  ca_certificates_pem = local.trust
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

resource "sandbox_acme_certificate" "aws" {
  directory_url       = local.acme_directory
  ca_certificates_pem = local.trust
  account_email       = "ops@aws.test"
  names               = ["*.sbx.aws.test"]
  dns_challenge {
    recursive_nameservers  = local.resolvers
    skip_propagation_check = true
    route53 {
      hosted_zone_id = sandbox_aws_route53_record.lb.zone_id
    }
  }
}

output "ali_certificate" {
  value = sandbox_acme_certificate.ali.certificate_pem
}

output "aws_certificate" {
  value = sandbox_acme_certificate.aws.certificate_pem
}
`, version, s.ProviderConfig(), s.ACME.DirectoryURL(), s.TrustPEM(), s.DNS.Addr(), s.ZoneID("aws.test")))
	tf.Init(ctx)
	tf.Apply(ctx)

	outputs := tf.Outputs(ctx)
	for output, name := range map[string]string{"ali_certificate": "api.sbx.ali.test", "aws_certificate": "49983-x.sbx.aws.test"} {
		block, _ := pem.Decode([]byte(tf.String(outputs, output)))
		if block == nil {
			t.Fatalf("output %s holds no PEM", output)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		inter := x509.NewCertPool()
		inter.AppendCertsFromPEM(s.ACME.IntermediatePEM())
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: s.ACME.Roots(), Intermediates: inter}); err != nil {
			t.Errorf("%s does not verify for %s: %v", output, name, err)
		}
	}
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.DNS.Addr())
	}}
	for name, want := range map[string]string{"api.sbx.ali.test": "127.0.0.1", "3000-abc.sbx.aws.test": "127.0.0.2"} {
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
