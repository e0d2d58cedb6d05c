package pool_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
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
			{
				Config: `
resource "sandbox_pool" "test" {
  name      = "ok"
  template  = "base"
  size      = 1
  resources = {}
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Empty Sandbox Pool Resources.*cpu_millis.*memory_mb`),
			},
			{
				Config: `
resource "sandbox_pool" "test" {
  name      = "ok"
  template  = "base"
  size      = 1
  resources = { cpu_millis = 50 }
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)cpu_millis.*between 100 and 64000`),
			},
			{
				Config: `
resource "sandbox_pool" "test" {
  name      = "ok"
  template  = "base"
  size      = 1
  resources = { memory_mb = 16 }
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)memory_mb.*between 64 and 262144`),
			},
		},
	})
}

func poolResourcesConfig(m *accManager, name, resources string) string {
	return m.providerConfig() + fmt.Sprintf(`
resource "sandbox_pool" "test" {
  name     = %q
  template = "base"
  size     = 1
%s
}
`, name, resources)
}

// checkPoolResources asserts the manager's pool resources, and what an E2B client sees of a sandbox
// claimed from the pool (GET /sandboxes/{id}: cpuCount, memoryMB).
func checkPoolResources(t *testing.T, m *accManager, name string, want client.Resources, cpuCount, memoryMB int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := testContext(t)
		p, err := m.Admin.GetPool(ctx, name)
		if err != nil {
			return err
		}
		if p.Resources != want {
			return fmt.Errorf("manager has pool resources %+v, want %+v", p.Resources, want)
		}
		if p.Ready < 1 {
			return fmt.Errorf("pool %q has no warm sandbox after apply", name)
		}
		sb, err := m.Client().CreateContext(ctx, managerharness.CreateOptions{Template: "base"})
		if err != nil {
			return fmt.Errorf("create from the pool: %w", err)
		}
		defer m.Client().Kill(sb.SandboxID)
		info, err := sandboxInfo(ctx, m, sb.SandboxID)
		if err != nil {
			return err
		}
		if info.CPUCount != cpuCount || info.MemoryMB != memoryMB {
			return fmt.Errorf("sandbox %s reports %d CPU / %d MB, want %d / %d", sb.SandboxID, info.CPUCount, info.MemoryMB, cpuCount, memoryMB)
		}
		return nil
	}
}

type sandboxDetail struct {
	CPUCount int `json:"cpuCount"`
	MemoryMB int `json:"memoryMB"`
}

// sandboxInfo is E2B's GET /sandboxes/{id}, as the SDK's getInfo calls it.
func sandboxInfo(ctx context.Context, m *accManager, id string) (sandboxDetail, error) {
	var out sandboxDetail
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/sandboxes/"+id, nil)
	if err != nil {
		return out, err
	}
	req.Header.Set("X-API-Key", m.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return out, fmt.Errorf("GET /sandboxes/%s: %s %s", id, resp.Status, b)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// TestAccPool_resources: CPU and memory per pool, created, imported, changed in place (the warm
// sandboxes are replaced), removed, and changed out of band (drift).
func TestAccPool_resources(t *testing.T) {
	// A pool without resources gets the manager's default limits: 1.5 cores (reported as 2 CPUs) and 768 MB.
	m := startManagerWith(t, managerharness.Options{Env: []string{"SANDBOX_CPU_MILLIS=1500", "SANDBOX_MEMORY_MB=768"}})
	const defaultCPUs, defaultMemoryMB = 2, 768
	name := randomName()
	const addr = "sandbox_pool.test"
	both := poolResourcesConfig(m, name, `  resources = {
    cpu_millis = 500
    memory_mb  = 256
  }`)
	memoryOnly := poolResourcesConfig(m, name, `  resources = {
    memory_mb = 384
  }`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             checkPoolGone(t, m, name),
		Steps: []resource.TestStep{
			{
				Config: both,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("resources"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"cpu_millis": knownvalue.Int64Exact(500),
						"memory_mb":  knownvalue.Int64Exact(256),
					})),
				},
				// 500 millicores are reported as one whole CPU, as E2B reports CPUs.
				Check: checkPoolResources(t, m, name, client.Resources{CPUMillis: 500, MemoryMB: 256}, 1, 256),
			},
			{ResourceName: addr, ImportState: true, ImportStateVerify: true},
			{
				Config: memoryOnly,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("resources").AtMapKey("cpu_millis"), knownvalue.Null()),
				},
				// Without cpu_millis the template's CPU applies: base sets none, so the sandbox shares the
				// machine's CPUs, which the manager reports.
				Check: checkPoolResources(t, m, name, client.Resources{MemoryMB: 384}, defaultCPUs, 384),
			},
			{ResourceName: addr, ImportState: true, ImportStateVerify: true},
			{
				PreConfig: func() {
					if _, err := m.Admin.PutPool(testContext(t), name, client.PoolSpec{Template: "base", Size: 1, Resources: client.Resources{MemoryMB: 1024}}); err != nil {
						t.Fatalf("change resources out of band: %v", err)
					}
				},
				Config:             memoryOnly,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: poolResourcesConfig(m, name, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("resources"), knownvalue.Null()),
				},
				Check: checkPoolResources(t, m, name, client.Resources{}, defaultCPUs, defaultMemoryMB),
			},
		},
	})
}

// TestAccPool_waitTimeout: a pool whose sandboxes never get ready fails the apply when the create
// timeout passes, naming what to check; the pool exists and is tainted, so the next apply replaces it.
// The manager gets an envd without the code-interpreter binary beside it, which makes the
// code-interpreter template unavailable without depending on speed.
func TestAccPool_waitTimeout(t *testing.T) {
	_, envdBin := managerharness.Binaries(t)
	lonely := filepath.Join(t.TempDir(), "envd")
	copyExecutable(t, envdBin, lonely)
	m := startManagerWith(t, managerharness.Options{EnvdBin: lonely})
	ts, err := m.Admin.Templates(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(ts, func(tp client.Template) bool { return tp.TemplateID == "code-interpreter" }); i < 0 || ts[i].Available {
		t.Fatalf("precondition: want code-interpreter listed and unavailable on this manager, got %+v", ts)
	}
	name := randomName()
	const addr = "sandbox_pool.test"
	cfg := func(template string) string {
		return m.providerConfig() + fmt.Sprintf(`
resource "sandbox_pool" "test" {
  name     = %q
  template = %q
  size     = 1
  timeouts {
    create = "3s"
  }
}
`, name, template)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             checkPoolGone(t, m, name),
		Steps: []resource.TestStep{
			{
				Config:      cfg("code-interpreter"),
				ExpectError: regexp.MustCompile(`(?s)Sandbox Pool Not Ready.*0\s+of\s+1\s+warm\s+sandboxes\s+after\s+3s.*sandbox_templates`),
			},
			{
				// The failed create left the pool in state, tainted: the plan replaces it.
				Config: cfg("base"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkPool(t, m, name, 1, 0),
			},
		},
	})
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
