package pool_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
)

func apiKeyConfig(m *accManager, name string) string {
	return m.providerConfig() + fmt.Sprintf(`
resource "sandbox_api_key" "test" {
  name = %q
}
`, name)
}

// checkKeyWorks uses the key from state against the E2B API (GET /templates wants an API key).
func checkKeyWorks(m *accManager) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources["sandbox_api_key.test"]
		if !ok {
			return fmt.Errorf("sandbox_api_key.test not in state")
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, m.URL()+"/templates", nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-API-Key", rs.Primary.Attributes["key"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /templates with the created key: %s", resp.Status)
		}
		return nil
	}
}

func TestAccAPIKey_basic(t *testing.T) {
	m := startManager(t)
	const addr = "sandbox_api_key.test"
	var id string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy: func(*terraform.State) error {
			_, err := m.Admin.GetKey(testContext(t), id)
			if client.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("API key %q after destroy: %v", id, err)
		},
		Steps: []resource.TestStep{
			{
				Config: apiKeyConfig(m, "ci runner"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact("ci runner")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("key"), knownvalue.StringRegexp(regexp.MustCompile(`^e2b_[0-9a-f]+$`))),
					statecheck.ExpectSensitiveValue(addr, tfjsonpath.New("key")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("created_at"), knownvalue.NotNull()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkKeyWorks(m),
					func(s *terraform.State) error {
						id = s.RootModule().Resources[addr].Primary.ID
						k, err := m.Admin.GetKey(testContext(t), id)
						if err != nil {
							return err
						}
						if k.Name != "ci runner" || k.Source != "store" {
							return fmt.Errorf("manager has key %+v", k)
						}
						return nil
					},
				),
			},
			{
				// The secret cannot be imported (the import warns so).
				ResourceName:            addr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"key"},
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateIdFunc:       func(s *terraform.State) (string, error) { return m.URL() + "|" + id, nil },
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"key", "endpoint"},
			},
			{
				// A new name is a new key.
				Config: apiKeyConfig(m, "ci runner 2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkKeyWorks(m),
					func(s *terraform.State) error {
						old := id
						id = s.RootModule().Resources[addr].Primary.ID
						if _, err := m.Admin.GetKey(testContext(t), old); !client.IsNotFound(err) {
							return fmt.Errorf("replaced key %q still on the manager (%v)", old, err)
						}
						return nil
					},
				),
			},
			{
				// Revoked out of band: the plan creates a new one.
				PreConfig: func() {
					if err := m.Admin.DeleteKey(testContext(t), id); err != nil {
						t.Fatal(err)
					}
				},
				Config:             apiKeyConfig(m, "ci runner 2"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: apiKeyConfig(m, "ci runner 2"),
				Check: resource.ComposeAggregateTestCheckFunc(checkKeyWorks(m), func(s *terraform.State) error {
					id = s.RootModule().Resources[addr].Primary.ID
					return nil
				}),
			},
		},
	})
}

func TestAccTemplatesDataSource(t *testing.T) {
	m := startManager(t)
	const addr = "data.sandbox_templates.all"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: m.providerConfig() + `data "sandbox_templates" "all" {}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("templates"), knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name":      knownvalue.StringExact("base"),
							"available": knownvalue.Bool(true),
							"reason":    knownvalue.StringExact(""),
						}),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("available"), knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.StringExact("base"),
					})),
				},
				Check: func(*terraform.State) error {
					// The lookup's short-lived API key is gone again.
					keys, err := m.Admin.ListKeys(testContext(t))
					if err != nil {
						return err
					}
					for _, k := range keys {
						if k.Source != "env" {
							return fmt.Errorf("API key left behind by the template lookup: %+v", k)
						}
					}
					return nil
				},
			},
			{
				Config: `data "sandbox_templates" "all" {
  endpoint  = "http://127.0.0.1:9"
  admin_key = "any"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Sandbox Manager Unreachable.*http://127\.0\.0\.1:9\b`),
			},
		},
	})
}
