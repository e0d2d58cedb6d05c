package acmeresource_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	route53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/go-acme/lego/v4/certcrypto"
	legolog "github.com/go-acme/lego/v4/log"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/acmeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// One CA and DNS server for the package: lego keeps its recursive name servers in a package variable,
// so every certificate in this process must resolve through the same DNS server. Each test has its
// own AWS fake and its own names.
var ca *acmeharness.Harness

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if os.Getenv("TF_ACC") == "" {
		return m.Run() // the acceptance tests skip themselves
	}
	h, err := acmeharness.Start(acmeharness.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer h.Close()
	ca = h
	if !testing.Verbose() {
		legolog.Logger = discardLogger{}
	}
	return m.Run()
}

type discardLogger struct{}

func (discardLogger) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (discardLogger) Fatalln(args ...any)               { panic(fmt.Sprint(args...)) }
func (discardLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (discardLogger) Print(...any)                      {}
func (discardLogger) Println(...any)                    {}
func (discardLogger) Printf(string, ...any)             {}

const address = "sandbox_acme_certificate.test"

// route53 is a test's own Route 53 fake, with one hosted zone, whose record changes are published
// on the harness's DNS server: what the provider writes through the Route 53 API is what Pebble's
// validation sees.
type route53Env struct {
	fake   *acctest.FakeAWS
	zoneID string

	mu     sync.Mutex
	txtLog []awsfake.RecordChange // the TXT changes the fake committed
	onTXT  func(awsfake.RecordChange)
}

func (e *route53Env) changes() []awsfake.RecordChange {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.txtLog)
}

func newRoute53(t *testing.T, zone string) *route53Env {
	t.Helper()
	if ca == nil {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	f := acctest.StartFakeAWS(t, awsfake.Faults{ChangePendingReads: 1})
	e := &route53Env{fake: f}
	f.SetRecordSink(awsfake.RecordSinkFunc(func(c awsfake.RecordChange) {
		if c.Set.Type == "TXT" {
			e.mu.Lock()
			e.txtLog = append(e.txtLog, c)
			hook := e.onTXT
			e.mu.Unlock()
			if hook != nil {
				hook(c)
			}
		}
		harnessSink(t, ca).RecordSetChanged(c)
	}))
	out, err := f.Conns(t).Route53.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: &zone, CallerReference: ptr(acctest.RandomName()),
	})
	if err != nil {
		t.Fatalf("create hosted zone %s: %v", zone, err)
	}
	e.zoneID = strings.TrimPrefix(*out.HostedZone.Id, "/hostedzone/")
	return e
}

