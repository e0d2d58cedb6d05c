package stack

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const modulePath = "github.com/sandboxstack/terraform-provider-sandbox"

// ProviderSource is the provider's registry address, as configurations require it.
const ProviderSource = "registry.terraform.io/sandboxstack/sandbox"

var mirror struct {
	once           sync.Once
	dir, cliConfig string
	version        string
	err            error
}

// ProviderMirror builds the provider from this repository, once per test binary, into a filesystem
// mirror laid out as `make install` lays out Terraform's implicit local mirror
// (registry.terraform.io/sandboxstack/sandbox/<version>/<os>_<arch>/terraform-provider-sandbox_v<version>,
// version PROVIDER_DEV_VERSION of the GNUmakefile), and returns a CLI configuration file that installs
// sandboxstack/sandbox from that mirror and nothing from anywhere else: with TF_CLI_CONFIG_FILE
// pointing at it, `terraform init` works offline as it does after `make install`. RemoveProviderMirror
// deletes it (call it from TestMain after m.Run).
func ProviderMirror(t testing.TB) (cliConfig, version string) {
	t.Helper()
	mirror.once.Do(func() { mirror.dir, mirror.cliConfig, mirror.version, mirror.err = buildMirror() })
	if mirror.err != nil {
		t.Fatal(mirror.err)
	}
	return mirror.cliConfig, mirror.version
}

// RemoveProviderMirror deletes what ProviderMirror built.
func RemoveProviderMirror() {
	if mirror.dir != "" {
		_ = os.RemoveAll(mirror.dir)
	}
}

func buildMirror() (dir, cliConfig, version string, err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", "", "", err
	}
	if version, err = devVersion(filepath.Join(root, "GNUmakefile")); err != nil {
		return "", "", "", err
	}
	if dir, err = os.MkdirTemp("", "provider-mirror-"); err != nil {
		return "", "", "", err
	}
	plugins := filepath.Join(dir, "plugins")
	bin := filepath.Join(plugins, ProviderSource, version, runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-sandbox_v"+version)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", bin, modulePath)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", "", fmt.Errorf("go build the provider: %v\n%s", err, out)
	}
	cliConfig = filepath.Join(dir, "terraform.rc")
	rc := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
}
`, plugins, ProviderSource)
	if err := os.WriteFile(cliConfig, []byte(rc), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", "", err
	}
	return dir, cliConfig, version, nil
}

// devVersion reads PROVIDER_DEV_VERSION, the version `make install` builds the provider as.
func devVersion(makefile string) (string, error) {
	f, err := os.Open(makefile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":=")
		if ok && strings.TrimSpace(name) == "PROVIDER_DEV_VERSION" {
			return strings.TrimSpace(value), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s sets no PROVIDER_DEV_VERSION", makefile)
}

// RepoRoot is the repository's root directory (where go.mod is), found from this source file.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no caller information to find the repository")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	return root, nil
}
