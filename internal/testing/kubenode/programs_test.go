package kubenode

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

const (
	managerNamespace = "sandbox-system"
	managerImage     = "ghcr.io/sandboxstack/sandbox-manager:test"
	managerDomain    = "sandbox.test"
)

// managerEnv is a cluster with kube-controller-manager, the load balancer, the repository's
// namespaces, CRDs and RBAC, and a test node that runs the manager image.
type managerEnv struct {
	cluster *kubeharness.Cluster
	client  kubernetes.Interface
	agent   *Agent
	caPool  *x509.CertPool
}

func startManagerEnv(t *testing.T) *managerEnv {
	t.Helper()
	root := repoRoot(t)
	c := kubeharness.Start(t, kubeharness.Options{
		ControllerManager: true,
		LoadBalancer:      true,
		Manifests: []string{filepath.Join(root, "deploy/namespaces.yaml"), filepath.Join(root, "deploy/crds"),
			filepath.Join(root, "deploy/rbac")},
	})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	a := StartTest(t, c.RESTConfig(), Config{Programs: ManagerPrograms(t)})
	e := &managerEnv{cluster: c, client: cs, agent: a}
	e.caPool = e.createTLSSecret(t)
	return e
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// createTLSSecret stores a certificate for *.sandbox.test as the kubernetes.io/tls Secret
// sandbox-manager-tls and returns a pool that trusts it.
func (e *managerEnv) createTLSSecret(t *testing.T) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "*." + managerDomain},
		DNSNames:  []string{"*." + managerDomain, managerDomain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
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
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	_, err = e.client.CoreV1().Secrets(managerNamespace).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sandbox-manager-tls"},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM,
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create TLS secret: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

// managerDeployment is the manager as a cluster runs it: the kube runtime through its in-cluster
// service account, plain HTTP on the pod IP's port 3000 and HTTPS on 3443 with the certificate from a
// Secret volume, probed on /health.
func managerDeployment(name, image string, replicas int32, args ...string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	if args == nil {
		args = []string{"serve", "--runtime=kube", "--kube-namespace=sandboxes", "--domain=" + managerDomain}
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}},
		PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 3} // generous: the machine may be busy
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: managerNamespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            "sandbox-manager",
					TerminationGracePeriodSeconds: ptr(int64(5)),
					Containers: []corev1.Container{{
						Name:  "manager",
						Image: image,
						Args:  args,
						Env: []corev1.EnvVar{
							{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
							{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
							{Name: "SANDBOX_LISTEN", Value: "$(POD_IP):3000"},
							{Name: "SANDBOX_TLS_LISTEN", Value: "$(POD_IP):3443"},
							{Name: "SANDBOX_TLS_CERT", Value: "/etc/sandbox-manager/tls/tls.crt"},
							{Name: "SANDBOX_TLS_KEY", Value: "/etc/sandbox-manager/tls/tls.key"},
							{Name: "SANDBOX_REPLICA_ID", Value: "$(POD_NAME)"},
						},
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 3000}, {Name: "https", ContainerPort: 3443}},
						VolumeMounts:   []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/sandbox-manager/tls", ReadOnly: true}},
						ReadinessProbe: probe,
						LivenessProbe:  probe,
					}},
					Volumes: []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{
						Secret: &corev1.SecretVolumeSource{SecretName: "sandbox-manager-tls"}}}},
				},
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// waitRollout waits until the Deployment's newest ReplicaSet has every replica updated and available,
// as `kubectl rollout status` does.
func (e *managerEnv) waitRollout(t *testing.T, name string, replicas int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var last appsv1.DeploymentStatus
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, err := e.client.AppsV1().Deployments(managerNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = d.Status
		available := false
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				available = true
			}
		}
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == replicas &&
			d.Status.Replicas == replicas && d.Status.AvailableReplicas == replicas && d.Status.ReadyReplicas == replicas &&
			available, nil
	})
	if err != nil {
		e.dumpPods(t)
		t.Fatalf("Deployment %s did not roll out %d replicas: %v; last status %+v", name, replicas, err, last)
	}
}

