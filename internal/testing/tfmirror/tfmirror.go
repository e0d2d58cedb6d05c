// Package tfmirror builds this repository's provider into a Terraform filesystem mirror and writes a CLI
// configuration that installs sandboxstack/sandbox from that mirror alone, so that `terraform init` of a
// configuration using the provider (a module, an example) runs offline against the code under test.
package tfmirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Source is the provider's address as configurations spell it in required_providers.
const Source = "registry.terraform.io/sandboxstack/sandbox"

// DefaultVersion is the version the provider is built as unless Options.Version says otherwise
// (the same as `make install`).
const DefaultVersion = "0.0.1"

// Options of Build.
type Options struct {
	// Version the provider is built as (its `-X main.version`); DefaultVersion when empty.
	Version string
	// RepoDir is the repository's root (where go.mod is); when empty it is found with `go env GOMOD`
	// from the working directory, which for a test is its package's directory.
	RepoDir string
}

// Mirror is a filesystem mirror holding the provider, and the CLI configuration that uses it.
type Mirror struct {
	Dir        string // the mirror (unpacked layout)
	ConfigFile string // the CLI configuration, for TF_CLI_CONFIG_FILE
	Version    string // the provider's version in the mirror
}

// Build compiles the provider into a mirror under dir and writes the CLI configuration next to it.
func Build(ctx context.Context, dir string, opts Options) (*Mirror, error) {
	version := opts.Version
	if version == "" {
		version = DefaultVersion
	}
	repo := opts.RepoDir
	if repo == "" {
		var err error
		if repo, err = repoRoot(ctx); err != nil {
			return nil, err
		}
	}
	m := &Mirror{
		Dir:        filepath.Join(dir, "mirror"),
		ConfigFile: filepath.Join(dir, "terraform.tfrc"),
		Version:    version,
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	binary := filepath.Join(m.Dir, filepath.FromSlash(Source), version, platform, "terraform-provider-sandbox_v"+version)
	build := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", binary, ".")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the provider: %w\n%s", err, out)
	}
	// Only the mirror, no direct installation: a configuration needing any other provider fails
	// instead of reaching the network.
	config := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [%q]\n  }\n}\n",
		m.Dir, Source)
	if err := os.WriteFile(m.ConfigFile, []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("write the CLI configuration: %w", err)
	}
	return m, nil
}

// New builds a mirror in a temporary directory of t, failing t when it cannot.
func New(t testing.TB, opts Options) *Mirror {
	t.Helper()
	m, err := Build(t.Context(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Env is the environment a terraform command needs to install the provider from the mirror: the
// process's own environment with TF_CLI_CONFIG_FILE pointing at the mirror's configuration, and
// neither version checks nor a plugin cache that could hold another build of the provider.
func (m *Mirror) Env() []string {
	env := make([]string, 0, len(os.Environ())+3)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR", "CHECKPOINT_DISABLE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TF_CLI_CONFIG_FILE="+m.ConfigFile, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
}

// Command is `terraform args...` in dir with Env.
func (m *Mirror) Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "terraform", args...)
	cmd.Dir = dir
	cmd.Env = m.Env()
	return cmd
}

func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("the working directory is not inside the repository's Go module")
	}
	return filepath.Dir(gomod), nil
}
