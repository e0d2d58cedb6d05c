package kubeharness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KubeVersion is the Kubernetes release the harness's kube-apiserver is built from; it matches the
// k8s.io/client-go v0.37.x the module uses.
const KubeVersion = "v1.37.2"

// CacheDir is where `make kube-apiserver` puts the binary: $SANDBOX_KUBE_CACHE, or
// ${XDG_CACHE_HOME:-$HOME/.cache}/sandboxstack/kube-<KubeVersion>. It mirrors build-kube-apiserver.sh.
func CacheDir() string {
	if d := os.Getenv("SANDBOX_KUBE_CACHE"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "sandboxstack", "kube-"+KubeVersion)
}

// buildHint is how a developer gets the binary.
const buildHint = "run `make kube-apiserver` in the repository (builds it once into the cache: about 10 minutes " +
	"cold on 2 cores, seconds afterwards)"

// findAPIServer returns the kube-apiserver to run: explicit, $KUBE_APISERVER_BIN, or the cached build,
// whose recorded version must be KubeVersion.
func findAPIServer(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv("KUBE_APISERVER_BIN")
	}
	if explicit != "" {
		if fi, err := os.Stat(explicit); err != nil || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("kube-apiserver binary %s: not a regular file", explicit)
		}
		return explicit, nil
	}
	bin := filepath.Join(CacheDir(), "kube-apiserver")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("kube-apiserver %s is not built at %s: %s", KubeVersion, bin, buildHint)
	}
	raw, err := os.ReadFile(bin + ".version")
	if got := strings.TrimSpace(string(raw)); err != nil || got != KubeVersion {
		return "", fmt.Errorf("kube-apiserver at %s is not %s (recorded %q): %s", bin, KubeVersion, got, buildHint)
	}
	return bin, nil
}
