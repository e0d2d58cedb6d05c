package kubenode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// MainContainerName is the container the agent runs when a pod has several (K2's sandbox pods name
// it so); otherwise the only container is the main one.
const MainContainerName = "sandbox"

// Keys of the local sandbox's Spec.Metadata that tie it to its pod, so a restarted agent knows which
// pod each sandbox it adopts belongs to.
const (
	metaNamespace = "kubenode.sandboxstack.io/pod-namespace"
	metaName      = "kubenode.sandboxstack.io/pod-name"
	metaUID       = "kubenode.sandboxstack.io/pod-uid"
	metaPodIP     = "kubenode.sandboxstack.io/pod-ip"
	metaNode      = "kubenode.sandboxstack.io/node"
)

// Retry delays for problems the kubelet retries too.
const (
	configRetry = 2 * time.Second // a Secret or ConfigMap may appear
	probeRetry  = time.Second     // readiness may come later
)

// runState is how far a pod's sandbox is.
type runState int

const (
	runStarting runState = iota
	runRunning
	runDead // its processes exited; the pod is to be failed
)

// podRun is the agent's handle on one pod's sandbox. Fields after proxy are guarded by Agent.mu.
type podRun struct {
	key       string // namespace/name
	uid       types.UID
	sandboxID string
	ip        string
	template  string
	token     string
	proxy     *envdProxy

	state      runState
	ready      bool
	startedAt  metav1.Time
	readyAt    metav1.Time
	deadReason string
	finishedAt metav1.Time
}

func (r *podRun) running() bool { return r.state == runRunning }

func (r *podRun) markDead(reason string) {
	r.state, r.deadReason, r.finishedAt = runDead, reason, now()
}

// closeNetwork stops listening on the pod IP and frees it (once: the IP may be handed out again).
func (r *podRun) closeNetwork(ips *ipAllocator) {
	if r.proxy == nil {
		return
	}
	r.proxy.close()
	r.proxy = nil
	ips.release(r.ip)
}

// now is the current time at the API's resolution (seconds), so that a status the agent computes
// twice compares equal to what the API stored.
func now() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }

// sandboxIDOf is the local sandbox ID of a pod, which is also the hostname its processes see: the
// pod's spec.hostname when it is one (as a kubelet sets the container's hostname from it; E2B clients
// check that a sandbox's hostname is its ID), else its UID in the E2B ID alphabet.
func sandboxIDOf(pod *corev1.Pod) string {
	if h := pod.Spec.Hostname; validSandboxID.MatchString(h) {
		return h
	}
	return strings.ReplaceAll(strings.ToLower(string(pod.UID)), "-", "")
}

// validSandboxID is what the local runtime accepts as an ID (and so as a hostname).
var validSandboxID = regexp.MustCompile(`^[a-z0-9]{1,63}$`)

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// reconcile brings one pod and its sandbox in line; a positive duration asks to be called again then.
func (a *Agent) reconcile(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil // not a key the informer makes; nothing to do
	}
	pod, err := a.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		a.stopProgram(key, "", 0)
		return 0, a.stopRun(ctx, key, "")
	}
	if err != nil {
		return 0, err
	}
	if bin, ok := a.programOf(pod); ok {
		return a.reconcileProgram(ctx, key, pod, bin)
	}
	a.mu.Lock()
	run := a.runs[key]
	a.mu.Unlock()
	if run != nil && run.uid != pod.UID { // the pod was replaced by one of the same name
		if err := a.stopRun(ctx, key, run.uid); err != nil {
			return 0, err
		}
		run = nil
	}

	switch {
	case pod.Spec.NodeName == "":
		if pod.DeletionTimestamp != nil || !a.schedulable(pod) {
			return 0, nil
		}
		return 0, a.bind(ctx, pod)
	case pod.Spec.NodeName != a.cfg.NodeName:
		return 0, nil
	case pod.DeletionTimestamp != nil:
		if err := a.stopRun(ctx, key, ""); err != nil {
			return 0, err
		}
		return 0, a.finalize(ctx, pod)
	case terminal(pod):
		return 0, a.stopRun(ctx, key, "")
	case run == nil:
		return a.startPod(ctx, key, pod)
	}

	a.mu.Lock()
	state, ready := run.state, run.ready
	a.mu.Unlock()
	switch {
	case state == runDead:
		run.closeNetwork(a.ips) // nothing listens at the pod IP of a pod reported Failed
		if err := a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return a.failedStatus(p, run) }); err != nil {
			return 0, err
		}
		return 0, a.stopRun(ctx, key, "")
	case state == runRunning && !ready:
		if err := a.probeReadiness(ctx, pod, run, 0); err == nil {
			a.setReady(run)
		} else {
			a.log.Debug("kubenode: readiness probe", "pod", key, "err", err)
		}
	}
	if err := a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return a.runningStatus(p, run) }); err != nil {
		return 0, err
	}
	a.mu.Lock()
	ready = run.ready
	a.mu.Unlock()
	if !ready {
		return probeRetry, nil
	}
	return 0, nil
}

