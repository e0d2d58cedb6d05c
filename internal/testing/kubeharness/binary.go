package kubeharness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KubeVersion is the Kubernetes release the harness's kube-apiserver and kube-controller-manager are
// built from; it matches the k8s.io/client-go v0.37.x the module uses.
const KubeVersion = "v1.37.2"

// CacheDir is where `make kube-apiserver` puts the binaries: $SANDBOX_KUBE_CACHE, or
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

// buildHint is how a developer gets the binaries.
const buildHint = "run `make kube-apiserver` in the repository (builds kube-apiserver and kube-controller-manager " +
	"once into the cache: about 10 minutes each cold on 2 cores, seconds afterwards)"

// findAPIServer returns the kube-apiserver to run: explicit, $KUBE_APISERVER_BIN, or the cached build,
// whose recorded version must be KubeVersion.
func findAPIServer(explicit string) (string, error) {
	return findKubeBinary("kube-apiserver", explicit, os.Getenv("KUBE_APISERVER_BIN"))
}

// findKubeBinary returns explicit, else fromEnv, else <CacheDir>/<name> when its .version file
// records KubeVersion.
func findKubeBinary(name, explicit, fromEnv string) (string, error) {
	if explicit == "" {
		explicit = fromEnv
	}
	if explicit != "" {
		if fi, err := os.Stat(explicit); err != nil || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s binary %s: not a regular file", name, explicit)
		}
		return explicit, nil
	}
	bin := filepath.Join(CacheDir(), name)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s %s is not built at %s: %s", name, KubeVersion, bin, buildHint)
	}
	raw, err := os.ReadFile(bin + ".version")
	if got := strings.TrimSpace(string(raw)); err != nil || got != KubeVersion {
		return "", fmt.Errorf("%s at %s is not %s (recorded %q): %s", name, bin, KubeVersion, got, buildHint)
	}
	return bin, nil
}
