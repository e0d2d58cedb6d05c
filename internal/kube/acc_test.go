package kube_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/sdkcheck"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/testca"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kubenode.RemoveBinaries()
	os.Exit(code)
}

// accCluster is a real API server with kube-controller-manager, the load-balancer stand-in and a
// test node that runs manager pods (the built sandbox-manager for any image .../sandbox-manager:<tag>)
// and sandbox pods. It starts empty: the resource applies the namespaces, the CRD and the RBAC.
type accCluster struct {
	*kubeharness.Cluster
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	node       *kubenode.Agent
	kubeconfig string // the admin kubeconfig's text
}

func startCluster(t *testing.T) *accCluster {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make test does)")
	}
	c := kubeharness.Start(t, kubeharness.Options{NoManifests: true, ControllerManager: true, LoadBalancer: true})
	kube, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	kc, err := os.ReadFile(c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	node := kubenode.StartTest(t, c.RESTConfig(), kubenode.Config{Programs: kubenode.ManagerPrograms(t)})
	return &accCluster{Cluster: c, kube: kube, dyn: dyn, node: node, kubeconfig: string(kc)}
}

// tokenConnection is the host, cluster_ca_certificate and token of a cluster-admin service account,
// for the connection without a kubeconfig.
func (c *accCluster) tokenConnection(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	const ns, name = "kube-system", "terraform-admin"
	if _, err := c.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := c.kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.RESTConfig()
	return fmt.Sprintf("  host                   = %q\n  cluster_ca_certificate = %s  token                  = %q\n",
		cfg.Host, heredoc(string(cfg.CAData)), tok.Status.Token)
}

// heredoc is s as a Terraform heredoc.
func heredoc(s string) string {
	return "<<-EOT\n" + strings.TrimRight(s, "\n") + "\nEOT\n"
}

var (
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	sandboxPoolGVR = schema.GroupVersionResource{Group: "sandbox.sandboxstack.io", Version: "v1alpha1", Resource: "sandboxpools"}
)

const crdName = "sandboxpools.sandbox.sandboxstack.io"

// checkNothingLeft is a CheckDestroy: the namespaces, the CRD and the cluster-wide RBAC are gone.
func (c *accCluster) checkNothingLeft(namespaces ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, ns := range namespaces {
			if _, err := c.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("namespace %s still exists (err %v)", ns, err)
			}
		}
		if _, err := c.dyn.Resource(crdGVR).Get(ctx, crdName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("CRD %s still exists (err %v)", crdName, err)
		}
		crs, err := c.kube.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=sandboxstack"})
		if err != nil {
			return err
		}
		crbs, err := c.kube.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=sandboxstack"})
		if err != nil {
			return err
		}
		if len(crs.Items)+len(crbs.Items) > 0 {
			return fmt.Errorf("%d ClusterRoles and %d ClusterRoleBindings of sandboxstack left", len(crs.Items), len(crbs.Items))
		}
		pods, err := c.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, ns := range namespaces {
				if p.Namespace == ns {
					return fmt.Errorf("pod %s/%s left", p.Namespace, p.Name)
				}
			}
		}
		return nil
	}
}

// object names one object for the dynamic client.
type object struct {
	gvr             schema.GroupVersionResource
	namespace, name string
}

// deleteObjects deletes objs and waits until they are gone (a CRD goes after its custom resources).
func (c *accCluster) deleteObjects(t *testing.T, objs ...object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, o := range objs {
		if err := c.dyn.Resource(o.gvr).Namespace(o.namespace).Delete(ctx, o.name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete %s %s/%s: %v", o.gvr.Resource, o.namespace, o.name, err)
		}
	}
	for _, o := range objs {
		err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := c.dyn.Resource(o.gvr).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("%s %s/%s is not gone: %v", o.gvr.Resource, o.namespace, o.name, err)
		}
	}
}

// checkExist checks that the cluster has every one of objs.
func (c *accCluster) checkExist(objs ...object) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, o := range objs {
			if _, err := c.dyn.Resource(o.gvr).Namespace(o.namespace).Get(context.Background(), o.name, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("%s %s/%s: %w", o.gvr.Resource, o.namespace, o.name, err)
			}
		}
		return nil
	}
}

// checkRolledOut checks that the manager Deployment has replicas available pods, all of image.
func (c *accCluster) checkRolledOut(ns string, replicas int32, image string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		d, err := c.kube.AppsV1().Deployments(ns).Get(ctx, "sandbox-manager", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != replicas || d.Status.UpdatedReplicas != replicas || *d.Spec.Replicas != replicas {
			return fmt.Errorf("Deployment status %+v, want %d available and updated", d.Status, replicas)
		}
		pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=sandbox-manager"})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Status.Phase != corev1.PodRunning || p.Spec.Containers[0].Image != image {
				return fmt.Errorf("pod %s: phase %s image %s, want Running %s", p.Name, p.Status.Phase, p.Spec.Containers[0].Image, image)
			}
			running++
		}
		if running != int(replicas) {
			return fmt.Errorf("%d manager pods run, want %d", running, replicas)
		}
		return nil
	}
}

// checkPoolFilled waits until the SandboxPool has size ready sandboxes (the manager fills it).
func (c *accCluster) checkPoolFilled(ns, name string, size int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var last map[string]any
		err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			p, err := c.dyn.Resource(sandboxPoolGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			last, _ = p.Object["status"].(map[string]any)
			ready, _ := last["ready"].(int64)
			return ready >= size, nil
		})
		if err != nil {
			return fmt.Errorf("SandboxPool %s/%s did not fill to %d: %v (status %v)", ns, name, size, err, last)
		}
		return nil
	}
}