// bind assigns an unbound pod to this node, as a scheduler does.
func (a *Agent) bind(ctx context.Context, pod *corev1.Pod) error {
	err := a.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: a.cfg.NodeName},
	}, metav1.CreateOptions{})
	switch {
	case err == nil:
		a.log.Debug("kubenode: bound pod", "pod", pod.Namespace+"/"+pod.Name)
		return nil
	case apierrors.IsConflict(err), apierrors.IsNotFound(err): // bound meanwhile, or gone
		return nil
	default:
		return fmt.Errorf("bind pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
}

// finalize removes a pod whose sandbox is stopped, as a kubelet does at the end of graceful deletion.
func (a *Agent) finalize(ctx context.Context, pod *corev1.Pod) error {
	zero := int64(0)
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	a.log.Debug("kubenode: pod finalized", "pod", pod.Namespace+"/"+pod.Name)
	return nil
}

// stopRun stops the sandbox of the pod at key (only if its UID is uid, when uid is set), closes its
// pod IP and forgets it.
func (a *Agent) stopRun(ctx context.Context, key string, uid types.UID) error {
	a.mu.Lock()
	run := a.runs[key]
	if run == nil || (uid != "" && run.uid != uid) {
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	// The listener goes first: nothing reaches a sandbox that is being torn down.
	run.closeNetwork(a.ips)
	if err := a.rt.Stop(ctx, run.sandboxID); err != nil {
		return fmt.Errorf("stop sandbox of pod %s: %w", key, err)
	}
	a.mu.Lock()
	if a.runs[key] == run {
		delete(a.runs, key)
	}
	a.mu.Unlock()
	a.log.Info("kubenode: sandbox stopped", "pod", key, "sandbox", run.sandboxID)
	return nil
}

// podProblem is why a pod cannot start: shown as the waiting reason of a container.
type podProblem struct {
	container string
	init      bool
	reason    string // ErrImagePull, CreateContainerError, CreateContainerConfigError
	message   string
}

// mainContainer is the container the agent runs.
func mainContainer(pod *corev1.Pod) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == MainContainerName {
			return &pod.Spec.Containers[i]
		}
	}
	return &pod.Spec.Containers[0]
}