// harnessSink adapts the Route 53 fake's change feed to the harness's record sets.
func harnessSink(t *testing.T, sink acmeharness.RecordSink) awsfake.RecordSink {
	return awsfake.RecordSinkFunc(func(c awsfake.RecordChange) {
		values := c.Set.Values
		if c.Deleted {
			values = nil
		}
		if err := sink.SetRecordSet(c.Set.Name, c.Set.Type, values); err != nil {
			t.Errorf("publish %s %s: %v", c.Set.Name, c.Set.Type, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// noTXTLeft fails the test if the zone holds any TXT record set, or the DNS server still answers TXT
// values for the challenge name.
func (e *route53Env) noTXTLeft(t *testing.T, challengeName string) {
	t.Helper()
	for _, rs := range e.fake.RecordSets(e.zoneID) {
		if rs.Type == string(route53types.RRTypeTxt) {
			t.Errorf("TXT record set left in the zone: %s %v", rs.Name, rs.Values)
		}
	}
	if v := ca.TXT(challengeName); len(v) > 0 {
		t.Errorf("DNS still answers TXT %s: %v", challengeName, v)
	}
}

type certConfig struct {
	names           []string
	zoneID          string
	minDays         int
	revokeOnDestroy bool
	keyType         string
}

func (e *route53Env) config(c certConfig) string {
	names := make([]string, len(c.names))
	for i, n := range c.names {
		names[i] = fmt.Sprintf("%q", n)
	}
	zoneID := c.zoneID
	if zoneID == "" {
		zoneID = e.zoneID
	}
	extra := ""
	if c.keyType != "" {
		extra = fmt.Sprintf("key_type = %q\n", c.keyType)
	}
	return e.fake.ProviderConfig() + fmt.Sprintf(`
resource "sandbox_acme_certificate" "test" {
  directory_url       = %q
  ca_certificates_pem = %q
  account_email       = "admin@example.com"
  names               = [%s]
  min_days_remaining  = %d
  revoke_on_destroy   = %t
  %s
  dns_challenge {
    recursive_nameservers  = [%q]
    skip_propagation_check = true
    polling_interval       = "50ms"
    route53 {
      hosted_zone_id = %q
    }
  }
}
`, ca.DirectoryURL(), ca.ServerCAPEM(), strings.Join(names, ", "), c.minDays, c.revokeOnDestroy, extra, ca.DNSAddr(), zoneID)
}

// issued is the certificate in the state.
type issued struct {
	leaf   *x509.Certificate
	chain  *x509.CertPool
	serial *big.Int
}

func readIssued(s *terraform.State) (*issued, error) {
	rs, ok := s.RootModule().Resources[address]
	if !ok {
		return nil, errors.New(address + " not in state")
	}
	a := rs.Primary.Attributes
	block, _ := pem.Decode([]byte(a["certificate_pem"]))
	if block == nil {
		return nil, errors.New("certificate_pem is not PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	chain := x509.NewCertPool()
	if !chain.AppendCertsFromPEM([]byte(a["issuer_pem"])) {
		return nil, errors.New("issuer_pem holds no certificate")
	}
	if got := leaf.SerialNumber.Text(16); got != a["certificate_serial"] {
		return nil, fmt.Errorf("certificate_serial %s, the certificate's is %s", a["certificate_serial"], got)
	}
	if got := leaf.NotAfter.UTC().Format(time.RFC3339); got != a["certificate_not_after"] {
		return nil, fmt.Errorf("certificate_not_after %s, the certificate's is %s", a["certificate_not_after"], got)
	}
	key, err := certcrypto.ParsePEMPrivateKey([]byte(a["private_key_pem"]))
	if err != nil {
		return nil, fmt.Errorf("private_key_pem: %w", err)
	}
	pub, ok := key.(crypto.Signer)
	if !ok || !pub.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(leaf.PublicKey) {
		return nil, errors.New("private_key_pem does not belong to the certificate")
	}
	return &issued{leaf: leaf, chain: chain, serial: leaf.SerialNumber}, nil
}

// verifies checks the certificate against the CA's roots for each name.
func (c *issued) verifies(name string) error {
	_, err := c.leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Roots(), Intermediates: c.chain,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// timed measures one step's apply: PreConfig starts the clock, the step's Check reads it.
type timed struct{ start time.Time }

func (s *timed) begin() { s.start = time.Now() }
func (s *timed) log(t *testing.T, what string) {
	t.Logf("%s took %s", what, time.Since(s.start).Round(time.Millisecond))
}
func (s *timed) check(t *testing.T, what string) resource.TestCheckFunc {
	return func(*terraform.State) error { s.log(t, what); return nil }
}

func TestAccACMECertificate_wildcardAndApexThroughRoute53(t *testing.T) {
	r53 := newRoute53(t, "x.test")
	var cert *issued
	var clock timed
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			PreConfig: clock.begin,
			Config:    r53.config(certConfig{names: []string{"*.x.test", "x.test"}, minDays: 30, revokeOnDestroy: true}),
			Check: resource.ComposeTestCheckFunc(
				clock.check(t, "issuing *.x.test + x.test (terraform apply)"),
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
					if st, ok := ca.CertificateStatus(cert.serial); !ok || st.Revoked {
						return fmt.Errorf("CA status of the new certificate: known %t, revoked %t", ok, st.Revoked)
					}
					r53.noTXTLeft(t, "_acme-challenge.x.test.")
					return nil
				},
				resource.TestCheckResourceAttrPair(address, "id", address, "certificate_url"),
				resource.TestMatchResourceAttr(address, "account_url", regexp.MustCompile(`^https://127\.0\.0\.1:\d+/`)),
				resource.TestMatchResourceAttr(address, "account_key_pem", regexp.MustCompile(`^-----BEGIN EC PRIVATE KEY-----`)),
				resource.TestMatchResourceAttr(address, "private_key_pem", regexp.MustCompile(`^-----BEGIN EC PRIVATE KEY-----`)),
			),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(address, tfjsonpath.New("names"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("*.x.test"), knownvalue.StringExact("x.test")})),
				statecheck.ExpectKnownValue(address, tfjsonpath.New("key_type"), knownvalue.StringExact("P256")),
				statecheck.ExpectKnownValue(address, tfjsonpath.New("directory_url"), knownvalue.StringExact(ca.DirectoryURL())),
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			if cert == nil {
				return errors.New("no certificate was issued")
			}
			st, ok := ca.CertificateStatus(cert.serial)
			if !ok || !st.Revoked {
				return fmt.Errorf("destroy did not revoke certificate %x (known %t)", cert.serial, ok)
			}
			return nil
		},
	})
}

func TestAccACMECertificate_renewsInsideTheWindow(t *testing.T) {
	r53 := newRoute53(t, "renew.test")
	cfg := func(minDays int) string {
		return r53.config(certConfig{names: []string{"renew.test"}, minDays: minDays, keyType: "RSA2048"})
	}
	var first, renewed *issued
	var clock timed
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{
			{
				// 90 days left, renew inside 30: issued once, and the next plan is empty.
				PreConfig: clock.begin,
				Config:    cfg(30),
				Check: resource.ComposeTestCheckFunc(clock.check(t, "issuing renew.test (RSA 2048)"), func(s *terraform.State) (err error) {
					first, err = readIssued(s)
					if err == nil && first.leaf.PublicKeyAlgorithm != x509.RSA {
						err = fmt.Errorf("key type RSA2048 gave a %s key", first.leaf.PublicKeyAlgorithm)
					}
					return err
				}),
			},
			{
				// A window wider than the certificate's 90 days: the plan renews in place.
				PreConfig: clock.begin,
				Config:    cfg(100),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(address, tfjsonpath.New("certificate_pem")),
					plancheck.ExpectUnknownValue(address, tfjsonpath.New("certificate_serial")),
				}},
				Check: resource.ComposeTestCheckFunc(clock.check(t, "renewing renew.test"), func(s *terraform.State) (err error) {
					if renewed, err = readIssued(s); err != nil {
						return err
					}
					if renewed.serial.Cmp(first.serial) == 0 {
						return errors.New("the serial did not change: not renewed")
					}
					if err := renewed.verifies("renew.test"); err != nil {
						return err
					}
					r53.noTXTLeft(t, "_acme-challenge.renew.test.")
					return nil
				}),
				// Still inside the window after the renewal, so the next plan renews again.
				ExpectNonEmptyPlan: true,
			},
			{
				// Back to 30 days: only the setting changes, the certificate stays.
				Config: cfg(30),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(address, tfjsonpath.New("min_days_remaining"), knownvalue.Int64Exact(30)),
				}},
				Check: func(s *terraform.State) error {
					now, err := readIssued(s)
					if err != nil {
						return err
					}
					if now.serial.Cmp(renewed.serial) != 0 {
						return fmt.Errorf("serial %x changed to %x without a renewal being due", renewed.serial, now.serial)
					}
					return nil
				},
			},
			{
				Config: cfg(30),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			// revoke_on_destroy = false
			for _, c := range []*issued{first, renewed} {
				if st, ok := ca.CertificateStatus(c.serial); !ok || st.Revoked {
					return fmt.Errorf("certificate %x: known %t, revoked %t; want it left valid", c.serial, ok, st.Revoked)
				}
			}
			return nil
		},
	})
}

