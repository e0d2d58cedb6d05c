package deploy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
)

const clusterDomain = "sandbox.test"

// selfSigned is a certificate for *.<domain> and <domain>, its key, and a pool that trusts it.
func selfSigned(t *testing.T, domain string) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "*." + domain},
		DNSNames:  []string{"*." + domain, domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), pool
}

type cluster struct {
	cluster *kubeharness.Cluster
	client  kubernetes.Interface
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	node    *kubenode.Agent
}

// apply server-side-applies objs in their order as the provider does (field manager
// deploy.FieldManager, forced), waiting for a CRD to be Established before what follows it.
func (c *cluster) apply(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			c.mapper.Reset() // a kind of a CRD applied just before
			if mapping, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				t.Fatalf("%s: %v", gvk, err)
			}
		}
		var r dynamic.ResourceInterface = c.dynamic.Resource(mapping.Resource)
		if ns := o.GetNamespace(); ns != "" {
			r = c.dynamic.Resource(mapping.Resource).Namespace(ns)
		}
		if _, err := r.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: deploy.FieldManager, Force: true}); err != nil {
			t.Fatalf("apply %s %s/%s: %v", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
		if gvk.Kind == "CustomResourceDefinition" {
			c.waitEstablished(ctx, t, o.GetName())
		}
	}
}

func (c *cluster) waitEstablished(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	crds := c.dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, cond := range conditions {
			if m, _ := cond.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not Established: %v", name, err)
	}
	c.mapper.Reset()
}

// waitRollout waits until the Deployment's newest ReplicaSet has every replica updated, ready and
// available, as `kubectl rollout status` does.
func (c *cluster) waitRollout(t *testing.T, namespace string, replicas int32) *appsv1.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var d *appsv1.Deployment
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		if d, err = c.client.AppsV1().Deployments(namespace).Get(ctx, deploy.ManagerName, metav1.GetOptions{}); err != nil {
			return false, err
		}
		s := d.Status
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == replicas && s.Replicas == replicas &&
			s.ReadyReplicas == replicas && s.AvailableReplicas == replicas, nil
	})
	if err != nil {
		c.dumpPods(t, namespace)
		t.Fatalf("Deployment did not roll out %d replicas: %v; last status %+v", replicas, err, d.Status)
	}
	return d
}

func (c *cluster) dumpPods(t *testing.T, namespace string) {
	list, err := c.client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range list.Items {
		t.Logf("pod %s: phase %s ip %s conditions %+v containers %+v\nlog:\n%s", p.Name, p.Status.Phase, p.Status.PodIP,
			p.Status.Conditions, p.Status.ContainerStatuses, c.node.ProgramLog(p.Namespace, p.Name))
	}
}

func (c *cluster) loadBalancerIP(t *testing.T, namespace string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ip string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		svc, err := c.client.CoreV1().Services(namespace).Get(ctx, deploy.ManagerName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if in := svc.Status.LoadBalancer.Ingress; len(in) == 1 && in[0].IP != "" {
			ip = in[0].IP
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("Service %s got no load balancer ingress: %v", deploy.ManagerName, err)
	}
	return ip
}

// get GETs path on https://<lbIP>:443 as a client of api.<domain> that trusts only roots, with the
// headers given.
func get(lbIP string, roots *x509.CertPool, path string, header map[string]string) (int, string, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "api." + clusterDomain},
	}}
	req, err := http.NewRequest(http.MethodGet, "https://"+lbIP+":443"+path, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body), err
}

