package pool_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	sdkacctest "github.com/hashicorp/terraform-plugin-testing/helper/acctest"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acctest"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/client"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
)

// The acceptance tests run the real sandbox-manager (local runtime, real envd) and the real
// terraform CLI against the provider served in-process. resource.Test needs TF_ACC=1.

func TestMain(m *testing.M) {
	code := m.Run()
	managerharness.RemoveBinaries()
	os.Exit(code)
}

var protoV6Factories = acctest.Factories()

// accManager is a sandbox manager for one test, and an admin client of it.
type accManager struct {
	*managerharness.Manager
	AdminKey string
	Admin    *client.Client
}

// startManager starts a manager with the admin API on. Without TF_ACC the test is skipped the way
// resource.Test skips it, before paying for a manager.
func startManager(t *testing.T) *accManager {
	t.Helper()
	return startManagerWith(t, managerharness.Options{})
}

// startManagerWith is startManager with harness options (the admin key and log level are set here).
func startManagerWith(t *testing.T, opts managerharness.Options) *accManager {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make test does)")
	}
	adminKey := "adm-" + sdkacctest.RandString(24)
	opts.AdminKey, opts.LogLevel = adminKey, "info"
	m := managerharness.Start(t, opts)
	admin, err := client.New(m.URL(), adminKey)
	if err != nil {
		t.Fatal(err)
	}
	return &accManager{Manager: m, AdminKey: adminKey, Admin: admin}
}

// providerConfig is a provider block pointing at the manager.
func (m *accManager) providerConfig() string {
	return fmt.Sprintf(`
provider "sandbox" {
  manager {
    endpoint  = %q
    admin_key = %q
  }
}
`, m.URL(), m.AdminKey)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomName() string { return acctest.RandomName() }
