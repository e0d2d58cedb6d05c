package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/kube"
)

// The namespaces of deploy/rbac: the manager's own and its sandboxes'.
const (
	managerNamespace = "sandbox-system"
	sandboxNamespace = "sandboxes"
)

var poolGVR = schema.GroupVersionResource{Group: "sandbox.sandboxstack.io", Version: "v1alpha1", Resource: "sandboxpools"}

// kubeEnv is a real API server (etcd + kube-apiserver) with the repository's CRDs and RBAC
// manifests, a test node that runs sandbox pods as local sandboxes at 127.x pod IPs, and the
// manager's service account: managers started by it authenticate as that service account, so
// every kube test also proves that deploy/rbac gives the manager enough.
type kubeEnv struct {
	t          *testing.T
	cluster    *kubeharness.Cluster
	cs         kubernetes.Interface // admin: for the test's own checks
	dyn        dynamic.Interface
	kubeconfig string // the manager's service account
	apiKey     string
	adminKey   string
}

func startKubeEnv(t *testing.T, node kubenode.Config) *kubeEnv {
	t.Helper()
	c := kubeharness.Start(t, kubeharness.Options{})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The deployment's own manifests: its namespaces (Pod Security enforced), NetworkPolicies (the
	// test node has no CNI to enforce them) and the manager's RBAC.
	if err := c.Apply(ctx, "../../../deploy/namespaces.yaml", "../../../deploy/networkpolicies.yaml", "../../../deploy/rbac"); err != nil {
		t.Fatalf("apply deploy/namespaces.yaml, deploy/networkpolicies.yaml and deploy/rbac: %v", err)
	}
	node.Namespace = sandboxNamespace
	kubenode.StartTest(t, c.RESTConfig(), node)
	return &kubeEnv{
		t:          t,
		cluster:    c,
		cs:         cs,
		dyn:        dyn,
		kubeconfig: c.ServiceAccountKubeconfig(t, managerNamespace, "sandbox-manager"),
		apiKey:     managerharness.NewAPIKey(),
		adminKey:   "adm_" + strings.TrimPrefix(managerharness.NewAPIKey(), "e2b_"),
	}
}

// manager starts a manager replica on the kube runtime.
func (e *kubeEnv) manager(replica string) *managerharness.Manager {
	e.t.Helper()
	return managerharness.Start(e.t, managerharness.Options{
		APIKey:   e.apiKey,
		AdminKey: e.adminKey,
		Env: []string{
			"SANDBOX_RUNTIME=kube",
			"KUBECONFIG=" + e.kubeconfig,
			"SANDBOX_KUBE_NAMESPACE=" + sandboxNamespace,
			"SANDBOX_REPLICA_ID=" + replica,
			"SANDBOX_IMAGE_REGISTRY=registry.test/sandboxstack",
			"SANDBOX_IMAGE_TAG=test",
			// TestKubeTwoReplicas runs 200 sandboxes of one key at once.
			"SANDBOX_MAX_SANDBOXES_PER_KEY=0",
		},
	})
}

// pods lists the sandbox pods by phase label ("" = all), not counting pods being deleted.
func (e *kubeEnv) pods(phase string) []corev1.Pod {
	e.t.Helper()
	sel := labels.Set{kube.LabelManagedBy: kube.ManagedBy}
	if phase != "" {
		sel[kube.LabelPhase] = phase
	}
	l, err := e.cs.CoreV1().Pods(sandboxNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Labels[kube.LabelID] != "" {
			out = append(out, p)
		}
	}
	return out
}

func (e *kubeEnv) poolPods(pool, phase string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range e.pods(phase) {
		if p.Labels[kube.LabelPool] == pool {
			out = append(out, p)
		}
	}
	return out
}

// podExists reports whether a sandbox's pod exists at all (even while being deleted).
func (e *kubeEnv) podExists(id string) bool {
	_, err := e.cs.CoreV1().Pods(sandboxNamespace).Get(context.Background(), "sandbox-"+id, metav1.GetOptions{})
	return err == nil
}

func (e *kubeEnv) secretExists(id string) bool {
	_, err := e.cs.CoreV1().Secrets(sandboxNamespace).Get(context.Background(), "sandbox-"+id, metav1.GetOptions{})
	return err == nil
}

// call does one JSON request to a manager; admin requests carry the admin key.
func (e *kubeEnv) call(m *managerharness.Manager, admin bool, method, path string, body any) (int, []byte) {
	t := e.t
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, m.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+e.adminKey)
	} else {
		req.Header.Set("X-API-Key", m.APIKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type poolBody struct {
	Name     string `json:"name,omitempty"`
	Template string `json:"template"`
	Size     int    `json:"size"`
	Timeout  int64  `json:"timeout,omitempty"`
	Ready    int    `json:"ready,omitempty"`
}

func (e *kubeEnv) putPool(m *managerharness.Manager, name string, size int) {
	t := e.t
	t.Helper()
	status, body := e.call(m, true, http.MethodPut, "/admin/pools/"+name, poolBody{Template: "base", Size: size})
	if status != http.StatusOK {
		t.Fatalf("PUT pool %s size %d: %d %s", name, size, status, body)
	}
}

func (e *kubeEnv) poolReady(m *managerharness.Manager, name string) int {
	t := e.t
	t.Helper()
	status, body := e.call(m, true, http.MethodGet, "/admin/pools/"+name, nil)
	if status != http.StatusOK {
		t.Fatalf("GET pool %s: %d %s", name, status, body)
	}
	var p poolBody
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Ready
}

func (e *kubeEnv) setTimeout(m *managerharness.Manager, id string, seconds int) {
	t := e.t
	t.Helper()
	status, body := e.call(m, false, http.MethodPost, "/sandboxes/"+id+"/timeout", map[string]int{"timeout": seconds})
	if status != http.StatusNoContent && status != http.StatusOK {
		t.Fatalf("set timeout of %s: %d %s", id, status, body)
	}
}

// createdFromPool reports what the manager logged about a create: whether it claimed a warm pod.
func createdFromPool(t *testing.T, m *managerharness.Manager, id string) bool {
	t.Helper()
	for _, line := range strings.Split(m.Logs(8<<20), "\n") {
		if strings.Contains(line, `"sandbox created"`) && strings.Contains(line, id) {
			return strings.Contains(line, `"fromPool":true`)
		}
	}
	t.Fatalf("no \"sandbox created\" log line for %s", id)
	return false
}

// countLogLines counts the log lines of all runs of the managers that contain all of parts.
func countLogLines(ms []*managerharness.Manager, parts ...string) int {
	n := 0
	for _, m := range ms {
		for _, line := range strings.Split(m.Logs(64<<20), "\n") {
			ok := true
			for _, p := range parts {
				if !strings.Contains(line, p) {
					ok = false
					break
				}
			}
			if ok {
				n++
			}
		}
	}
	return n
}

func runOK(t *testing.T, c *managerharness.Client, sb *managerharness.Sandbox, script, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := c.Run(ctx, sb.SandboxID, sb.EnvdAccessToken, script)
	if err != nil || r.ExitCode != 0 || r.Stdout != want {
		t.Errorf("run %q in %s: %+v %v, want stdout %q", script, sb.SandboxID, r, err, want)
	}
}
