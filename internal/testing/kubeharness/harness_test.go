package kubeharness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestClusterAppliesManifestsAndEnforcesRBAC(t *testing.T) {
	c := Start(t, Options{Manifests: []string{"testdata/crd.yaml", "testdata/objects.yaml"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The admin kubeconfig file, as a program would load it.
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatalf("load admin kubeconfig: %v", err)
	}
	admin := kubernetes.NewForConfigOrDie(cfg)
	v, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != KubeVersion {
		t.Errorf("server version %q, want %q", v.GitVersion, KubeVersion)
	}

	// The CRD was applied first and is served, so the Widget of the same Apply call exists.
	widgets := dynamic.NewForConfigOrDie(c.RESTConfig()).
		Resource(schema.GroupVersionResource{Group: "test.kubeharness.sandboxstack.io", Version: "v1", Resource: "widgets"}).
		Namespace("harness-test")
	w, err := widgets.Get(ctx, "first", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Widget: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size"); size != 3 {
		t.Errorf("Widget spec.size = %d, want 3", size)
	}
	// The CRD's schema is enforced: the API server really serves it.
	bad := w.DeepCopy()
	bad.SetName("second")
	bad.SetResourceVersion("")
	bad.Object["spec"] = map[string]any{"size": 0}
	if _, err := widgets.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("create Widget with size 0: %v, want Invalid", err)
	}
	// Applying the same manifests again is a no-op, not an error.
	if err := c.Apply(ctx, "testdata"); err != nil {
		t.Fatalf("apply again: %v", err)
	}

	// Pods are accepted in a fresh namespace without a "default" ServiceAccount (no controller makes
	// one; the ServiceAccount admission plugin is off).
	if _, err := admin.CoreV1().Pods("harness-test").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example/sandbox-base:1"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}

	// A service account has exactly what RBAC gives it.
	nobody := kubernetes.NewForConfigOrDie(loadKubeconfig(t, c.ServiceAccountKubeconfig(t, "harness-test", "nobody")))
	_, err = nobody.CoreV1().Pods("harness-test").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list pods as a service account without RBAC: %v, want Forbidden", err)
	}
	if !strings.Contains(err.Error(), "system:serviceaccount:harness-test:nobody") {
		t.Errorf("forbidden error does not name the service account: %v", err)
	}
	reader := kubernetes.NewForConfigOrDie(loadKubeconfig(t, c.ServiceAccountKubeconfig(t, "harness-test", "reader")))
	pods, err := reader.CoreV1().Pods("harness-test").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods as the reader: %v", err)
	}
	if len(pods.Items) != 1 {
		t.Errorf("reader lists %d pods, want 1", len(pods.Items))
	}
	if _, err := reader.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list pods of another namespace as the reader: %v, want Forbidden", err)
	}
	if _, err := reader.CoreV1().Secrets("harness-test").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the reader: %v, want Forbidden", err)
	}

	// A service account that does not exist gets no token.
	if err := c.WriteServiceAccountKubeconfig(ctx, "harness-test", "ghost", filepath.Join(t.TempDir(), "k")); err == nil {
		t.Error("kubeconfig for a missing service account: no error")
	}
}

func TestStopRemovesEtcdData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Launch(ctx, Options{NoManifests: true})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := argValue(c.etcd.proc.cmd.Args, "--data-dir")
	dir := c.Dir()
	if _, err := os.Stat(dataDir); err != nil {
		t.Fatalf("etcd data dir: %v", err)
	}
	c.Stop()
	c.Stop() // idempotent
	for _, p := range []string{dataDir, dir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Stop (%v)", p, err)
		}
	}
	if c.api.proc.running() || c.etcd.proc.running() {
		t.Error("a process still runs after Stop")
	}
}

func TestMissingAPIServerNamesTheMakeTarget(t *testing.T) {
	t.Setenv("KUBE_APISERVER_BIN", "")
	t.Setenv("SANDBOX_KUBE_CACHE", t.TempDir())
	_, err := findAPIServer("")
	if err == nil || !strings.Contains(err.Error(), "make kube-apiserver") {
		t.Fatalf("missing binary: %v, want an error naming `make kube-apiserver`", err)
	}
}

func TestMissingEtcdNamesThePackage(t *testing.T) {
	if _, err := findEtcd(filepath.Join(t.TempDir(), "etcd")); err == nil {
		t.Error("missing explicit etcd: no error")
	}
	t.Setenv("ETCD_BIN", "")
	t.Setenv("PATH", t.TempDir())
	_, err := locateEtcd("", filepath.Join(t.TempDir(), "etcd"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y --no-install-recommends etcd-server") {
		t.Fatalf("missing etcd: %v, want an error naming the etcd-server package", err)
	}
}

func loadKubeconfig(t *testing.T, path string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return cfg
}

func TestStartAppliesTheRepositoryCRDs(t *testing.T) {
	dir, ok := repoCRDDir()
	if !ok {
		t.Fatal("deploy/crds not found above the working directory")
	}
	files, err := manifestFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(files)
	if err != nil {
		t.Fatalf("deploy/crds: %v", err)
	}
	c := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	crds := dynamic.NewForConfigOrDie(c.RESTConfig()).Resource(crdResource)
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		crd, err := crds.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("CRD %s from %s: %v", o.GetName(), dir, err)
		}
		// Served: its resources list (empty) through the API.
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		for _, v := range versions {
			name, _ := v.(map[string]any)["name"].(string)
			if _, err := dynamic.NewForConfigOrDie(c.RESTConfig()).
				Resource(schema.GroupVersionResource{Group: group, Version: name, Resource: plural}).
				List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list %s.%s/%s: %v", plural, group, name, err)
			}
		}
	}
}

// BenchmarkClusterStart measures a warm start: etcd, kube-apiserver until /readyz, no manifests.
//
//	go test -run '^$' -bench ClusterStart -benchtime 3x ./internal/testing/kubeharness/
func BenchmarkClusterStart(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		c, err := Launch(ctx, Options{NoManifests: true})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.Stop()
		b.StartTimer()
	}
}
