package kubeharness

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestControllerManagerRunsTheControllers(t *testing.T) {
	c := Start(t, Options{NoManifests: true, ControllerManager: true})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A new namespace gets its "default" ServiceAccount and the cluster CA ConfigMap.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cm-test"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "default ServiceAccount and kube-root-ca.crt", func(ctx context.Context) (bool, error) {
		_, saErr := cs.CoreV1().ServiceAccounts("cm-test").Get(ctx, "default", metav1.GetOptions{})
		cm, cmErr := cs.CoreV1().ConfigMaps("cm-test").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return saErr == nil && cmErr == nil && cm.Data["ca.crt"] == string(c.pki.caPEM), nil
	})

	// A Deployment becomes a ReplicaSet and pods; the ServiceAccount admission plugin gives them the
	// token volume. (No node runs them here: they stay Pending.)
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	_, err = cs.AppsV1().Deployments("cm-test").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example/web:1"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pods []corev1.Pod
	poll(t, "the Deployment's pods", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods("cm-test").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		pods = list.Items
		return len(pods) == 2, nil
	})
	for _, p := range pods {
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "ReplicaSet" {
			t.Errorf("pod %s owners %+v, want a ReplicaSet", p.Name, p.OwnerReferences)
		}
		if !hasVolumePrefix(p, "kube-api-access-") {
			t.Errorf("pod %s has no kube-api-access volume", p.Name)
		}
	}

	// Deleting the Deployment deletes its ReplicaSet and pods: the garbage collector runs.
	if err := cs.AppsV1().Deployments("cm-test").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "garbage collection of the ReplicaSet and pods", func(ctx context.Context) (bool, error) {
		rs, err := cs.AppsV1().ReplicaSets("cm-test").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		// The pods have a deletion timestamp now; without a node nobody finalizes them.
		list, err := cs.CoreV1().Pods("cm-test").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				return false, nil
			}
		}
		return len(rs.Items) == 0, nil
	})
	if c.cm == nil || !c.cm.proc.running() {
		t.Fatal("kube-controller-manager is not running")
	}
	c.Stop()
	if c.cm.proc.running() {
		t.Error("kube-controller-manager still runs after Stop")
	}
}

func hasVolumePrefix(p corev1.Pod, prefix string) bool {
	for _, v := range p.Spec.Volumes {
		if strings.HasPrefix(v.Name, prefix) {
			return true
		}
	}
	return false
}

func TestMissingControllerManagerNamesTheMakeTarget(t *testing.T) {
	t.Setenv("KUBE_CONTROLLER_MANAGER_BIN", "")
	t.Setenv("SANDBOX_KUBE_CACHE", t.TempDir())
	_, err := findControllerManager("")
	if err == nil || !strings.Contains(err.Error(), "make kube-apiserver") {
		t.Fatalf("missing binary: %v, want an error naming `make kube-apiserver`", err)
	}
}

// fakeReadyPod creates a pod and reports it Running at ip, Ready or not, as a node would; a local
// HTTP server at ip:port stands for its container.
func fakeReadyPod(t *testing.T, cs kubernetes.Interface, name, ip string, port int32, ready bool) {
	t.Helper()
	ctx := context.Background()
	pod, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "echo"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "echo", Image: "example/echo:1",
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: port}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// serveAt answers every request with name, on ip:port.
func serveAt(t *testing.T, ip string, port int32, name string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

func itoa(p int32) string { return strconv.Itoa(int(p)) }

func TestLoadBalancerForwardsToReadyPods(t *testing.T) {
	c := Start(t, Options{NoManifests: true, LoadBalancer: true})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const targetPort = 18080
	serveAt(t, "127.7.0.1", targetPort, "a")
	serveAt(t, "127.7.0.2", targetPort, "b")
	serveAt(t, "127.7.0.3", targetPort, "unready")
	fakeReadyPod(t, cs, "a", "127.7.0.1", targetPort, true)
	fakeReadyPod(t, cs, "b", "127.7.0.2", targetPort, true)
	fakeReadyPod(t, cs, "unready", "127.7.0.3", targetPort, false)

	_, err = cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "echo"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ip string
	poll(t, "ingress IP", func(ctx context.Context) (bool, error) {
		svc, err := cs.CoreV1().Services("default").Get(ctx, "echo", metav1.GetOptions{})
		if err != nil || len(svc.Status.LoadBalancer.Ingress) == 0 {
			return false, err
		}
		ip = svc.Status.LoadBalancer.Ingress[0].IP
		return true, nil
	})
	if parsed := net.ParseIP(ip); parsed == nil || !parsed.IsLoopback() || ip != c.LoadBalancer().Address("default", "echo") {
		t.Fatalf("ingress IP %q: want the load balancer's loopback address %q", ip, c.LoadBalancer().Address("default", "echo"))
	}

	get := func() (string, error) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + ip + ":80/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	// Round robin over the ready pods only.
	seen := map[string]int{}
	for range 10 {
		who, err := get()
		if err != nil {
			t.Fatalf("GET through the load balancer: %v", err)
		}
		seen[who]++
	}
	if seen["a"] == 0 || seen["b"] == 0 || seen["unready"] != 0 || len(seen) != 2 {
		t.Errorf("answers %v, want both ready pods and never the unready one", seen)
	}

	// A deleted pod stops receiving traffic.
	if err := cs.CoreV1().Pods("default").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod a gone from the backends", func(context.Context) (bool, error) {
		return len(c.LoadBalancer().Backends("default", "echo", 80)) == 1, nil
	})
	for range 5 {
		if who, err := get(); err != nil || who != "b" {
			t.Fatalf("after deleting a: %q, %v; want b", who, err)
		}
	}

	// Deleting the Service closes its address.
	if err := cs.CoreV1().Services("default").Delete(ctx, "echo", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the Service's listener closed", func(context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", ip+":80", time.Second)
		if err == nil {
			conn.Close()
			return false, nil
		}
		return errors.Is(err, syscall.ECONNREFUSED), nil
	})
	if _, err := cs.CoreV1().Services("default").Get(ctx, "echo", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Service still exists: %v", err)
	}
}

// BenchmarkClusterStartWithControllerManager measures a warm start with kube-controller-manager:
// etcd, kube-apiserver, then kube-controller-manager until the default ServiceAccount exists.
//
//	go test -run '^$' -bench ClusterStartWithControllerManager -benchtime 3x ./internal/testing/kubeharness/
func BenchmarkClusterStartWithControllerManager(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		c, err := Launch(ctx, Options{NoManifests: true, ControllerManager: true})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.Stop()
		b.StartTimer()
	}
}
