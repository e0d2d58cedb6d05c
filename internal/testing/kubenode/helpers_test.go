package kubenode

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process/processconnect"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBinaries()
	os.Exit(code)
}

// testNamespace is where the tests' pods go (the Kubernetes runtime's default namespace for sandboxes).
const testNamespace = "sandboxes"

// env is a cluster with a test node.
type env struct {
	cluster *kubeharness.Cluster
	client  kubernetes.Interface
	agent   *Agent
}

// startEnv starts a cluster (no CRDs: the agent needs none) and a node over stateDir ("" = fresh).
func startEnv(t *testing.T, stateDir string) *env {
	t.Helper()
	c := kubeharness.Start(t, kubeharness.Options{NoManifests: true})
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := StartTest(t, c.RESTConfig(), Config{StateDir: stateDir})
	return &env{cluster: c, client: cs, agent: a}
}

// createToken stores an envd access token in a Secret and returns it.
func (e *env) createToken(t *testing.T, name string) string {
	t.Helper()
	token := name + "-" + fmt.Sprint(time.Now().UnixNano())
	_, err := e.client.CoreV1().Secrets(testNamespace).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Data:       map[string][]byte{"token": []byte(token)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	return token
}

// sandboxPod is a pod as the Kubernetes runtime makes them: an envd-install init container, a main
// container "sandbox" with the token as a root-only file of a Secret volume, downward-API variables and a readiness probe on
// envd's /health.
func sandboxPod(name, image, tokenSecret string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, Labels: map[string]string{"app": "sandbox"}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{
				Name: "envd-install", Image: "ghcr.io/sandboxstack/envd:0.1.0",
				Command: []string{"cp", "/envd", "/opt/sandbox/bin/envd"},
			}},
			Containers: []corev1.Container{{
				Name:         MainContainerName,
				Image:        image,
				Command:      []string{"/opt/sandbox/bin/envd", "--access-token-file", "/run/sandbox-token/token"},
				VolumeMounts: []corev1.VolumeMount{{Name: "token", MountPath: "/run/sandbox-token", ReadOnly: true}},
				Env: []corev1.EnvVar{
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
					{Name: "GREETING", Value: "hello from $(POD_NAME)"},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Path: "/health", Port: intstr.FromInt32(49983)}}},
			}},
			Volumes: []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: tokenSecret, DefaultMode: new(int32(0o400)),
			}}}},
		},
	}
}

func (e *env) createPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := e.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return created
}

// waitPod polls the pod until ok accepts it; the bound only keeps a broken test from hanging.
func (e *env) waitPod(t *testing.T, name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		pod, err := e.client.CoreV1().Pods(testNamespace).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = pod
			if ok(pod) {
				return pod
			}
		} else if !apierrors.IsNotFound(err) {
			t.Fatalf("get pod %s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s is not %s; last seen: %s", name, what, describe(last))
	return nil
}

func (e *env) waitReady(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	return e.waitPod(t, name, "Ready", func(p *corev1.Pod) bool {
		c := podCondition(p.Status.Conditions, corev1.PodReady)
		return c != nil && c.Status == corev1.ConditionTrue
	})
}

// waitGone waits until the pod no longer exists.
func (e *env) waitGone(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		pod, err := e.client.CoreV1().Pods(testNamespace).Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if err != nil {
			t.Fatalf("get pod %s: %v", name, err)
		}
		if time.Now().Add(50 * time.Millisecond).After(deadline) {
			t.Fatalf("pod %s still exists: %s", name, describe(pod))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describe(p *corev1.Pod) string {
	if p == nil {
		return "(never seen)"
	}
	return fmt.Sprintf("node=%q deleting=%v phase=%s podIP=%s conditions=%+v containers=%+v init=%+v",
		p.Spec.NodeName, p.DeletionTimestamp != nil, p.Status.Phase, p.Status.PodIP, p.Status.Conditions,
		p.Status.ContainerStatuses, p.Status.InitContainerStatuses)
}

// envdHealth is envd's GET /health status code at the pod IP.
func envdHealth(ip string) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(ip, "49983") + "/health")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// tokenTransport adds envd's access token (and the acting user, as the SDK sends it) to every request.
type tokenTransport struct{ token, user string }

func (t tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if t.token != "" {
		req.Header.Set("X-Access-Token", t.token)
	}
	if t.user != "" {
		req.SetBasicAuth(t.user, "")
	}
	return http.DefaultTransport.RoundTrip(req)
}

func processClient(ip, token string) processconnect.ProcessClient {
	return processClientAs(ip, token, "")
}

func processClientAs(ip, token, user string) processconnect.ProcessClient {
	return processconnect.NewProcessClient(&http.Client{Transport: tokenTransport{token: token, user: user}},
		"http://"+net.JoinHostPort(ip, "49983"), connect.WithProtoJSON())
}

// run runs a bash script in the sandbox at ip through envd's process service, as the SDK does, as the
// sandbox's default user.
func run(ctx context.Context, ip, token, script string) (stdout string, exit int, err error) {
	return runAs(ctx, ip, token, "", script)
}

// runAs is run as the given user ("" = the default user).
func runAs(ctx context.Context, ip, token, user, script string) (stdout string, exit int, err error) {
	stream, err := processClientAs(ip, token, user).Start(ctx, connect.NewRequest(&process.StartRequest{Process: &process.ProcessConfig{
		Cmd: "/bin/bash", Args: []string{"-l", "-c", script},
	}}))
	if err != nil {
		return "", 0, err
	}
	defer stream.Close()
	var out strings.Builder
	ended := false
	for stream.Receive() {
		ev := stream.Msg().GetEvent()
		if d := ev.GetData(); d != nil {
			out.Write(d.GetStdout())
			out.Write(d.GetStderr())
		}
		if end := ev.GetEnd(); end != nil {
			exit, ended = int(end.GetExitCode()), true
		}
	}
	if err := stream.Err(); err != nil {
		return "", 0, err
	}
	if !ended {
		return "", 0, fmt.Errorf("run %q: no end event", script)
	}
	return out.String(), exit, nil
}

// mustRun runs script and fails the test unless it exits 0.
func mustRun(t *testing.T, ip, token, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, code, err := run(ctx, ip, token, script)
	if err != nil || code != 0 {
		t.Fatalf("run %q at %s: exit %d, err %v, output %q", script, ip, code, err, out)
	}
	return out
}

// sandboxIDs lists the local runtime's sandboxes of the agent.
func sandboxIDs(t *testing.T, a *Agent) []string {
	t.Helper()
	list, err := a.Sandboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, inst := range list {
		ids = append(ids, inst.Spec.ID)
	}
	return ids
}

// refused reports whether nothing listens at the pod's envd address any more.
func refused(ip string) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "49983"), 2*time.Second)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}
