package acmeresource_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/acmeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

// alidnsEnv is a test's own Alibaba Cloud fake hosting one Alidns domain, whose record changes are
// published on the harness's DNS server: what the provider writes through the Alidns API is what
// Pebble's validation sees.
type alidnsEnv struct {
	fake   *acctest.FakeAlibaba
	domain string

	mu      sync.Mutex
	mostTXT int // the most TXT values the fake held at one name at once
}

func newAlidns(t *testing.T, domain string) *alidnsEnv {
	t.Helper()
	if ca == nil {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	e := &alidnsEnv{domain: domain}
	publish := alidnsHarnessSink(t, ca)
	e.fake = &acctest.FakeAlibaba{Fake: alifake.New(t, alifake.Options{
		Domains: []string{domain},
		RecordSink: alifake.RecordSinkFunc(func(fqdn, rtype string, values []string) {
			if rtype == "TXT" {
				e.mu.Lock()
				e.mostTXT = max(e.mostTXT, len(values))
				e.mu.Unlock()
			}
			publish.RecordSetChanged(fqdn, rtype, values)
		}),
	})}
	return e
}

// alidnsHarnessSink adapts the Alidns fake's change feed (names without the trailing dot, every
// value of the name and type after each change) to the harness's record sets.
func alidnsHarnessSink(t *testing.T, sink acmeharness.RecordSink) alifake.RecordSink {
	return alifake.RecordSinkFunc(func(fqdn, rtype string, values []string) {
		if err := sink.SetRecordSet(fqdn+".", rtype, values); err != nil {
			t.Errorf("publish %s %s: %v", fqdn, rtype, err)
		}
	})
}

// noTXTLeft fails the test if the fake holds any TXT record, or the DNS server still answers TXT
// values for the challenge name.
func (e *alidnsEnv) noTXTLeft(t *testing.T, challengeName string) {
	t.Helper()
	for _, r := range e.fake.Records() {
		if r.Type == "TXT" {
			t.Errorf("TXT record left in Alidns: %s %q (record %s)", r.FQDN, r.Value, r.ID)
		}
	}
	if v := ca.TXT(challengeName); len(v) > 0 {
		t.Errorf("DNS still answers TXT %s: %v", challengeName, v)
	}
}

// config is a certificate of names whose challenges go to Alidns domain (the fake's when "").
func (e *alidnsEnv) config(names []string, domain string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if domain == "" {
		domain = e.domain
	}
	return e.fake.ProviderConfig() + fmt.Sprintf(`
resource "sandbox_acme_certificate" "test" {
  directory_url       = %q
  ca_certificates_pem = %q
  account_email       = "admin@example.com"
  names               = [%s]
  revoke_on_destroy   = true
  dns_challenge {
    recursive_nameservers  = [%q]
    skip_propagation_check = true
    polling_interval       = "50ms"
    alidns {
      domain = %q
    }
  }
}
`, ca.DirectoryURL(), ca.ServerCAPEM(), strings.Join(quoted, ", "), ca.DNSAddr(), domain)
}

func TestAccACMECertificate_wildcardAndApexThroughAlidns(t *testing.T) {
	ali := newAlidns(t, "x.test")
	var cert *issued
	var clock timed
	// Not parallel: the Route 53 test validates the same names through the one DNS server of the
	// package, and a sequential test never overlaps the parallel ones.
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			PreConfig: clock.begin,
			Config:    ali.config([]string{"*.x.test", "x.test"}, ""),
			Check: resource.ComposeTestCheckFunc(
				clock.check(t, "issuing *.x.test + x.test through Alidns (terraform apply)"),
				func(s *terraform.State) error {
					var err error
					if cert, err = readIssued(s); err != nil {
						return err
					}
					for _, ok := range []string{"a.x.test", "x.test"} {
						if err := cert.verifies(ok); err != nil {
							return fmt.Errorf("certificate does not verify for %s: %w", ok, err)
						}
					}
					if err := cert.verifies("a.b.x.test"); err == nil {
						return errors.New("certificate verifies for a.b.x.test; a wildcard covers one label")
					}
					ali.noTXTLeft(t, "_acme-challenge.x.test.")
					return nil
				},
				resource.TestCheckResourceAttr(address, "dns_challenge.alidns.domain", "x.test"),
				resource.TestCheckNoResourceAttr(address, "dns_challenge.route53.hosted_zone_id"),
			),
		}},
		CheckDestroy: func(*terraform.State) error {
			if cert == nil {
				return errors.New("no certificate was issued")
			}
			if st, ok := ca.CertificateStatus(cert.serial); !ok || !st.Revoked {
				return fmt.Errorf("destroy did not revoke certificate %x (known %t)", cert.serial, ok)
			}
			return nil
		},
	})
	// The wildcard's and the base name's values were two records at one name, both published at once.
	ali.mu.Lock()
	most := ali.mostTXT
	ali.mu.Unlock()
	if most != 2 {
		t.Errorf("_acme-challenge.x.test held at most %d TXT records; want the two challenges at once", most)
	}
	if n := ali.fake.CallCount("DeleteDomainRecord"); n < 2 {
		t.Errorf("%d DeleteDomainRecord calls; want both challenge records deleted", n)
	}
}

