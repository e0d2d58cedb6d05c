package pool_test

import (
	"fmt"
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

func poolConfig(m *accManager, name, template string, size, timeout int) string {
	return m.providerConfig() + fmt.Sprintf(`
resource "sandbox_pool" "test" {
  name     = %q
  template = %q
  size     = %d
  timeout  = %d
}
`, name, template, size, timeout)
}

// checkPool asserts what the manager itself holds for the pool.
func checkPool(t *testing.T, m *accManager, name string, size, timeout int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		p, err := m.Admin.GetPool(testContext(t), name)
		if err != nil {
			return err
		}
		if p.Size != size || p.Timeout != timeout || p.Template != "base" {
			return fmt.Errorf("manager has pool %+v, want template base, size %d, timeout %d", p, size, timeout)
		}
		if p.Ready < size {
			return fmt.Errorf("manager has pool %+v: wait_for_ready returned before %d sandboxes were ready", p, size)
		}
		return nil
	}
}

func checkPoolGone(t *testing.T, m *accManager, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := m.Admin.GetPool(testContext(t), name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("pool %q still exists on the manager after destroy", name)
	}
}

func TestAccPool_basic(t *testing.T) {
	m := startManager(t)
	name := randomName()
	const addr = "sandbox_pool.test"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             checkPoolGone(t, m, name),
		Steps: []resource.TestStep{
			{
				Config: poolConfig(m, name, "base", 1, 0),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("template"), knownvalue.StringExact("base")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("size"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("timeout"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("wait_for_ready"), knownvalue.Bool(true)),
				},
				Check: checkPool(t, m, name, 1, 0),
			},
			{
				// terraform import sandbox_pool.test <name>
				ResourceName:      addr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// terraform import sandbox_pool.test '<endpoint>|<name>'
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           m.URL() + "|" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"endpoint"},
			},
			{
				Config: poolConfig(m, name, "base", 2, 300),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("size"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("timeout"), knownvalue.Int64Exact(300)),
				},
				Check: checkPool(t, m, name, 2, 300),
			},
			{
				// Shrinking is in place too.
				Config: poolConfig(m, name, "base", 0, 300),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: checkPool(t, m, name, 0, 300),
			},
		},
	})
}

// TestAccPool_drift changes and deletes the pool behind Terraform's back: plans show it and apply
// puts it back.
func TestAccPool_drift(t *testing.T) {
	m := startManager(t)
	name := randomName()
	const addr = "sandbox_pool.test"
	cfg := poolConfig(m, name, "base", 1, 60)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             checkPoolGone(t, m, name),
		Steps: []resource.TestStep{
			{Config: cfg, Check: checkPool(t, m, name, 1, 60)},
			{
				PreConfig: func() {
					if _, err := m.Admin.PutPool(testContext(t), name, client.PoolSpec{Template: "base", Size: 3, Timeout: 60}); err != nil {
						t.Fatalf("resize out of band: %v", err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("size"), knownvalue.Int64Exact(1)),
				}},
				Check: checkPool(t, m, name, 1, 60),
			},
			{
				PreConfig: func() {
					if err := m.Admin.DeletePool(testContext(t), name); err != nil {
						t.Fatalf("delete out of band: %v", err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: checkPool(t, m, name, 1, 60),
			},
		},
	})
}

// TestAccPool_errors: an unknown template names the available ones; a pool that exists already is
// not taken over; a refresh against a manager that is not there names its URL.
func TestAccPool_errors(t *testing.T) {
	m := startManager(t)
	name := randomName()
	if _, err := m.Admin.PutPool(testContext(t), "taken", client.PoolSpec{Template: "base", Size: 0}); err != nil {
		t.Fatal(err)
	}
	const unreachable = "http://127.0.0.1:9"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             checkPoolGone(t, m, name),
		Steps: []resource.TestStep{
			{
				Config:      poolConfig(m, name, "no-such-template", 1, 0),
				ExpectError: regexp.MustCompile(`(?s)Unknown Sandbox Template.*no-such-template.*available:\s+base`),
			},
			{
				Config:      poolConfig(m, "taken", "base", 1, 0),
				ExpectError: regexp.MustCompile(`(?s)Sandbox Pool Already Exists.*terraform\s+import`),
			},
			{Config: poolConfig(m, name, "base", 0, 0)},
			{
				// The provider now points at a port nothing listens on: refresh fails and says where.
				Config: fmt.Sprintf(`
provider "sandbox" {
  manager {
    endpoint  = %q
    admin_key = %q
  }
}
resource "sandbox_pool" "test" {
  name     = %q
  template = "base"
  size     = 0
}
`, unreachable, m.AdminKey, name),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Sandbox Manager Unreachable.*http://127\.0\.0\.1:9\b.*make\s+run`),
			},
			{
				// A wrong admin key says which setting to fix (refresh still uses the key in state, so
				// the update is what fails).
				Config: m.providerConfig() + fmt.Sprintf(`
resource "sandbox_pool" "test" {
  name      = %q
  template  = "base"
  size      = 0
  admin_key = "wrong"
}
`, name),
				ExpectError: regexp.MustCompile(`(?s)Rejected the Admin Key.*SANDBOX_ADMIN_KEY`),
			},
			{Config: poolConfig(m, name, "base", 0, 0)},
		},
	})
}

// TestAccPool_resourceEndpoint: a pool that names its manager itself, without a provider block.
// Not parallel: the import falls back to SANDBOX_ADMIN_KEY from the environment.
func TestAccPool_resourceEndpoint(t *testing.T) {
	m := startManager(t)
	t.Setenv("SANDBOX_ADMIN_KEY", m.AdminKey)
	name := randomName()
	const addr = "sandbox_pool.test"
	cfg := fmt.Sprintf(`
resource "sandbox_pool" "test" {
  name           = %q
  template       = "base"
  size           = 1
  wait_for_ready = false
  endpoint       = %q
  admin_key      = %q
  timeouts {
    create = "2m"
  }
}
`, name, m.URL(), m.AdminKey)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             checkPoolGone(t, m, name),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("endpoint"), knownvalue.StringExact(m.URL())),
					statecheck.ExpectSensitiveValue(addr, tfjsonpath.New("admin_key")),
				},
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           m.URL() + "|" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"admin_key", "timeouts", "wait_for_ready"},
			},
		},
	})
}

func TestPool_invalidName(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: `
resource "sandbox_pool" "test" {
  name     = "Not_A_Label"
  template = "base"
  size     = 1
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)must be a DNS label`),
			},
			{
				Config: `
resource "sandbox_pool" "test" {
  name     = "ok"
  template = "base"
  size     = 101
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)between 0 and 100`),
			},
			{
				Config: `
resource "sandbox_pool" "test" {
  name     = "ok"
  template = "base"
  size     = 1
  endpoint = "127.0.0.1:3000"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)want an http:// or https:// URL`),
			},
		},
	})
}