// httpsHealth GETs https://api.<domain>/health through the load balancer at ip, trusting ca.
func httpsHealth(ca *testca.CA, domain, ip string) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "api." + domain},
	}}
	resp, err := client.Get("https://" + ip + ":443/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health: %s %s", resp.Status, body)
	}
	return nil
}

// stepTimer logs how long each step took (from its PreConfig to its Check), for the rollout figures.
type stepTimer struct {
	t     *testing.T
	start time.Time
}

func (s *stepTimer) begin() { s.start = time.Now() }

func (s *stepTimer) done(what string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		s.t.Logf("TIMING %s: %s", what, time.Since(s.start).Round(10*time.Millisecond))
		return nil
	}
}

// checkNoKeyInPodSpec checks that neither the admin key nor the TLS key is a value in the
// Deployment's pod spec (they come from Secret volumes).
func (c *accCluster) checkNoKeyInPodSpec(ns string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		key := s.RootModule().Resources[resourceName].Primary.Attributes["admin_key"]
		d, err := c.kube.AppsV1().Deployments(ns).Get(context.Background(), "sandbox-manager", metav1.GetOptions{})
		if err != nil {
			return err
		}
		spec, err := json.Marshal(d.Spec.Template)
		if err != nil {
			return err
		}
		if key == "" || strings.Contains(string(spec), key) || strings.Contains(string(spec), "PRIVATE KEY") {
			return fmt.Errorf("the pod template holds a key (admin key %d chars)", len(key))
		}
		return nil
	}
}

// sdkUser is a client of the deployment: the unchanged E2B SDK with E2B_DOMAIN and an API key, its
// names resolved to the load balancer's address, the test CA trusted.
type sdkUser struct {
	t         *testing.T
	ca        *testca.CA
	apiKey    string
	lbIP      string
	sandboxID string // a code-interpreter sandbox kept running
}

// load takes the load balancer's address and the API key from the state, and checks the outputs.
func (u *sdkUser) load(s *terraform.State) error {
	attrs := s.RootModule().Resources[resourceName].Primary.Attributes
	u.lbIP = attrs["load_balancer_ip"]
	if u.lbIP == "" || attrs["load_balancer_address"] != u.lbIP || attrs["manager_address"] != u.lbIP+":443" {
		return fmt.Errorf("load balancer outputs: ip %q address %q manager_address %q", u.lbIP, attrs["load_balancer_address"], attrs["manager_address"])
	}
	u.apiKey = s.RootModule().Resources["sandbox_api_key.sdk"].Primary.Attributes["key"]
	return httpsHealth(u.ca, testDomain, u.lbIP)
}

func (u *sdkUser) run(opts sdkcheck.Options) (sdkcheck.Result, error) {
	opts.Domain, opts.APIKey, opts.CAFile, opts.ResolveTo = testDomain, u.apiKey, u.ca.CertFile, u.lbIP
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	started := time.Now()
	res, err := sdkcheck.Run(ctx, opts)
	u.t.Logf("TIMING sdkcheck %v: %s", opts.Checks, time.Since(started).Round(10*time.Millisecond))
	return res, err
}

// codeInterpreter creates a code-interpreter sandbox, runs the product guide's demo in it, writes and
// reads a file, and keeps the sandbox for later.
func (u *sdkUser) codeInterpreter(*terraform.State) error {
	res, err := u.run(sdkcheck.Options{Checks: []string{sdkcheck.CodeInterpreter}, Keep: true})
	if err != nil {
		return err
	}
	if !sdkcheck.OutputsMatch(res.DemoOutputs, sdkcheck.WantDemoOutputs()) || res.FileContent != sdkcheck.WantFileContent {
		return fmt.Errorf("code interpreter: outputs %q, file %q", res.DemoOutputs, res.FileContent)
	}
	u.sandboxID = res.SandboxID
	return nil
}

// checkKillOnePod deletes one manager pod, then uses the SDK at once: it reconnects to the sandbox
// made before and runs code in it, and creates a new sandbox; meanwhile and until the Deployment has
// replaced the pod, every call through the load balancer succeeds (after at most one retry, for a
// connection the dying pod cuts).
func (c *accCluster) checkKillOnePod(ns string, u *sdkUser) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managerLabels})
		if err != nil {
			return err
		}
		if len(pods.Items) == 0 {
			return fmt.Errorf("no manager pods")
		}
		victim := pods.Items[0]
		if err := c.kube.CoreV1().Pods(ns).Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		sdkDone := make(chan error, 1)
		go func() {
			res, err := u.run(sdkcheck.Options{Checks: []string{sdkcheck.Reconnect, sdkcheck.CodeInterpreter}, SandboxID: u.sandboxID})
			if err == nil && res.FileContent != sdkcheck.WantFileContent {
				err = fmt.Errorf("after killing pod %s: file %q", victim.Name, res.FileContent)
			}
			sdkDone <- err
		}()
		deadline := time.Now().Add(3 * time.Minute)
		for i := 0; ; i++ {
			if err := httpsHealth(u.ca, testDomain, u.lbIP); err != nil {
				if err := httpsHealth(u.ca, testDomain, u.lbIP); err != nil {
					return fmt.Errorf("call %d after killing pod %s: %v", i, victim.Name, err)
				}
			}
			d, err := c.kube.AppsV1().Deployments(ns).Get(ctx, "sandbox-manager", metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = c.kube.CoreV1().Pods(ns).Get(ctx, victim.Name, metav1.GetOptions{})
			if i >= 10 && d.Status.AvailableReplicas == *d.Spec.Replicas && apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("pod %s was not replaced (status %+v)", victim.Name, d.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
		return <-sdkDone
	}
}
