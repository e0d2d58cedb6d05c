package kubenode

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

func TestSandboxPodRunsAndIsReachedAtItsPodIP(t *testing.T) {
	e := startEnv(t, "")
	token := e.createToken(t, "sb1-token")
	created := e.createPod(t, sandboxPod("sb1", "example/sandbox-base:1", "sb1-token"))
	pod := e.waitReady(t, "sb1")

	if pod.Spec.NodeName != DefaultNodeName {
		t.Errorf("nodeName %q, want %q", pod.Spec.NodeName, DefaultNodeName)
	}
	ip := net.ParseIP(pod.Status.PodIP)
	if ip == nil || !ip.IsLoopback() || ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("podIP %q, want an address in 127.0.0.0/8 other than 127.0.0.1", pod.Status.PodIP)
	}
	if len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != pod.Status.PodIP || pod.Status.HostIP != HostIP {
		t.Errorf("podIPs %v hostIP %q", pod.Status.PodIPs, pod.Status.HostIP)
	}
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", pod.Status.Phase)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if c := podCondition(pod.Status.Conditions, ct); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s: %+v, want True", ct, c)
		}
	}
	if len(pod.Status.InitContainerStatuses) != 1 || pod.Status.InitContainerStatuses[0].State.Terminated == nil ||
		pod.Status.InitContainerStatuses[0].State.Terminated.Reason != "Completed" {
		t.Errorf("init container statuses %+v, want envd-install Completed", pod.Status.InitContainerStatuses)
	}
	if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Running == nil || !pod.Status.ContainerStatuses[0].Ready {
		t.Errorf("container statuses %+v, want sandbox running and ready", pod.Status.ContainerStatuses)
	}
	if pod.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("qosClass %q: the API server's value must survive status updates", pod.Status.QOSClass)
	}

	// envd answers at the pod IP over TCP, as it would in a cluster.
	if code, err := envdHealth(pod.Status.PodIP); err != nil || code != 204 {
		t.Fatalf("GET /health at the pod IP: %d, %v; want 204", code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := processClient(pod.Status.PodIP, "wrong").List(ctx, connect.NewRequest(&process.ListRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("process list with a wrong token: %v, want unauthenticated", err)
	}
	if _, err := processClient(pod.Status.PodIP, token).List(ctx, connect.NewRequest(&process.ListRequest{})); err != nil {
		t.Errorf("process list with the pod's token: %v", err)
	}
	// The container's environment (literal with $(VAR), fieldRefs) is the sandbox's; the token, a
	// file of the Secret volume, is not in it.
	out := mustRun(t, pod.Status.PodIP, token, `echo "$GREETING|$POD_NAME|$POD_IP|${ENVD_ACCESS_TOKEN:-none}"`)
	if want := "hello from sb1|sb1|" + pod.Status.PodIP + "|none\n"; out != want {
		t.Errorf("sandbox environment %q, want %q", out, want)
	}

	ids := sandboxIDs(t, e.agent)
	if want := sandboxIDOf(created); !slices.Equal(ids, []string{want}) {
		t.Fatalf("local sandboxes %v, want [%s]", ids, want)
	}

	// Deleting the pod (graceful, as a client does) stops the sandbox before the pod disappears.
	if err := e.client.CoreV1().Pods(testNamespace).Delete(ctx, "sb1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "sb1")
	if ids := sandboxIDs(t, e.agent); len(ids) != 0 {
		t.Errorf("local sandboxes after the pod is gone: %v", ids)
	}
	if !refused(pod.Status.PodIP) {
		t.Errorf("%s:49983 still accepts connections after the pod is gone", pod.Status.PodIP)
	}
	if ip := e.agent.PodIP(testNamespace, "sb1"); ip != "" {
		t.Errorf("agent still maps the deleted pod to %s", ip)
	}
}

func TestPodsGetDistinctIPsAndTokens(t *testing.T) {
	e := startEnv(t, "")
	tokens := map[string]string{}
	for _, name := range []string{"a", "b"} {
		tokens[name] = e.createToken(t, name+"-token")
		e.createPod(t, sandboxPod(name, "registry.example:5000/team/sandbox-base:latest", name+"-token"))
	}
	a, b := e.waitReady(t, "a"), e.waitReady(t, "b")
	if a.Status.PodIP == b.Status.PodIP {
		t.Fatalf("both pods have IP %s", a.Status.PodIP)
	}
	// Each IP reaches its own sandbox: a file written in one is not in the other.
	mustRun(t, a.Status.PodIP, tokens["a"], "echo a > /tmp/who")
	if out := mustRun(t, a.Status.PodIP, tokens["a"], "cat /tmp/who; echo $POD_NAME"); out != "a\na\n" {
		t.Errorf("pod a: %q", out)
	}
	if out := mustRun(t, b.Status.PodIP, tokens["b"], "cat /tmp/who 2>/dev/null || echo none; echo $POD_NAME"); out != "none\nb\n" {
		t.Errorf("pod b: %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := run(ctx, b.Status.PodIP, tokens["a"], "true"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("pod b with pod a's token: %v, want unauthenticated", err)
	}
	if n := len(sandboxIDs(t, e.agent)); n != 2 {
		t.Errorf("%d local sandboxes, want 2", n)
	}
}

func TestUnrunnablePodsReportWhy(t *testing.T) {
	e := startEnv(t, "")
	e.createToken(t, "tok")

	e.createPod(t, sandboxPod("unknown-image", "example/sandbox-nope:1", "tok"))
	pod := e.waitPod(t, "unknown-image", "waiting with ErrImagePull", func(p *corev1.Pod) bool {
		return waitingReason(p) == "ErrImagePull"
	})
	msg := pod.Status.ContainerStatuses[0].State.Waiting.Message
	if !strings.Contains(msg, "example/sandbox-nope:1") || !strings.Contains(msg, "base") {
		t.Errorf("ErrImagePull message %q should name the image and the templates there are", msg)
	}
	if pod.Status.Phase != corev1.PodPending || pod.Status.PodIP != "" {
		t.Errorf("phase %s podIP %q, want Pending without IP (as a kubelet leaves it)", pod.Status.Phase, pod.Status.PodIP)
	}

	initPod := sandboxPod("foreign-init", "example/sandbox-base:1", "tok")
	initPod.Spec.InitContainers[0].Image = "busybox:1"
	e.createPod(t, initPod)
	pod = e.waitPod(t, "foreign-init", "waiting on its init container", func(p *corev1.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].State.Waiting != nil &&
			p.Status.InitContainerStatuses[0].State.Waiting.Reason == "ErrImagePull"
	})
	if c := podCondition(pod.Status.Conditions, corev1.PodInitialized); c == nil || c.Status != corev1.ConditionFalse {
		t.Errorf("Initialized %+v, want False", c)
	}

	// A missing Secret is a configuration error the node retries, as a kubelet does: once the Secret
	// exists the pod starts.
	e.createPod(t, sandboxPod("late-secret", "example/sandbox-base:1", "late"))
	e.waitPod(t, "late-secret", "waiting with CreateContainerConfigError", func(p *corev1.Pod) bool {
		return waitingReason(p) == "CreateContainerConfigError"
	})
	token := e.createToken(t, "late")
	pod = e.waitReady(t, "late-secret")
	if out := mustRun(t, pod.Status.PodIP, token, "echo $POD_NAME"); out != "late-secret\n" {
		t.Errorf("late-secret: %q", out)
	}

	if ids := sandboxIDs(t, e.agent); len(ids) != 1 {
		t.Errorf("local sandboxes %v, want only late-secret's", ids)
	}
}

func TestPodsForOtherSchedulersOrNodesStayUnbound(t *testing.T) {
	e := startEnv(t, "")
	e.createToken(t, "tok")
	other := sandboxPod("other-scheduler", "example/sandbox-base:1", "tok")
	other.Spec.SchedulerName = "someone-else"
	e.createPod(t, other)
	elsewhere := sandboxPod("other-node", "example/sandbox-base:1", "tok")
	elsewhere.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "elsewhere"}
	e.createPod(t, elsewhere)
	selected := sandboxPod("selected", "example/sandbox-base:1", "tok")
	selected.Spec.NodeSelector = map[string]string{corev1.LabelHostname: DefaultNodeName}
	e.createPod(t, selected)

	// The agent handles pods in the order their events arrive; once the last one runs, the first two
	// have been considered.
	e.waitReady(t, "selected")
	for _, name := range []string{"other-scheduler", "other-node"} {
		pod, err := e.client.CoreV1().Pods(testNamespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.NodeName != "" || len(pod.Status.ContainerStatuses) != 0 {
			t.Errorf("pod %s was taken: %s", name, describe(pod))
		}
	}
	node, err := e.client.CoreV1().Nodes().Get(context.Background(), DefaultNodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := nodeCondition(node, corev1.NodeReady); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("node Ready condition %+v", c)
	}
	if len(node.Spec.Taints) != 0 {
		t.Errorf("node taints %v, want none", node.Spec.Taints)
	}
	if _, err := e.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), DefaultNodeName, metav1.GetOptions{}); err != nil {
		t.Errorf("node lease: %v", err)
	}
}

func TestSandboxThatDiesFailsItsPod(t *testing.T) {
	e := startEnv(t, "")
	token := e.createToken(t, "tok")
	e.createPod(t, sandboxPod("doomed", "example/sandbox-base:1", "tok"))
	pod := e.waitReady(t, "doomed")
	// Kill envd, the sandbox's main process: the whole sandbox goes (its pid namespace dies with it).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, _ = runAs(ctx, pod.Status.PodIP, token, "root", "kill -KILL $PPID") // the call itself dies with envd
	pod = e.waitPod(t, "doomed", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	cs := pod.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.Reason != "Error" {
		t.Errorf("container statuses %+v, want terminated with reason Error", cs)
	}
	if c := podCondition(pod.Status.Conditions, corev1.PodReady); c == nil || c.Status != corev1.ConditionFalse {
		t.Errorf("Ready %+v, want False", c)
	}
	if ids := sandboxIDs(t, e.agent); len(ids) != 0 {
		t.Errorf("local sandboxes %v after the sandbox died", ids)
	}
	if !refused(pod.Status.PodIP) {
		t.Errorf("%s:49983 still listens after the sandbox died", pod.Status.PodIP)
	}
}

func TestRestartedAgentAdoptsRunningPods(t *testing.T) {
	stateDir := t.TempDir()
	e := startEnv(t, stateDir)
	token := e.createToken(t, "tok")
	e.createPod(t, sandboxPod("keeper", "example/sandbox-base:1", "tok"))
	e.createPod(t, sandboxPod("goner", "example/sandbox-base:1", "tok"))
	keeper := e.waitReady(t, "keeper")
	goner := e.waitReady(t, "goner")
	mustRun(t, keeper.Status.PodIP, token, "echo still-here > /tmp/marker")

	// The agent goes away (a kubelet restart); its sandboxes keep running.
	if err := e.agent.Close(); err != nil {
		t.Fatal(err)
	}
	if !refused(keeper.Status.PodIP) {
		t.Fatal("the pod IP still listens while the agent is down")
	}
	// Meanwhile one pod is deleted: with no node to finalize it, it waits with a deletion timestamp.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.client.CoreV1().Pods(testNamespace).Delete(ctx, "goner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitPod(t, "goner", "terminating", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })

	e.agent = StartTest(t, e.cluster.RESTConfig(), Config{StateDir: stateDir})
	e.waitGone(t, "goner")
	if !refused(goner.Status.PodIP) {
		t.Errorf("the deleted pod's IP %s listens after the restart", goner.Status.PodIP)
	}
	// The same sandbox, at the same IP, with what was written before the restart.
	after := e.waitReady(t, "keeper")
	if after.Status.PodIP != keeper.Status.PodIP {
		t.Errorf("pod IP changed across the restart: %s → %s", keeper.Status.PodIP, after.Status.PodIP)
	}
	if out := mustRun(t, keeper.Status.PodIP, token, "cat /tmp/marker"); out != "still-here\n" {
		t.Errorf("marker after the restart: %q", out)
	}
	if ids := sandboxIDs(t, e.agent); !slices.Equal(ids, []string{sandboxIDOf(keeper)}) {
		t.Errorf("local sandboxes %v, want only keeper's %s", ids, sandboxIDOf(keeper))
	}
	// The adopted pod is still handled: deleting it stops its sandbox.
	if err := e.client.CoreV1().Pods(testNamespace).Delete(ctx, "keeper", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, "keeper")
	if ids := sandboxIDs(t, e.agent); len(ids) != 0 {
		t.Errorf("local sandboxes after deleting the adopted pod: %v", ids)
	}
}

func waitingReason(p *corev1.Pod) string {
	if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
		return ""
	}
	return p.Status.ContainerStatuses[0].State.Waiting.Reason
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func TestReadinessFollowsTheProbeThroughEnvd(t *testing.T) {
	e := startEnv(t, "")
	token := e.createToken(t, "tok")
	pod := sandboxPod("probed", "example/sandbox-base:1", "tok")
	// A port of the sandbox's own loopback: the node reaches it through envd's forwarding, as the
	// gateway does, since the sandbox's network is its own.
	pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}}
	pod.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/ready.txt"
	pod.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromString("web")
	e.createPod(t, pod)
	running := e.waitPod(t, "probed", "Running but not Ready", func(p *corev1.Pod) bool {
		c := podCondition(p.Status.Conditions, corev1.PodReady)
		return p.Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionFalse
	})
	if cs := running.Status.ContainerStatuses; len(cs) != 1 || cs[0].Ready || cs[0].State.Running == nil {
		t.Errorf("container statuses %+v, want running and not ready", cs)
	}
	mustRun(t, running.Status.PodIP, token,
		"mkdir -p /tmp/www && echo ok > /tmp/www/ready.txt && cd /tmp/www && "+
			"(setsid python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 &)")
	e.waitReady(t, "probed")
}