// TestObjectsRunTheManager applies Objects of a TLS Config to a real API server with
// kube-controller-manager, a load balancer and a test node that runs the manager image as the
// manager binary: the Deployment rolls out, the manager answers through the load balancer over HTTPS
// with the configured certificate and takes the admin key it read from its Secret volume; a new
// certificate rolls the pods.
func TestObjectsRunTheManager(t *testing.T) {
	kc := kubeharness.Start(t, kubeharness.Options{ControllerManager: true, LoadBalancer: true, NoManifests: true})
	client, err := kc.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(kc.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(kc.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{cluster: kc, client: client, dynamic: dyn,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
	c.node = kubenode.StartTest(t, kc.RESTConfig(), kubenode.Config{Programs: kubenode.ManagerPrograms(t)})

	adminKey := make([]byte, 32)
	if _, err := rand.Read(adminKey); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, roots := selfSigned(t, clusterDomain)
	cfg := deploy.Config{
		Namespace: "manager", SandboxNamespace: "boxes",
		Image:  "ghcr.io/sandboxstack/sandbox-manager:test",
		Domain: clusterDomain, TLSCertificatePEM: certPEM, TLSPrivateKeyPEM: keyPEM,
		AdminKey: hex.EncodeToString(adminKey),
		// An empty pool: the SandboxPool is applied after its CRD, and the manager sees it.
		Pools: []deploy.Pool{{Name: "warm-base", Template: "base", Size: 0}},
	}
	objs, err := deploy.Objects(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.apply(t, objs)
	d := c.waitRollout(t, cfg.Namespace, 2)
	lbIP := c.loadBalancerIP(t, cfg.Namespace)
	t.Logf("applied %d objects and rolled out 2 replicas in %v", len(objs), time.Since(start).Round(time.Millisecond))

	status, body, err := get(lbIP, roots, "/health", nil)
	if err != nil || status != http.StatusOK {
		c.dumpPods(t, cfg.Namespace)
		t.Fatalf("GET /health over HTTPS through the load balancer: %d %s %v", status, body, err)
	}

	// The admin API takes the key the manager read from the Secret's file, and only that.
	secret, err := client.CoreV1().Secrets(cfg.Namespace).Get(context.Background(), deploy.AdminKeySecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := string(secret.Data[deploy.AdminKeySecretKey])
	if stored != cfg.AdminKey {
		t.Fatal("the admin key Secret does not hold the configured key")
	}
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"no key", nil},
		{"another key", map[string]string{"X-Admin-Key": hex.EncodeToString(adminKey[1:]) + "00"}},
	} {
		if status, body, err := get(lbIP, roots, "/admin/pools", tc.header); err != nil || status != http.StatusUnauthorized {
			t.Errorf("GET /admin/pools with %s: %d %s %v, want 401", tc.name, status, body, err)
		}
	}
	status, body, err = get(lbIP, roots, "/admin/pools", map[string]string{"X-Admin-Key": stored})
	if err != nil || status != http.StatusOK {
		c.dumpPods(t, cfg.Namespace)
		t.Fatalf("GET /admin/pools with the Secret's key: %d %s %v", status, body, err)
	}
	var pools []struct{ Name, Template string }
	if err := json.Unmarshal([]byte(body), &pools); err != nil {
		t.Fatalf("GET /admin/pools: %v in %s", err, body)
	}
	if len(pools) != 1 || pools[0].Name != "warm-base" || pools[0].Template != "base" {
		t.Errorf("pools %s, want the applied warm-base of base", body)
	}

	// Applying the same objects again changes nothing.
	c.apply(t, objs)
	again, err := client.AppsV1().Deployments(cfg.Namespace).Get(context.Background(), deploy.ManagerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Generation != d.Generation {
		t.Errorf("re-applying the same objects moved the Deployment from generation %d to %d", d.Generation, again.Generation)
	}

	// A renewed certificate changes the config hash, so the pods roll and serve the new one.
	cfg.TLSCertificatePEM, cfg.TLSPrivateKeyPEM, roots = selfSigned(t, clusterDomain)
	if objs, err = deploy.Objects(cfg); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	c.apply(t, objs)
	rolled := c.waitRollout(t, cfg.Namespace, 2)
	if rolled.Generation == d.Generation {
		t.Fatal("a new certificate did not change the Deployment")
	}
	old := d.Spec.Template.Annotations[deploy.ConfigHashAnnotation]
	if rolled.Spec.Template.Annotations[deploy.ConfigHashAnnotation] == old {
		t.Error("a new certificate did not change the config hash")
	}
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		status, _, err := get(lbIP, roots, "/health", nil)
		return err == nil && status == http.StatusOK, nil
	})
	if err != nil {
		c.dumpPods(t, cfg.Namespace)
		t.Fatalf("the manager does not serve the new certificate: %v", err)
	}
	t.Logf("rolled out the new certificate in %v", time.Since(start).Round(time.Millisecond))

	// Every pod of the Deployment is one of the new ReplicaSet's.
	pods, err := client.CoreV1().Pods(cfg.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + deploy.ManagerName})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Annotations[deploy.ConfigHashAnnotation] == old {
			t.Errorf("pod %s still has the old config hash", p.Name)
		}
	}
	if _, err := client.CoreV1().Namespaces().Get(context.Background(), "sandbox-system", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace sandbox-system: %v, want not found (the Config names its own)", err)
	}
}
