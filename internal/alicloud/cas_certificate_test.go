package alicloud_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
)

const certAddr = "sandbox_alicloud_cas_certificate.test"

// testCert is a leaf certificate issued by a throwaway CA, with its key and the CA as its chain.
type testCert struct {
	certPEM, keyPEM, chainPEM string
	fingerprint               string
	notAfter                  time.Time
}

func issueTestCert(t *testing.T, cn string, sans ...string) testCert {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA", Organization: []string{"sandboxstack tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(der)
	return testCert{
		certPEM:     string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		chainPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		fingerprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		notAfter:    tmpl.NotAfter,
	}
}

func certConfig(name string, c testCert, key string) string {
	return fmt.Sprintf(`
resource "sandbox_alicloud_cas_certificate" "test" {
  name                  = %q
  certificate_pem       = %q
  certificate_chain_pem = %q
  private_key_wo        = %q
}
`, name, c.certPEM, c.chainPEM, key)
}

// checkFakeCert checks that the fake holds the certificate in the state, with c's fingerprint and
// the full chain, and nothing else.
func checkFakeCert(f *acctest.FakeAlibaba, c testCert) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := idOf(s, certAddr)
		if err != nil {
			return err
		}
		certs := f.Certificates()
		if len(certs) != 1 || fmt.Sprint(certs[0].ID) != id {
			return fmt.Errorf("the fake holds %d certificates (%+v); want only %s", len(certs), certs, id)
		}
		if certs[0].Fingerprint != c.fingerprint || !strings.Contains(certs[0].CertPEM, strings.TrimSpace(c.chainPEM)) {
			return fmt.Errorf("the fake's certificate %s has fingerprint %s (want %s) or lacks the chain", id, certs[0].Fingerprint, c.fingerprint)
		}
		if strings.Contains(s.String(), "PRIVATE KEY") {
			return fmt.Errorf("the private key reached the state")
		}
		return nil
	}
}

// TestAccAlicloudCASCertificate_basic uploads a certificate generated here, imports it, and replaces
// it when its PEM changes.
func TestAccAlicloudCASCertificate_basic(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	name := acctest.RandomName()
	first := issueTestCert(t, "sbx.example.test", "*.sbx.example.test", "sbx.example.test")
	second := issueTestCert(t, "sbx.example.test", "*.sbx.example.test")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: f.ProviderConfig() + certConfig(name, first, first.keyPEM),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9]+$`))),
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("fingerprint"), knownvalue.StringExact(first.fingerprint)),
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("common_name"), knownvalue.StringExact("sbx.example.test")),
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("sans"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("*.sbx.example.test"), knownvalue.StringExact("sbx.example.test")})),
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("not_after"), knownvalue.StringExact(first.notAfter.UTC().Format(time.RFC3339))),
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("private_key_wo"), knownvalue.Null()),
				},
				Check: checkFakeCert(f, first),
			},
			{
				ResourceName:      certAddr,
				ImportState:       true,
				ImportStateVerify: true,
				// The key is write-only: it is in neither state.
			},
			{
				Config: f.ProviderConfig() + certConfig(name, second, second.keyPEM),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(certAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(certAddr, tfjsonpath.New("fingerprint"), knownvalue.StringExact(second.fingerprint)),
				},
				Check: checkFakeCert(f, second),
			},
		},
	})
}

// TestAccAlicloudCASCertificate_keyMismatch: a key that is not the certificate's is refused at plan
// time, before anything is uploaded.
func TestAccAlicloudCASCertificate_keyMismatch(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	cert, other := issueTestCert(t, "a.example.test", "a.example.test"), issueTestCert(t, "b.example.test", "b.example.test")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config:      f.ProviderConfig() + certConfig(acctest.RandomName(), cert, other.keyPEM),
				ExpectError: regexp.MustCompile(`(?s)Private Key Does Not Match the Certificate.*public key differs`),
			},
			{
				Config:      f.ProviderConfig() + certConfig(acctest.RandomName(), cert, "not a key"),
				ExpectError: regexp.MustCompile(`(?s)Private Key Does Not Match the Certificate.*not PEM encoded`),
			},
		},
	})
	if n := f.CallCount("UploadUserCertificate"); n != 0 {
		t.Errorf("UploadUserCertificate was called %d times; the mismatch should be caught before", n)
	}
}

// TestAccAlicloudCASCertificate_disappears deletes the certificate out of band: the next plan uploads it again.
func TestAccAlicloudCASCertificate_disappears(t *testing.T) {
	f := acctest.StartFakeAlibaba(t, alifake.Faults{})
	c := issueTestCert(t, "c.example.test", "c.example.test")
	config := f.ProviderConfig() + certConfig(acctest.RandomName(), c, c.keyPEM)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.FakeFactories(),
		CheckDestroy:             checkNoLeftovers(f),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					id, err := idOf(s, certAddr)
					if err != nil {
						return err
					}
					return f.DeleteOutOfBand(id)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(certAddr, plancheck.ResourceActionCreate),
				}},
				Check: checkFakeCert(f, c),
			},
		},
	})
}