func (e *managerEnv) pods(t *testing.T, app string) []corev1.Pod {
	t.Helper()
	list, err := e.client.CoreV1().Pods(managerNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func (e *managerEnv) dumpPods(t *testing.T) {
	list, err := e.client.CoreV1().Pods(managerNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range list.Items {
		t.Logf("pod %s: phase %s ip %s deleting %v conditions %+v containers %+v\nlog:\n%s", p.Name, p.Status.Phase, p.Status.PodIP,
			p.DeletionTimestamp != nil, p.Status.Conditions, p.Status.ContainerStatuses, e.agent.ProgramLog(p.Namespace, p.Name))
	}
}

// lbService exposes the manager's ports 80 and 443 through a LoadBalancer Service and returns its
// ingress IP once the load balancer has given it one.
func (e *managerEnv) lbService(t *testing.T, app string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := e.client.CoreV1().Services(managerNamespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "https", Port: 443, TargetPort: intstr.FromString("https")},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Service: %v", err)
	}
	var ip string
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		svc, err := e.client.CoreV1().Services(managerNamespace).Get(ctx, app, metav1.GetOptions{})
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
		t.Fatalf("Service %s got no load balancer ingress: %v", app, err)
	}
	if parsed := net.ParseIP(ip); parsed == nil || !parsed.IsLoopback() || ip == "127.0.0.1" {
		t.Fatalf("ingress IP %q: want a loopback address of its own", ip)
	}
	return ip
}

// health GETs /health through the load balancer over HTTPS (port 443, the wildcard certificate from
// the Secret volume, verified) and plain HTTP (port 80).
func (e *managerEnv) health(lbIP string) error {
	httpsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: e.caPool, ServerName: "api." + managerDomain},
	}}
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, c := range []struct {
		client *http.Client
		url    string
	}{{httpsClient, "https://" + lbIP + ":443/health"}, {plain, "http://" + lbIP + ":80/health"}} {
		resp, err := c.client.Get(c.url)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s %s", c.url, resp.Status, body)
		}
	}
	return nil
}