// failsCleanly runs one apply that must fail with errPattern and leave no TXT record behind.
func failsCleanly(t *testing.T, r53 *route53Env, config, challengeName, errPattern string) {
	t.Helper()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			Config: config,
			// Terraform wraps long diagnostic lines: a space in the pattern matches any white space.
			ExpectError: regexp.MustCompile(strings.ReplaceAll(errPattern, " ", `\s+`)),
		}},
	})
	r53.noTXTLeft(t, challengeName)
}

func TestAccACMECertificate_wrongZone(t *testing.T) {
	r53 := newRoute53(t, "other.test")
	failsCleanly(t, r53, r53.config(certConfig{names: []string{"*.wrong.test", "wrong.test"}, minDays: 30}),
		"_acme-challenge.wrong.test.",
		`(?s)Cannot Write the DNS-01 Challenge Record for .*wrong\.test.*not permitted in zone other\.test`)
}

func TestAccACMECertificate_unknownZoneID(t *testing.T) {
	r53 := newRoute53(t, "nozone.test")
	failsCleanly(t, r53, r53.config(certConfig{names: []string{"nozone.test"}, minDays: 30, zoneID: "Z0000000000NOSUCHZONE"}),
		"_acme-challenge.nozone.test.", `(?s)Cannot Write the DNS-01 Challenge Record for nozone\.test.*NoSuchHostedZone`)
}