// check finds what in the pod's containers the test node cannot run, and the local template of the
// main container.
func (a *Agent) check(pod *corev1.Pod) (string, *podProblem) {
	for _, c := range pod.Spec.InitContainers {
		if !isEnvdImage(c.Image) {
			return "", &podProblem{container: c.Name, init: true, reason: "ErrImagePull",
				message: fmt.Sprintf("image %q: the sandbox test node runs init containers only from envd images (<registry>/envd:<tag>)", c.Image)}
		}
	}
	main := mainContainer(pod)
	if len(pod.Spec.Containers) > 1 {
		return "", &podProblem{container: main.Name, reason: "CreateContainerConfigError",
			message: fmt.Sprintf("the sandbox test node runs one container per pod; this pod has %d", len(pod.Spec.Containers))}
	}
	template, ok := templateOf(main.Image)
	var known []string
	available := ""
	for _, t := range a.rt.Templates() {
		known = append(known, t.Name)
		if t.Name == template {
			available = "yes"
			if !t.Available {
				available = t.Reason
			}
		}
	}
	switch {
	case !ok || available == "":
		return "", &podProblem{container: main.Name, reason: "ErrImagePull",
			message: fmt.Sprintf("image %q not found: the sandbox test node has images <registry>/sandbox-<template>:<tag> for the local templates %s",
				main.Image, strings.Join(known, ", "))}
	case available != "yes":
		return "", &podProblem{container: main.Name, reason: "CreateContainerError",
			message: fmt.Sprintf("image %q: local template %q is unavailable on this machine: %s", main.Image, template, available)}
	}
	return template, nil
}

// startPod starts the pod's sandbox and reports it Running.
func (a *Agent) startPod(ctx context.Context, key string, pod *corev1.Pod) (time.Duration, error) {
	template, problem := a.check(pod)
	if problem != nil {
		return 0, a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return waitingStatus(p, problem) })
	}
	main := mainContainer(pod)
	ln, ip, err := a.ips.listen("", sandbox.EnvdPort)
	if err != nil {
		return 0, err
	}
	resolver := &envResolver{client: a.client, pod: pod, podIP: ip, hostIP: HostIP}
	env, err := resolver.resolve(ctx, main)
	var token string
	if err == nil {
		token, err = resolver.envdToken(ctx, main)
	}
	if err != nil {
		ln.Close()
		a.ips.release(ip)
		var cfgErr *configError
		if errors.As(err, &cfgErr) {
			problem := &podProblem{container: main.Name, reason: "CreateContainerConfigError", message: err.Error()}
			return configRetry, a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return waitingStatus(p, problem) })
		}
		return 0, err
	}

	run := &podRun{key: key, uid: pod.UID, sandboxID: sandboxIDOf(pod), ip: ip, template: template, token: token, state: runStarting}
	a.mu.Lock()
	a.runs[key] = run
	a.mu.Unlock()
	forget := func() {
		ln.Close()
		a.mu.Lock()
		if a.runs[key] == run {
			delete(a.runs, key)
		}
		a.mu.Unlock()
		a.ips.release(ip)
	}
	if err := a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return creatingStatus(p) }); err != nil {
		forget()
		return 0, err
	}

	spec := sandbox.Spec{
		ID:          run.sandboxID,
		Template:    template,
		EnvVars:     env,
		AccessToken: token,
		Limits:      limitsOf(main),
		Metadata: map[string]string{
			metaNamespace: pod.Namespace, metaName: pod.Name, metaUID: string(pod.UID),
			metaPodIP: ip, metaNode: a.cfg.NodeName,
		},
	}
	inst, err := a.rt.Start(ctx, spec)
	if errors.Is(err, local.ErrExists) {
		// Left by an earlier run of this pod whose status update failed; start afresh.
		if err = a.rt.Stop(ctx, spec.ID); err == nil {
			inst, err = a.rt.Start(ctx, spec)
		}
	}
	if err != nil {
		forget()
		if ctx.Err() != nil {
			return 0, err
		}
		a.log.Warn("kubenode: sandbox start failed", "pod", key, "err", err)
		a.mu.Lock()
		run.markDead("sandbox start failed: " + err.Error())
		a.mu.Unlock()
		return 0, a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return a.failedStatus(p, run) })
	}
	run.proxy = newEnvdProxy(ln, func(ctx context.Context) (net.Conn, error) { return a.rt.DialEnvd(ctx, run.sandboxID) })
	a.mu.Lock()
	run.state, run.startedAt = runRunning, metav1.NewTime(inst.StartedAt.Truncate(time.Second))
	a.mu.Unlock()
	a.log.Info("kubenode: sandbox running", "pod", key, "sandbox", run.sandboxID, "template", template, "pod_ip", ip)

	// Like a kubelet, report the pod Running at once and Ready when the probe passes; envd's /health
	// passes at once here (Start waited for it), a probe of the template's own service may take longer
	// and is retried by reconcile.
	if err := a.probeReadiness(ctx, pod, run, 2*time.Second); err != nil {
		a.log.Warn("kubenode: readiness probe failing", "pod", key, "err", err)
	} else {
		a.setReady(run)
	}
	if err := a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return a.runningStatus(p, run) }); err != nil {
		return 0, err // the run stays; the next reconcile reports it
	}
	a.mu.Lock()
	ready := run.ready
	a.mu.Unlock()
	if !ready {
		return probeRetry, nil
	}
	return 0, nil
}

