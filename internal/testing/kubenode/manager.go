package kubenode

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// ManagerImageName is the image name of the bundled sandbox manager
// (ghcr.io/sandboxstack/sandbox-manager:<tag>): ManagerPrograms runs it as the built binary.
const ManagerImageName = "sandbox-manager"

var builtManager struct {
	once sync.Once
	dir  string
	err  error
}

// ManagerBinary returns the sandbox-manager binary: MANAGER_BIN when set, otherwise one built from
// this module once per test binary (RemoveBinaries deletes it).
func ManagerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MANAGER_BIN"); p != "" {
		return p
	}
	builtManager.once.Do(func() {
		if builtManager.dir, builtManager.err = os.MkdirTemp("", "kubenode-manager-"); builtManager.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(builtManager.dir, "sandbox-manager"),
			modulePath+"/server/cmd/sandbox-manager").CombinedOutput()
		if err != nil {
			builtManager.err = fmt.Errorf("go build sandbox-manager: %v\n%s", err, out)
		}
	})
	if builtManager.err != nil {
		t.Fatal(builtManager.err)
	}
	return filepath.Join(builtManager.dir, "sandbox-manager")
}

// ManagerPrograms is Config.Programs for pods of the manager image.
func ManagerPrograms(t testing.TB) map[string]string {
	return map[string]string{ManagerImageName: ManagerBinary(t)}
}