func TestAccACMECertificate_throttledRoute53(t *testing.T) {
	r53 := newRoute53(t, "throttled.test")
	r53.fake.ThrottleNext("ChangeResourceRecordSets", 1000)
	failsCleanly(t, r53, r53.config(certConfig{names: []string{"throttled.test"}, minDays: 30}),
		"_acme-challenge.throttled.test.", `(?s)Cannot Write the DNS-01 Challenge Record for throttled\.test.*AWS kept throttling`)
	if n := r53.fake.ErrorCount("PriorRequestNotComplete"); n < 25 {
		t.Errorf("the fake throttled %d requests; want the SDK's 25 attempts", n)
	}
}

func TestAccACMECertificate_refusedChallenge(t *testing.T) {
	r53 := newRoute53(t, "servfail.test")
	ca.SetServFail("_acme-challenge.servfail.test.", true)
	t.Cleanup(func() { ca.SetServFail("_acme-challenge.servfail.test.", false) })
	failsCleanly(t, r53, r53.config(certConfig{names: []string{"servfail.test"}, minDays: 30}),
		"_acme-challenge.servfail.test.", `(?s)ACME Validation Failed for servfail\.test.*_acme-challenge.servfail.test.* returned an unsuccessful response.*urn:ietf:params:acme:error:unauthorized`)
	// The provider did write the record through Route 53 before the CA looked.
	var wrote bool
	for _, c := range r53.fake.Calls() {
		wrote = wrote || (c.Action == "ChangeResourceRecordSets" && c.Error == "")
	}
	if !wrote {
		t.Error("no successful ChangeResourceRecordSets: the challenge record was never written")
	}
}

// Two certificates whose challenges share _acme-challenge.shared.test, applied in parallel with one
// supplied account key: both values must be in the one Route 53 record set while the CA validates.
func TestAccACMECertificate_sharedChallengeNameAndAccountKey(t *testing.T) {
	r53 := newRoute53(t, "shared.test")
	key, err := acme.GenerateKey(acme.KeyP384)
	if err != nil {
		t.Fatal(err)
	}
	// The account exists before Terraform uses its key. (Registering one key twice at the same
	// moment is also fine for the protocol, but Pebble's in-memory store has a data race there.)
	acct, err := acme.RegisterAccount(context.Background(), acme.AccountRequest{
		Server: acme.Server{DirectoryURL: ca.DirectoryURL(), HTTPClient: ca.HTTPClient()}, KeyPEM: key})
	if err != nil {
		t.Fatal(err)
	}
	resourceBlock := func(name, certName string) string {
		return fmt.Sprintf(`
resource "sandbox_acme_certificate" %q {
  directory_url       = %q
  ca_certificates_pem = %q
  account_key_pem     = %q
  names               = [%q]
  key_type            = "P384"
  dns_challenge {
    recursive_nameservers  = [%q]
    skip_propagation_check = true
    polling_interval       = "50ms"
    route53 {
      hosted_zone_id = "/hostedzone/%s"
    }
  }
}
`, name, ca.DirectoryURL(), ca.ServerCAPEM(), key, certName, ca.DNSAddr(), r53.zoneID)
	}
	var clock timed
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			PreConfig: clock.begin,
			Config:    r53.fake.ProviderConfig() + resourceBlock("wildcard", "*.shared.test") + resourceBlock("apex", "shared.test"),
			Check: resource.ComposeTestCheckFunc(
				clock.check(t, "issuing *.shared.test and shared.test as two certificates in parallel"),
				resource.TestCheckResourceAttr("sandbox_acme_certificate.wildcard", "account_key_pem", string(key)),
				resource.TestCheckResourceAttr("sandbox_acme_certificate.wildcard", "account_url", acct.URL),
				resource.TestCheckResourceAttr("sandbox_acme_certificate.apex", "account_url", acct.URL),
				resource.TestMatchResourceAttr("sandbox_acme_certificate.apex", "private_key_pem", regexp.MustCompile(`^-----BEGIN EC PRIVATE KEY-----`)),
				func(s *terraform.State) error {
					for _, rs := range s.RootModule().Resources {
						block, _ := pem.Decode([]byte(rs.Primary.Attributes["certificate_pem"]))
						leaf, err := x509.ParseCertificate(block.Bytes)
						if err != nil {
							return err
						}
						if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve.Params().BitSize != 384 {
							return fmt.Errorf("%s: want a P-384 key, got %T", rs.Primary.ID, leaf.PublicKey)
						}
					}
					r53.noTXTLeft(t, "_acme-challenge.shared.test.")
					return nil
				},
			),
		}},
	})
	// Both values were in the set at once: the second write merged into the first one's set.
	most := 0
	for _, c := range r53.changes() {
		most = max(most, len(c.Set.Values))
	}
	if most != 2 {
		t.Errorf("the challenge record set held at most %d values; want the two challenges merged", most)
	}
}

