package alifake_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

// TestKubeconfigReachesRealAPIServer: what a client writes through the kubeconfig the CS fake hands out
// lands in a real kube-apiserver.
func TestKubeconfigReachesRealAPIServer(t *testing.T) {
	defer failOnError(t)
	cluster := kubeharness.Start(t, kubeharness.Options{NoManifests: true})
	f := alifake.New(t, alifake.Options{Kubeconfig: alifake.KubeconfigFile(cluster.Kubeconfig())})
	s := clientFor(t, f)
	vpcID, vsws := s.network(t, f)
	created := must(s.createCluster(acsBody(vpcID, vsws, "172.21.0.0/20")))

	kc := must(s.kubeconfig(created.ClusterId))
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kc.Config))
	if err != nil {
		t.Fatalf("the kubeconfig does not load: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sandbox-system"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace through the ACS kubeconfig: %v", err)
	}
	admin, err := cluster.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	got, err := admin.CoreV1().Namespaces().Get(ctx, "sandbox-system", metav1.GetOptions{})
	if err != nil || got.UID == "" {
		t.Fatalf("the namespace is not in the API server: %v", err)
	}
}
