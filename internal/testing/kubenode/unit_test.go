package kubenode

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestImagesSelectTemplates(t *testing.T) {
	for _, tc := range []struct {
		image    string
		template string
		ok       bool
		envd     bool
	}{
		{"ghcr.io/sandboxstack/sandbox-code-interpreter:0.3.0", "code-interpreter", true, false},
		{"example/sandbox-base:1", "base", true, false},
		{"sandbox-base", "base", true, false},
		{"localhost:5000/a/b/sandbox-desktop@sha256:abcd", "desktop", true, false},
		{"ghcr.io/sandboxstack/envd:0.3.0", "", false, true},
		{"localhost:5000/envd", "", false, true},
		{"example/sandbox-:1", "", false, false},
		{"busybox:1", "", false, false},
		{"example/base:1", "", false, false},
	} {
		template, ok := templateOf(tc.image)
		if template != tc.template || ok != tc.ok || isEnvdImage(tc.image) != tc.envd {
			t.Errorf("%s: template %q %v envd %v; want %q %v %v", tc.image, template, ok, isEnvdImage(tc.image), tc.template, tc.ok, tc.envd)
		}
	}
}

func TestExpandFollowsTheKubeletsRules(t *testing.T) {
	env := map[string]string{"A": "x", "B": "y"}
	for in, want := range map[string]string{
		"plain":          "plain",
		"$(A)-$(B)":      "x-y",
		"$$(A)":          "$(A)",
		"$(MISSING)":     "$(MISSING)",
		"$(A":            "$(A",
		"cost: $5":       "cost: $5",
		"trailing $":     "trailing $",
		"$(A)$(A)$$$(B)": "xx$y",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSandboxIDsComeFromHostnamesOrPodUIDs(t *testing.T) {
	pod := &corev1.Pod{}
	pod.UID = types.UID("1F2E3D4C-5B6A-7980-A1B2-C3D4E5F60718")
	if got, want := sandboxIDOf(pod), "1f2e3d4c5b6a7980a1b2c3d4e5f60718"; got != want {
		t.Errorf("sandboxIDOf (no hostname) = %q, want %q", got, want)
	}
	pod.Spec.Hostname = "Not-An-ID"
	if got, want := sandboxIDOf(pod), "1f2e3d4c5b6a7980a1b2c3d4e5f60718"; got != want {
		t.Errorf("sandboxIDOf (hostname %q) = %q, want the UID's %q", pod.Spec.Hostname, got, want)
	}
	pod.Spec.Hostname = "i5wd5wi41yjhxnwmdg7bz"
	if got := sandboxIDOf(pod); got != pod.Spec.Hostname {
		t.Errorf("sandboxIDOf (hostname %q) = %q, want the hostname", pod.Spec.Hostname, got)
	}
}

func TestIPAllocatorHandsOutDistinctLoopbackIPs(t *testing.T) {
	ips := newIPAllocator()
	seen := map[string]bool{}
	for range 20 {
		ln, ip, err := ips.listen("", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if seen[ip] || ip == "127.0.0.1" {
			t.Fatalf("IP %s handed out twice or is the host's", ip)
		}
		seen[ip] = true
	}
	// An IP in use cannot be requested again until released.
	var one string
	for ip := range seen {
		one = ip
		break
	}
	if _, _, err := ips.listen(one, 0); err == nil {
		t.Errorf("the IP %s in use was handed out again", one)
	}
	ips.release(one)
	ln, ip, err := ips.listen(one, 0)
	if err != nil || ip != one {
		t.Fatalf("released IP %s: %s, %v", one, ip, err)
	}
	ln.Close()
}