func TestAccACMECertificate_invalidConfig(t *testing.T) {
	r53 := newRoute53(t, "invalid.test")
	base := r53.fake.ProviderConfig()
	step := func(body, errPattern string) resource.TestStep {
		return resource.TestStep{
			Config:      base + "resource \"sandbox_acme_certificate\" \"test\" {\n" + body + "\n}\n",
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(errPattern, " ", `\s+`)),
		}
	}
	dns := `dns_challenge {
  route53 {
    hosted_zone_id = "Z123"
  }
}`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{
			step(`names = ["invalid.test"]`, `Block dns_challenge must have a configuration value`),
			step(`names = ["Invalid.test"]`+"\n"+dns, `must be a lower-case DNS name`),
			step(`names = ["a.invalid.test", "a.invalid.test"]`+"\n"+dns, `Duplicate List Value`),
			step(`names = ["invalid.test"]`+"\nkey_type = \"ED25519\"\n"+dns, `key_type.*value must be one of`),
			step(`names = ["invalid.test"]`+"\nca_certificates_pem = \"not pem\"\n"+dns, `Invalid CA Certificates`),
			step(`names = ["invalid.test"]`+"\naccount_key_pem = \"not a key\"\n"+dns, `Invalid Account Key`),
			step(`names = ["invalid.test"]
dns_challenge {
  polling_interval = "often"
  route53 {
    hosted_zone_id = "Z123"
  }
}`, `Invalid Duration`),
			step(`names = ["invalid.test"]
dns_challenge {
  recursive_nameservers = ["1.1.1.1"]
  route53 {
    hosted_zone_id = "Z123"
  }
}`, `Invalid Name Server`),
			step(`names = ["invalid.test"]
dns_challenge {
  route53 {
    hosted_zone_id = "example.com"
  }
}`, `must be a Route 53 hosted zone ID`),
			step(`names = ["invalid.test"]
dns_challenge {
  route53 {
    hosted_zone_id = "Z123"
  }
  alidns {
    domain = "invalid.test"
  }
}`, `(?s)Invalid Attribute Combination.*2 attributes specified when one \(and only one\) of`),
			step(`names = ["invalid.test"]
dns_challenge {
  polling_interval = "1s"
}`, `(?s)Invalid Attribute Combination.*No attribute specified when one \(and only one\) of`),
			step(`names = ["invalid.test"]
dns_challenge {
  alidns {}
}`, `(?s)Invalid Attribute Combination.*dns_challenge.alidns.domain.* must be specified`),
			step(`names = ["invalid.test"]
dns_challenge {
  route53 {}
}`, `(?s)Invalid Attribute Combination.*dns_challenge.route53.hosted_zone_id.* must be specified`),
			step(`names = ["invalid.test"]
dns_challenge {
  alidns {
    domain = "*.invalid.test"
  }
}`, `must be a lower-case domain name such as example.com`),
		},
	})
	r53.noTXTLeft(t, "_acme-challenge.invalid.test.")
}

