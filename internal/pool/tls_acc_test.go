package pool_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
)

// tlsEndpoint is a name that resolves nowhere: only connect_address gets a request to the manager.
const tlsEndpoint = "https://api.sandbox.test"

// tlsManager is a manager for the domain sandbox.test with a TLS listener whose certificate, for
// *.sandbox.test, a test CA signed; tlsAddr is that listener.
type tlsManager struct {
	*accManager
	ca      *testca.CA
	tlsAddr string
	tls     *client.Client // admin client through the TLS listener
}

func startTLSManager(t *testing.T) *tlsManager {
	t.Helper()
	ca := testca.New(t, "*.sandbox.test")
	tlsAddr := freeLoopbackAddr(t)
	m := startManagerWith(t, managerharness.Options{Env: []string{
		"SANDBOX_DOMAIN=sandbox.test",
		"SANDBOX_TLS_LISTEN=" + tlsAddr,
		"SANDBOX_TLS_CERT=" + ca.LeafFile,
		"SANDBOX_TLS_KEY=" + ca.KeyFile,
	}})
	c, err := client.New(tlsEndpoint, m.AdminKey, client.WithConnectAddress(tlsAddr), client.WithCACertificate(string(ca.CertPEM)))
	if err != nil {
		t.Fatal(err)
	}
	return &tlsManager{accManager: m, ca: ca, tlsAddr: tlsAddr, tls: c}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// location is the four manager settings of a resource or the provider's manager block.
func (m *tlsManager) location() string {
	return fmt.Sprintf(`
  endpoint        = %q
  admin_key       = %q
  connect_address = %q
  ca_certificate  = %q
`, tlsEndpoint, m.AdminKey, m.tlsAddr, m.ca.CertPEM)
}

// resourcesConfig has the pool and key, each with its own settings, as a configuration that
// creates the manager in the same apply has them.
func (m *tlsManager) resourcesConfig(name string) string {
	return fmt.Sprintf(`
resource "sandbox_pool" "test" {
  name     = %q
  template = "base"
  size     = 1
%s}

resource "sandbox_api_key" "test" {
  name = "tls"
%s}
`, name, m.location(), m.location())
}

// TestAccManagerTLS reaches a manager by the HTTPS endpoint of its domain before any DNS record
// exists (connect_address) with a certificate from a test CA (ca_certificate): create, import by
// the provider's manager block, destroy.
func TestAccManagerTLS(t *testing.T) {
	m := startTLSManager(t)
	name := randomName()
	var keyID string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := m.tls.GetPool(testContext(t), name); !client.IsNotFound(err) {
				return fmt.Errorf("pool %q after destroy: %v", name, err)
			}
			if _, err := m.tls.GetKey(testContext(t), keyID); !client.IsNotFound(err) {
				return fmt.Errorf("API key %q after destroy: %v", keyID, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				// Without the CA the manager's certificate is not trusted, and the error says so.
				Config: fmt.Sprintf(`
data "sandbox_templates" "all" {
  endpoint        = %q
  admin_key       = %q
  connect_address = %q
}
`, tlsEndpoint, m.AdminKey, m.tlsAddr),
				ExpectError: regexp.MustCompile(`(?s)Sandbox Manager Unreachable.*https://api.sandbox.test.*certificate signed by\s+unknown\s+authority`),
			},
			{
				Config: m.resourcesConfig(name) + fmt.Sprintf(`
data "sandbox_templates" "all" {
%s}
`, m.location()),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sandbox_pool.test", tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue("sandbox_pool.test", tfjsonpath.New("connect_address"), knownvalue.StringExact(m.tlsAddr)),
					statecheck.ExpectKnownValue("data.sandbox_templates.all", tfjsonpath.New("available"),
						knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringExact("base")})),
				},
				Check: func(s *terraform.State) error {
					p, err := m.tls.GetPool(testContext(t), name)
					if err != nil {
						return err
					}
					if p.Template != "base" || p.Size != 1 || p.Ready < 1 {
						return fmt.Errorf("manager has pool %+v, want template base with 1 ready sandbox", p)
					}
					keyID = s.RootModule().Resources["sandbox_api_key.test"].Primary.ID
					return checkKeyOverTLS(m, s.RootModule().Resources["sandbox_api_key.test"].Primary.Attributes["key"])
				},
			},
			{
				// The import ID names the endpoint at most: the provider's manager block supplies
				// the connect address and CA for the endpoint it names.
				Config:                  m.providerManagerConfig() + m.resourcesConfig(name),
				ResourceName:            "sandbox_pool.test",
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"endpoint", "admin_key", "connect_address", "ca_certificate"},
			},
			{
				Config:                  m.providerManagerConfig() + m.resourcesConfig(name),
				ResourceName:            "sandbox_api_key.test",
				ImportState:             true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return tlsEndpoint + "|" + keyID, nil },
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"endpoint", "admin_key", "connect_address", "ca_certificate", "key"},
			},
		},
	})
}

func (m *tlsManager) providerManagerConfig() string {
	return fmt.Sprintf(`
provider "sandbox" {
  manager {
%s  }
}
`, m.location())
}

// checkKeyOverTLS uses the created key against the E2B API through the TLS listener, by name.
func checkKeyOverTLS(m *tlsManager, key string) error {
	pool, err := client.CertPool(string(m.ca.CertPEM))
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, m.tlsAddr)
	}
	req, err := http.NewRequest(http.MethodGet, tlsEndpoint+"/templates", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", key)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/templates with the created key: %s", tlsEndpoint, resp.Status)
	}
	return nil
}