func TestManagerDeploymentRunsBehindALoadBalancer(t *testing.T) {
	e := startManagerEnv(t)
	ctx := context.Background()
	deployments := e.client.AppsV1().Deployments(managerNamespace)
	if _, err := deployments.Create(ctx, managerDeployment("sandbox-manager", managerImage, 2), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	lbIP := e.lbService(t, "sandbox-manager")
	e.waitRollout(t, "sandbox-manager", 2)

	// The pods came from the ReplicaSet kube-controller-manager made, got a service account token
	// volume from the admission plugin, and run at pod IPs of their own.
	pods := e.pods(t, "sandbox-manager")
	ips := map[string]bool{}
	for _, p := range pods {
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "ReplicaSet" {
			t.Errorf("pod %s owners %+v, want its ReplicaSet", p.Name, p.OwnerReferences)
		}
		hasToken := false
		for _, v := range p.Spec.Volumes {
			if v.Projected != nil && strings.HasPrefix(v.Name, "kube-api-access-") {
				hasToken = true
			}
		}
		if !hasToken {
			t.Errorf("pod %s has no kube-api-access volume", p.Name)
		}
		ips[p.Status.PodIP] = true
	}
	if len(ips) != 2 {
		t.Errorf("pod IPs %v, want 2 distinct", ips)
	}

	// The manager answers through the load balancer, over HTTPS with the certificate it read from the
	// Secret volume, and over HTTP.
	if err := e.health(lbIP); err != nil {
		e.dumpPods(t)
		t.Fatalf("health through the load balancer: %v", err)
	}

	// A PodDisruptionBudget of minAvailable 1 allows one disruption once the disruption controller has
	// seen both pods healthy.
	_, err := e.client.PolicyV1().PodDisruptionBudgets(managerNamespace).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "sandbox-manager"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sandbox-manager"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create PodDisruptionBudget: %v", err)
	}
	pdbCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var pdb *policyv1.PodDisruptionBudget
	if err := wait.PollUntilContextCancel(pdbCtx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pdb, err = e.client.PolicyV1().PodDisruptionBudgets(managerNamespace).Get(ctx, "sandbox-manager", metav1.GetOptions{})
		return err == nil && pdb.Status.CurrentHealthy == 2 && pdb.Status.DisruptionsAllowed == 1, err
	}); err != nil {
		t.Fatalf("PodDisruptionBudget status: %v (last %+v)", err, pdb.Status)
	}

	// An evicted pod (a node drain's way, checked against the budget) is replaced by the ReplicaSet,
	// and traffic keeps flowing meanwhile: every request succeeds (a client retries once, as a
	// connection cut by the dying pod may need).
	victim := pods[0]
	if err := e.client.PolicyV1().Evictions(managerNamespace).Evict(ctx, &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: victim.Name, Namespace: managerNamespace},
	}); err != nil {
		t.Fatalf("evict pod: %v", err)
	}
	replaced := false
	for i := 0; !replaced || i < 20; i++ {
		if err := e.health(lbIP); err != nil {
			if err := e.health(lbIP); err != nil {
				e.dumpPods(t)
				t.Fatalf("request %d while pod %s is replaced: %v", i, victim.Name, err)
			}
		}
		if !replaced {
			d, err := deployments.Get(ctx, "sandbox-manager", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			replaced = d.Status.AvailableReplicas == 2 && !podExists(e.pods(t, "sandbox-manager"), victim.UID) &&
				len(e.pods(t, "sandbox-manager")) == 2
		}
		if i > 2000 {
			e.dumpPods(t)
			t.Fatal("pod was not replaced")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.waitRollout(t, "sandbox-manager", 2)

	// Scaling 2 → 3 rolls out a third pod, which the load balancer sends traffic to as well.
	d, err := deployments.Get(ctx, "sandbox-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Replicas = ptr(int32(3))
	if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scale to 3: %v", err)
	}
	e.waitRollout(t, "sandbox-manager", 3)
	if got := len(e.cluster.LoadBalancer().Backends(managerNamespace, "sandbox-manager", 443)); got != 3 {
		t.Errorf("load balancer has %d backends on port 443, want 3", got)
	}
	if err := e.health(lbIP); err != nil {
		t.Fatalf("health after scaling: %v", err)
	}
}

func podExists(pods []corev1.Pod, uid types.UID) bool {
	for _, p := range pods {
		if p.UID == uid {
			return true
		}
	}
	return false
}

func TestProgramPodsReportWhyTheyDoNotRun(t *testing.T) {
	e := startManagerEnv(t)
	ctx := context.Background()
	deployments := e.client.AppsV1().Deployments(managerNamespace)
	// An image the node does not have: ErrImagePull on the pod, and the Deployment is not available.
	if _, err := deployments.Create(ctx, managerDeployment("missing", "ghcr.io/sandboxstack/no-such-image:1", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The manager's binary with arguments it rejects: it exits, and the pod goes into CrashLoopBackOff.
	if _, err := deployments.Create(ctx, managerDeployment("crashing", managerImage, 1, "no-such-subcommand"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReason := func(app string, want ...string) corev1.ContainerStatus {
		t.Helper()
		var last corev1.ContainerStatus
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		err := wait.PollUntilContextCancel(pctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
			for _, p := range e.pods(t, app) {
				for _, cs := range p.Status.ContainerStatuses {
					last = cs
					if cs.State.Waiting != nil {
						for _, w := range want {
							if cs.State.Waiting.Reason == w {
								return true, nil
							}
						}
					}
				}
			}
			return false, nil
		})
		if err != nil {
			e.dumpPods(t)
			t.Fatalf("%s: no container waiting with %v: %v; last %+v", app, want, err, last)
		}
		return last
	}
	missing := waitReason("missing", "ErrImagePull", "ImagePullBackOff")
	if !strings.Contains(missing.State.Waiting.Message, "no-such-image") {
		t.Errorf("ErrImagePull message %q does not name the image", missing.State.Waiting.Message)
	}
	crashing := waitReason("crashing", "CrashLoopBackOff")
	if crashing.RestartCount < 1 || crashing.LastTerminationState.Terminated == nil ||
		crashing.LastTerminationState.Terminated.ExitCode == 0 {
		t.Errorf("CrashLoopBackOff container: restarts %d, last termination %+v; want a failed run",
			crashing.RestartCount, crashing.LastTerminationState.Terminated)
	}
	for _, name := range []string{"missing", "crashing"} {
		d, err := deployments.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.AvailableReplicas != 0 {
			t.Errorf("Deployment %s has %d available replicas, want 0", name, d.Status.AvailableReplicas)
		}
	}
}

func TestProgramPodSeesAKubeletsEnvironment(t *testing.T) {
	c := kubeharness.Start(t, kubeharness.Options{NoManifests: true, ControllerManager: true})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	// /bin/sh stands for an image "example.com/shell": the container's args are its script.
	StartTest(t, c.RESTConfig(), Config{Programs: map[string]string{"shell": "/bin/sh"}})
	ctx := context.Background()
	const ns = "program-env"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"greeting": "hello"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data: map[string][]byte{"password": []byte("s3cret"), "other": []byte("x")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The ServiceAccount admission plugin needs the namespace's default ServiceAccount.
	poll := func(what string, cond func(ctx context.Context) (bool, error)) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := wait.PollUntilContextCancel(pctx, 100*time.Millisecond, true, cond); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll("default ServiceAccount", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	script := strings.Join([]string{
		"sa=/var/run/secrets/kubernetes.io/serviceaccount",
		`echo "namespace=$(cat $sa/namespace)"`,
		`echo "token=$(cat $sa/token)"`,
		`echo "ca=$(head -n1 $sa/ca.crt)"`,
		`echo "greeting=$(cat /etc/app/config/greeting)"`,
		`echo "password=$(cat /etc/app/secret/pw)"`,
		`test -e /etc/app/secret/other || echo "only-items"`,
		`echo "podname=$(cat /etc/podinfo/name)"`,
		`echo "api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"`,
		`echo "hostname=$(cat /proc/sys/kernel/hostname)"`,
		`echo "var=$MY_VAR"`,
		`touch /etc/app/secret/new 2>/dev/null || echo "secret-read-only"`,
		`touch /scratch/new && echo "emptydir-writable"`,
		`echo "pid=$$$$"`, // $$ is the kubelet's escape for $: the shell sees $$
	}, "; ")
	_, err = cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "env-probe"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "main", Image: "example.com/shell:1", Args: []string{"-c", script},
				Env: []corev1.EnvVar{{Name: "MY_VAR", Value: "from-spec"}},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "config", MountPath: "/etc/app/config"},
					{Name: "secret", MountPath: "/etc/app/secret"},
					{Name: "podinfo", MountPath: "/etc/podinfo"},
					{Name: "scratch", MountPath: "/scratch"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
				{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: "sec", Items: []corev1.KeyToPath{{Key: "password", Path: "pw"}}}}},
				{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
					Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	poll("pod Succeeded", func(ctx context.Context) (bool, error) {
		pod, err = cs.CoreV1().Pods(ns).Get(ctx, "env-probe", metav1.GetOptions{})
		return err == nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed), err
	})
	if pod.Status.Phase != corev1.PodSucceeded || len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod phase %s, containers %+v; want Succeeded with the container terminated", pod.Status.Phase, pod.Status.ContainerStatuses)
	}
	term := pod.Status.ContainerStatuses[0].State.Terminated
	if term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("terminated %+v, want exit 0 Completed", term)
	}
	out := map[string]string{}
	for _, line := range strings.Split(term.Message, "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	apiURL := c.URL()
	for k, want := range map[string]string{
		"namespace": ns, "ca": "-----BEGIN CERTIFICATE-----", "greeting": "hello", "password": "s3cret",
		"only-items": "", "podname": "env-probe", "api": strings.TrimPrefix(apiURL, "https://"),
		"hostname": "env-probe", "var": "from-spec", "secret-read-only": "", "emptydir-writable": "", "pid": "2",
	} {
		if got, ok := out[k]; !ok || got != want {
			t.Errorf("%s = %q (present %v), want %q; output:\n%s", k, got, ok, want, term.Message)
		}
	}
	// A container whose liveness probe fails is killed and restarted; its readiness probe keeps it
	// unready meanwhile.
	nothing := corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1)}}
	_, err = cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "unhealthy"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: "example.com/shell:1", Args: []string{"-c", "sleep 1000"},
			LivenessProbe:  &corev1.Probe{ProbeHandler: nothing, PeriodSeconds: 1, FailureThreshold: 2},
			ReadinessProbe: &corev1.Probe{ProbeHandler: nothing, PeriodSeconds: 1},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var unhealthy corev1.ContainerStatus
	poll("liveness restart", func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "unhealthy", metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) != 1 {
			return false, err
		}
		unhealthy = p.Status.ContainerStatuses[0]
		return unhealthy.RestartCount >= 1 && unhealthy.LastTerminationState.Terminated != nil, nil
	})
	if last := unhealthy.LastTerminationState.Terminated; !strings.Contains(last.Message, "liveness") || last.ExitCode != 128+9 {
		t.Errorf("last termination %+v, want killed (137) for the liveness probe", last)
	}
	if unhealthy.Ready {
		t.Error("a container whose readiness probe fails is Ready")
	}

	// The token is a real one for the pod's service account, bound to the pod.
	review, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: out["token"]}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:"+ns+":default" {
		t.Errorf("token review: %+v, want the pod's default service account", review.Status)
	}
}