// A record that cannot be removed after issuance does not lose the certificate: the apply succeeds
// with a warning, and the certificate is in the state.
func TestAccACMECertificate_leftoverRecordIsAWarning(t *testing.T) {
	r53 := newRoute53(t, "leftover.test")
	var once sync.Once
	r53.mu.Lock()
	r53.onTXT = func(c awsfake.RecordChange) {
		if !c.Deleted { // once the challenge is written, every further change is throttled away
			once.Do(func() { r53.fake.ThrottleNext("ChangeResourceRecordSets", 1000) })
		}
	}
	r53.mu.Unlock()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{{
			Config: r53.config(certConfig{names: []string{"leftover.test"}, minDays: 30, revokeOnDestroy: true}),
			Check: func(s *terraform.State) error {
				cert, err := readIssued(s)
				if err != nil {
					return err
				}
				if err := cert.verifies("leftover.test"); err != nil {
					return err
				}
				var left int
				for _, rs := range r53.fake.RecordSets(r53.zoneID) {
					if rs.Type == "TXT" {
						left += len(rs.Values)
					}
				}
				if left != 1 {
					return fmt.Errorf("%d TXT values in the zone; want the one that could not be removed", left)
				}
				return nil
			},
		}},
	})
	if n := r53.fake.ErrorCount("PriorRequestNotComplete"); n < 25 {
		t.Errorf("%d throttled removals; want at least the SDK's 25 attempts", n)
	}
}

// A renewal that fails keeps the certificate in the state, and the next apply renews.
func TestAccACMECertificate_failedRenewalKeepsTheCertificate(t *testing.T) {
	r53 := newRoute53(t, "keep.test")
	const challenge = "_acme-challenge.keep.test."
	t.Cleanup(func() { ca.SetServFail(challenge, false) })
	cfg := func(minDays int) string {
		return r53.config(certConfig{names: []string{"keep.test"}, minDays: minDays, revokeOnDestroy: true})
	}
	var first *issued
	sameAsFirst := func(s *terraform.State) error {
		now, err := readIssued(s)
		if err != nil {
			return err
		}
		if now.serial.Cmp(first.serial) != 0 {
			return fmt.Errorf("serial %x, want the first certificate's %x", now.serial, first.serial)
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		Steps: []resource.TestStep{
			{Config: cfg(30), Check: func(s *terraform.State) (err error) { first, err = readIssued(s); return err }},
			{
				PreConfig:   func() { ca.SetServFail(challenge, true) },
				Config:      cfg(100),
				ExpectError: regexp.MustCompile(`ACME\s+Validation\s+Failed\s+for\s+keep\.test`),
			},
			{
				PreConfig:    func() { ca.SetServFail(challenge, false); r53.noTXTLeft(t, challenge) },
				RefreshState: true,
				Check:        sameAsFirst,
				// The configuration still asks for a renewal.
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg(100),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(address, tfjsonpath.New("certificate_pem")),
				}},
				Check: func(s *terraform.State) error {
					if sameAsFirst(s) == nil {
						return errors.New("not renewed")
					}
					return nil
				},
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// Without ca_certificates_pem the test CA's TLS certificate is not trusted: the error says which
// attribute fixes it.
func TestAccACMECertificate_untrustedServer(t *testing.T) {
	r53 := newRoute53(t, "untrusted.test")
	cfg := r53.config(certConfig{names: []string{"untrusted.test"}, minDays: 30})
	cfg = regexp.MustCompile(`(?m)^\s*ca_certificates_pem\s*=.*$`).ReplaceAllString(cfg, "")
	failsCleanly(t, r53, cfg, "_acme-challenge.untrusted.test.",
		`(?s)ACME Server Certificate Not Trusted.*certificate signed by unknown authority.*set ca_certificates_pem`)
}
