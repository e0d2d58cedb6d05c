package kube

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

// TestSandboxPodsMeetDeployPolicies applies deploy/ (namespaces with Pod Security labels, the
// NetworkPolicies, the RBAC) to a real kube-apiserver and creates every built-in template's Secret and
// pod in the sandbox namespace: Pod Security admission (enforce baseline) accepts them, while a pod
// beyond baseline is refused, and what is stored keeps the token and the environment in the Secret.
// The test node has no CNI: that the NetworkPolicies are enforced cannot be shown here, only that the
// API server accepts them as written.
func TestSandboxPodsMeetDeployPolicies(t *testing.T) {
	c := kubeharness.Start(t, kubeharness.Options{})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Apply(ctx, "../../../deploy/namespaces.yaml", "../../../deploy/networkpolicies.yaml", "../../../deploy/rbac"); err != nil {
		t.Fatalf("apply deploy/: %v", err)
	}
	const ns = "sandboxes"

	nps, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, np := range nps.Items {
		names = append(names, np.Name)
	}
	if got := strings.Join(names, ","); got != "sandboxes-default-deny,sandboxes-egress,sandboxes-from-manager" {
		t.Errorf("NetworkPolicies in %s: %s", ns, got)
	}
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nsObj.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
		t.Errorf("namespace %s labels %v: want Pod Security enforce=baseline", ns, nsObj.Labels)
	}

	for i, tmpl := range BuiltinTemplates("registry.test/sbx", "v1") {
		spec := testSpec()
		spec.ID = "psa" + string(rune('a'+i))
		spec.Template = tmpl.Name
		spec.EnvVars = map[string]string{"API_KEY": "user-secret-value", "WITH SPACE": "x"}
		if _, err := cs.CoreV1().Secrets(ns).Create(ctx, buildSecret(ns, spec), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create the Secret of %s: %v", tmpl.Name, err)
		}
		pod := buildPod(podSpec{spec: spec, tmpl: tmpl, namespace: ns, envdImage: "registry.test/sbx/envd:v1", now: time.Now()})
		created, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("template %s: the API server refused the sandbox pod: %v", tmpl.Name, err)
		}
		raw, _ := json.Marshal(created)
		for _, secret := range []string{spec.AccessToken, "user-secret-value"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("template %s: the stored pod carries %q", tmpl.Name, secret)
			}
		}
		if sc := created.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("template %s: stored pod security context %+v", tmpl.Name, created.Spec.SecurityContext)
		}
	}

	// Non-root templates meet "restricted" as well: no warning would be raised for them in a
	// restricted namespace. Shown with a server-side dry run in a namespace that enforces it.
	restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restricted-sandboxes", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted"}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, restricted, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nonRoot := testTemplate(t, "base")
	nonRoot.RunAsUser = 1000
	pod := buildPod(podSpec{spec: testSpec(), tmpl: nonRoot, namespace: restricted.Name, envdImage: "e", now: time.Now()})
	if _, err := cs.CoreV1().Pods(restricted.Name).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("a runAsUser template's pod in a restricted namespace: %v", err)
	}

	// Admission is really on: a pod with a capability beyond baseline is refused in the namespace.
	bad := buildPod(podSpec{spec: testSpec(), tmpl: testTemplate(t, "base"), namespace: ns, envdImage: "e", now: time.Now()})
	bad.Name = "sys-admin"
	caps := bad.Spec.Containers[0].SecurityContext.Capabilities
	caps.Add = append(caps.Add, "SYS_ADMIN")
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "baseline") {
		t.Errorf("a pod with SYS_ADMIN in %s: err = %v, want Forbidden by Pod Security baseline", ns, err)
	}
}