func (a *Agent) setReady(run *podRun) {
	a.mu.Lock()
	if !run.ready {
		run.ready, run.readyAt = true, now()
	}
	a.mu.Unlock()
}

// limitsOf turns the container's resource limits into the local runtime's.
func limitsOf(c *corev1.Container) sandbox.Limits {
	var l sandbox.Limits
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		l.CPUMillis = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		l.MemoryMB = q.Value() >> 20
	}
	return l
}

// adopt takes over the sandboxes the local runtime still runs: those whose pod still exists on this
// node get their pod IP back; the others are stopped (their pods were deleted while the agent was
// down; the pods' deletions are finalized by reconcile).
func (a *Agent) adopt(ctx context.Context) error {
	list, err := a.rt.List(ctx)
	if err != nil {
		return fmt.Errorf("list sandboxes to adopt: %w", err)
	}
	for _, inst := range list {
		md := inst.Spec.Metadata
		key := md[metaNamespace] + "/" + md[metaName]
		pod, err := a.pods.Pods(md[metaNamespace]).Get(md[metaName])
		keep := err == nil && string(pod.UID) == md[metaUID] && pod.Spec.NodeName == a.cfg.NodeName &&
			pod.DeletionTimestamp == nil && !terminal(pod)
		var ln net.Listener
		if keep {
			if ln, _, err = a.ips.listen(md[metaPodIP], sandbox.EnvdPort); err != nil {
				a.log.Error("kubenode: cannot adopt sandbox", "pod", key, "err", err)
				keep = false
			}
		}
		if !keep {
			a.log.Info("kubenode: stopping sandbox without a pod", "sandbox", inst.Spec.ID, "pod", key)
			if err := a.rt.Stop(ctx, inst.Spec.ID); err != nil {
				return fmt.Errorf("stop sandbox %s: %w", inst.Spec.ID, err)
			}
			continue
		}
		id := inst.Spec.ID
		run := &podRun{key: key, uid: pod.UID, sandboxID: id, ip: md[metaPodIP], template: inst.Spec.Template,
			token: inst.Spec.AccessToken, state: runRunning, startedAt: metav1.NewTime(inst.StartedAt.Truncate(time.Second))}
		if cond := podCondition(pod.Status.Conditions, corev1.PodReady); cond != nil && cond.Status == corev1.ConditionTrue {
			run.ready, run.readyAt = true, cond.LastTransitionTime
		}
		run.proxy = newEnvdProxy(ln, func(ctx context.Context) (net.Conn, error) { return a.rt.DialEnvd(ctx, id) })
		a.mu.Lock()
		a.runs[key] = run
		a.mu.Unlock()
		a.log.Info("kubenode: adopted sandbox", "pod", key, "sandbox", id, "pod_ip", run.ip)
	}
	return nil
}

func podCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	i := slices.IndexFunc(conds, func(c corev1.PodCondition) bool { return c.Type == t })
	if i < 0 {
		return nil
	}
	return &conds[i]
}
