package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

var fastPacing = retry.Pacing{Interval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

// rolloutFixture is a Deployment at revision 2 with its ReplicaSet, and pods of revision 2 (hash
// "new") and of revision 1 (hash "old").
func rolloutFixture(replicas int32, status appsv1.DeploymentStatus, pods ...*corev1.Pod) []runtime.Object {
	labels := map[string]string{"app": "m"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns", UID: "d-uid", Generation: 2,
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"}},
		Spec:   appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels}},
		Status: status,
	}
	controller := true
	rs := func(rev, hash string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "m-" + hash, Namespace: "ns",
			Labels:          map[string]string{"app": "m", "pod-template-hash": hash},
			Annotations:     map[string]string{"deployment.kubernetes.io/revision": rev},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "m", UID: "d-uid", Controller: &controller}}}}
	}
	objs := []runtime.Object{d, rs("1", "old"), rs("2", "new")}
	for _, p := range pods {
		objs = append(objs, p)
	}
	return objs
}

func pod(name, hash string, status corev1.PodStatus) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
		Labels: map[string]string{"app": "m", "pod-template-hash": hash}}, Status: status}
}

func waiting(reason, msg string) corev1.PodStatus {
	return corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "manager",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}}
}

func TestRolloutFailsWithThePodsReason(t *testing.T) {
	inProgress := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1}
	crashing := waiting("CrashLoopBackOff", "back-off 10s restarting failed container")
	crashing.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
		ExitCode: 2, Reason: "Error", Message: "line 1\nline 2\nsandbox-manager: unknown flag --bogus"}
	for name, tc := range map[string]struct {
		pods  []*corev1.Pod
		grace time.Duration
		want  []string
	}{
		"pull back-off": {pods: []*corev1.Pod{pod("a", "new", waiting("ImagePullBackOff", `Back-off pulling image "r/x:1"`))},
			want: []string{"pod a container manager: ImagePullBackOff", `"r/x:1"`}},
		"pull error past its grace": {pods: []*corev1.Pod{pod("a", "new", waiting("ErrImagePull", "pull r/x:1: not found"))},
			grace: 20 * time.Millisecond, want: []string{"ErrImagePull: pull r/x:1: not found"}},
		"crash loop": {pods: []*corev1.Pod{pod("a", "new", crashing)},
			want: []string{"CrashLoopBackOff", "exit code 2, Error", "unknown flag --bogus"}},
	} {
		t.Run(name, func(t *testing.T) {
			kube := fake.NewClientset(rolloutFixture(2, inProgress, tc.pods...)...)
			r := &Rollout{Kube: kube, Namespace: "ns", Name: "m", Pacing: fastPacing, PullGrace: tc.grace}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := r.Wait(ctx)
			var pe *PodError
			if !errors.As(err, &pe) {
				t.Fatalf("Wait = %v, want a *PodError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRolloutIgnoresOldPodsAndReportsUnschedulableAtTheDeadline(t *testing.T) {
	inProgress := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1}
	unschedulable := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."}}}
	kube := fake.NewClientset(rolloutFixture(2, inProgress,
		pod("old", "old", waiting("CrashLoopBackOff", "old revision crashing")), // not the new revision's problem
		pod("new", "new", unschedulable))...)
	r := &Rollout{Kube: kube, Namespace: "ns", Name: "m", Pacing: fastPacing}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := r.Wait(ctx)
	if !retry.IsTimeout(err) {
		t.Fatalf("Wait = %v, want a timeout", err)
	}
	for _, w := range []string{"1 of 2 replicas updated", "pod new: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "old revision") {
		t.Errorf("error %q reports the old revision's pod", err)
	}
}

func TestRolloutFailsOnAnUnschedulablePodUnlessAnAutoscalerMakesRoom(t *testing.T) {
	inProgress := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1}
	unschedulable := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."}}}
	event := func(podName, reason string) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: podName + "." + reason, Namespace: "ns"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: podName}, Reason: reason}
	}
	for name, tc := range map[string]struct {
		events []runtime.Object
		fails  bool
	}{
		"no autoscaler":                      {fails: true},
		"the autoscaler will not help":       {events: []runtime.Object{event("new", "NotTriggerScaleUp")}, fails: true},
		"another pod's scale-up":             {events: []runtime.Object{event("other", "TriggeredScaleUp")}, fails: true},
		"the Cluster Autoscaler adds a node": {events: []runtime.Object{event("new", "TriggeredScaleUp")}},
		"Karpenter nominated a node for it":  {events: []runtime.Object{event("new", "Nominated")}},
	} {
		t.Run(name, func(t *testing.T) {
			kube := fake.NewClientset(append(rolloutFixture(2, inProgress, pod("new", "new", unschedulable)), tc.events...)...)
			r := &Rollout{Kube: kube, Namespace: "ns", Name: "m", Pacing: fastPacing, SchedulingGrace: 20 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := r.Wait(ctx)
			var pe *PodError
			if !tc.fails {
				if !retry.IsTimeout(err) || !strings.Contains(err.Error(), "a node autoscaler is adding a node for it") {
					t.Fatalf("Wait = %v, want a timeout that says the autoscaler is adding a node", err)
				}
				return
			}
			if !errors.As(err, &pe) || pe.Reason != corev1.PodReasonUnschedulable {
				t.Fatalf("Wait = %v, want an Unschedulable *PodError before the timeout", err)
			}
			for _, w := range []string{"pod new: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.", "no node autoscaler is adding a node for it"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRolloutWaitsForTheLoadBalancer(t *testing.T) {
	done := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	kube := fake.NewClientset(append(rolloutFixture(2, done), svc)...)
	r := &Rollout{Kube: kube, Namespace: "ns", Name: "m", LoadBalancer: true, Pacing: fastPacing}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		time.Sleep(50 * time.Millisecond)
		svc := svc.DeepCopy()
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb-1.elb.example.com"}}
		if _, err := kube.CoreV1().Services("ns").UpdateStatus(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	addr, err := r.Wait(ctx)
	if err != nil || addr != (Address{Hostname: "lb-1.elb.example.com"}) {
		t.Fatalf("Wait = %+v, %v", addr, err)
	}
}

func TestSplitImage(t *testing.T) {
	for in, want := range map[string][2]string{
		"ghcr.io/sandboxstack/sandbox-manager:0.4.0": {"ghcr.io/sandboxstack/sandbox-manager", "0.4.0"},
		"registry:5000/a/b:tag":                      {"registry:5000/a/b", "tag"},
		"registry:5000/a/b":                          {"registry:5000/a/b", ""},
		"r/x@sha256:abc":                             {"r/x@sha256:abc", ""},
	} {
		if repo, tag := splitImage(in); repo != want[0] || tag != want[1] {
			t.Errorf("splitImage(%q) = %q, %q; want %q", in, repo, tag, want)
		}
	}
}

func TestOwnedAnnotations(t *testing.T) {
	fields := []metav1.ManagedFieldsEntry{
		{Manager: "sandboxstack", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(
			`{"f:metadata":{"f:annotations":{"f:a.example/x":{}},"f:labels":{"f:l":{}}},"f:spec":{}}`)},
		{Manager: "cloud-controller", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: metav1.NewFieldsV1(
			`{"f:metadata":{"f:annotations":{"f:cloud/id":{}}}}`)},
	}
	got := ownedAnnotations(fields)
	if len(got) != 1 || !got["a.example/x"] {
		t.Errorf("ownedAnnotations = %v, want only a.example/x", got)
	}
}

func TestConnectionRESTConfig(t *testing.T) {
	kubeconfig := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443"}}]
users: [{name: u, user: {token: tok}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	cfg, err := Connection{Kubeconfig: kubeconfig}.RESTConfig("ua/1")
	if err != nil || cfg.Host != "https://10.0.0.1:6443" || cfg.BearerToken != "tok" || cfg.UserAgent != "ua/1" {
		t.Fatalf("from kubeconfig: %+v, %v", cfg, err)
	}
	cfg, err = Connection{Host: "https://h:443", CAPEM: "pem", Token: "t"}.RESTConfig("ua")
	if err != nil || cfg.Host != "https://h:443" || string(cfg.CAData) != "pem" || cfg.BearerToken != "t" {
		t.Fatalf("from host: %+v, %v", cfg, err)
	}
	if _, err := (Connection{Kubeconfig: "not: [yaml"}).RESTConfig("ua"); err == nil {
		t.Error("a broken kubeconfig was accepted")
	}
	t.Setenv("KUBECONFIG", "")
	if _, err := (Connection{}).RESTConfig("ua"); err == nil || !strings.Contains(err.Error(), "KUBECONFIG") {
		t.Errorf("no connection: %v", err)
	}
}

// TestScaleUpUnderwayAgainstAnAPIServer checks the events query on a real API server (the fake client
// ignores field selectors): only the pod's own scale-up event counts.
func TestScaleUpUnderwayAgainstAnAPIServer(t *testing.T) {
	c := kubeharness.Start(t, kubeharness.Options{NoManifests: true})
	kube, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newPod := func(name string) *corev1.Pod {
		p, err := kube.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.test/c:1"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitingPod, otherPod := newPod("waiting"), newPod("other")
	record := func(p *corev1.Pod, reason string) {
		_, err := kube.CoreV1().Events("default").Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: p.Name + "."},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: p.Name, UID: p.UID},
			Reason:         reason, Message: reason, Type: corev1.EventTypeNormal,
			Source: corev1.EventSource{Component: "cluster-autoscaler"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	record(waitingPod, "NotTriggerScaleUp")
	record(otherPod, "TriggeredScaleUp")
	r := &Rollout{Kube: kube}
	if scaling, err := r.scaleUpUnderway(ctx, waitingPod); err != nil || scaling {
		t.Fatalf("before its own scale-up: %v, %v; want false", scaling, err)
	}
	record(waitingPod, "TriggeredScaleUp")
	if scaling, err := r.scaleUpUnderway(ctx, waitingPod); err != nil || !scaling {
		t.Fatalf("after its own scale-up: %v, %v; want true", scaling, err)
	}
}