// A domain the Alibaba Cloud account does not host: the diagnostic names the domain and says what to
// check, and nothing is written.
func TestAccACMECertificate_unknownAlidnsDomain(t *testing.T) {
	ali := newAlidns(t, "hosted.test")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			Config: ali.config([]string{"*.absent.test", "absent.test"}, "absent.test"),
			ExpectError: regexp.MustCompile(strings.ReplaceAll(`(?s)Cannot Write the DNS-01 Challenge Record for .*absent\.test.*`+
				`InvalidDomainName\.NoExist.*Check that absent\.test is a domain of the Alibaba Cloud DNS account`, " ", `\s+`)),
		}},
	})
	ali.noTXTLeft(t, "_acme-challenge.absent.test.")
	if n := ali.fake.CallCount("AddDomainRecord"); n == 0 {
		t.Error("the provider never asked Alidns to add the challenge record")
	}
}

// The CA's DNS lookup fails after the provider wrote the record through Alidns: validation fails with
// the CA's problem, and the record is deleted again.
func TestAccACMECertificate_refusedChallengeThroughAlidns(t *testing.T) {
	ali := newAlidns(t, "refused.test")
	const challenge = "_acme-challenge.refused.test."
	ca.SetServFail(challenge, true)
	t.Cleanup(func() { ca.SetServFail(challenge, false) })
	failsCleanlyAlidns(t, ali, ali.config([]string{"refused.test"}, ""), challenge,
		`(?s)ACME Validation Failed for refused\.test.*urn:ietf:params:acme:error:unauthorized.*Check that Alidns domain refused\.test is the zone`)
	if n := ali.fake.CallCount("AddDomainRecord"); n == 0 {
		t.Error("no AddDomainRecord: the challenge record was never written")
	}
}

func failsCleanlyAlidns(t *testing.T, ali *alidnsEnv, config, challengeName, errPattern string) {
	t.Helper()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(errPattern, " ", `\s+`)),
		}},
	})
	ali.noTXTLeft(t, challengeName)
}

// Alibaba Cloud settings and credential errors are worded with the provider's alicloud block.
func TestAccACMECertificate_alidnsSettings(t *testing.T) {
	ali := newAlidns(t, "settings.test")
	good := ali.config([]string{"settings.test"}, "")
	_, secret := ali.fake.Credentials()
	wrongKey := strings.Replace(good, fmt.Sprintf("secret_key = %q", secret), `secret_key = "not-the-secret"`, 1)
	if wrongKey == good {
		t.Fatal("the provider block has no secret_key to replace")
	}
	noBlock := regexp.MustCompile(`(?s)provider "sandbox" \{.*?\n\}\n`).ReplaceAllString(good, "")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{
			{
				Config: wrongKey,
				ExpectError: regexp.MustCompile(strings.ReplaceAll(`(?s)Cannot Write the DNS-01 Challenge Record for settings\.test.*`+
					`SignatureDoesNotMatch.*Check the AccessKey pair the provider uses: access_key and secret_key in the provider's `+
					`alicloud block`, " ", `\s+`)),
			},
			{
				Config: noBlock,
				ExpectError: regexp.MustCompile(strings.ReplaceAll(`(?s)Missing Alibaba Cloud Settings.*`+
					`the provider lacks region \(or ALIBABA_CLOUD_REGION\)`, " ", `\s+`)),
			},
		},
	})
	ali.noTXTLeft(t, "_acme-challenge.settings.test.")
}
