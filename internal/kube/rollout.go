package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// DefaultPullGrace is how long a container may stay in ErrImagePull before a rollout fails on it.
// A kubelet turns a lasting pull failure into ImagePullBackOff within seconds (which fails at once);
// the grace lets one failed pull that the next attempt fixes (a registry hiccup) pass.
const DefaultPullGrace = 20 * time.Second

// DefaultSchedulingGrace is how long a pod may stay unschedulable before a rollout fails on it, when no
// node autoscaler has said it is adding room for the pod. A pod the autoscaler is making room for (its
// TriggeredScaleUp or Karpenter's Nominated event) is waited for until the timeout.
const DefaultSchedulingGrace = 90 * time.Second

// scaleUpReasons are the events an autoscaler puts on a pod it is adding a node for: the Cluster
// Autoscaler's and Karpenter's.
var scaleUpReasons = []string{"TriggeredScaleUp", "Nominated"}

// Rollout waits for a Deployment to roll out and for its Service to have an address.
type Rollout struct {
	Kube kubernetes.Interface
	// Namespace and Name of the Deployment and of the Service (same name).
	Namespace, Name string
	// LoadBalancer: the Service is of type LoadBalancer, and the wait includes its ingress address.
	LoadBalancer bool
	Pacing       retry.Pacing
	// PullGrace is DefaultPullGrace when 0, SchedulingGrace DefaultSchedulingGrace.
	PullGrace, SchedulingGrace time.Duration
	Log                        func(msg string, keysAndValues ...any)
}

// Address is where a LoadBalancer Service is reachable.
type Address struct {
	IP, Hostname string
}

// PodError is a rollout that cannot finish because of what happens to one of its pods: the
// pod's own reason, as a kubelet or the scheduler reported it.
type PodError struct {
	Pod       string
	Container string
	// Reason is the kubelet's or the scheduler's: ErrImagePull, ImagePullBackOff, CrashLoopBackOff,
	// Unschedulable, ...
	Reason  string
	Message string
	// LastTermination describes the container's last exit (crash loops): exit code, reason, message.
	LastTermination string
}

func (e *PodError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s", e.Pod)
	if e.Container != "" {
		fmt.Fprintf(&b, " container %s", e.Container)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.LastTermination != "" {
		fmt.Fprintf(&b, " (last run: %s)", e.LastTermination)
	}
	return b.String()
}

// fatalReasons end a rollout at once: the kubelet has retried and backed off, or cannot run the
// container as specified.
var fatalReasons = []string{"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CrashLoopBackOff",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}

// Wait polls until the Deployment's newest revision has all its replicas updated and available,
// the old pods are gone, and (LoadBalancer) the Service has an ingress address, which it returns.
// It ends early with a *PodError when a pod of the new revision cannot run (its image cannot be
// pulled, it crashes over and over, it stays unschedulable and no autoscaler makes room); when ctx
// ends first, the error says what was still missing, with the pods' reasons.
func (r *Rollout) Wait(ctx context.Context) (Address, error) {
	deadline, ok := ctx.Deadline()
	timeout := time.Until(deadline)
	if !ok {
		timeout = 10 * time.Minute
	}
	grace := r.PullGrace
	if grace <= 0 {
		grace = DefaultPullGrace
	}
	schedulingGrace := r.SchedulingGrace
	if schedulingGrace <= 0 {
		schedulingGrace = DefaultSchedulingGrace
	}
	pulls := map[string]time.Time{}         // pod/container → first seen in ErrImagePull
	unschedulable := map[string]time.Time{} // pod → first seen unschedulable
	var (
		addr     Address
		lastLog  string
		started  = time.Now()
		clockNow = time.Now
	)
	if r.Pacing.Clock != nil {
		clockNow = r.Pacing.Clock.Now
	}
	err := retry.Retry(ctx, timeout, r.Pacing, isPending, func(ctx context.Context) error {
		d, err := r.Kube.AppsV1().Deployments(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading Deployment %s/%s: %w", r.Namespace, r.Name, err)
		}
		done, progress := deploymentDone(d)
		if !done && deadlineExceeded(d) {
			return fmt.Errorf("the Deployment %s/%s exceeded its progress deadline: %s", r.Namespace, r.Name, progress)
		}
		var problems []*PodError
		if !done {
			pods, err := r.newPods(ctx, d)
			if err != nil {
				return err
			}
			now := clockNow()
			for _, p := range pods {
				for _, pe := range podProblems(p) {
					key := pe.Pod + "/" + pe.Container
					switch {
					case slices.Contains(fatalReasons, pe.Reason):
						return pe
					case pe.Reason == "ErrImagePull":
						if heldFor(pulls, key, now) >= grace {
							return pe
						}
					case pe.Reason == corev1.PodReasonUnschedulable:
						if waited := heldFor(unschedulable, pe.Pod, now); waited >= schedulingGrace {
							scaling, err := r.scaleUpUnderway(ctx, p)
							if err != nil {
								return err
							}
							if !scaling {
								pe.Message += fmt.Sprintf(" (for %s, and no node autoscaler is adding a node for it)", waited.Round(time.Second))
								return pe
							}
							pe.Message += " (a node autoscaler is adding a node for it)"
						}
					}
					problems = append(problems, pe)
				}
			}
		}
		lb := ""
		if r.LoadBalancer {
			svc, err := r.Kube.CoreV1().Services(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading Service %s/%s: %w", r.Namespace, r.Name, err)
			}
			addr = Address{}
			if in := svc.Status.LoadBalancer.Ingress; len(in) > 0 {
				addr = Address{IP: in[0].IP, Hostname: in[0].Hostname}
			}
			if addr == (Address{}) {
				lb = "; the Service has no load balancer address yet (does the cluster have a load balancer controller?)"
			}
		}
		state := progress + lb
		for _, p := range problems {
			state += "; " + p.Error()
		}
		if state != lastLog {
			r.log("rollout", "state", state, "elapsed", time.Since(started).Round(100*time.Millisecond).String())
			lastLog = state
		}
		if !done || lb != "" {
			return pending(state)
		}
		return nil
	})
	var pe *PodError
	if errors.As(err, &pe) {
		return addr, pe
	}
	return addr, err
}

// deploymentDone is `kubectl rollout status`'s test, and a description of the progress.
func deploymentDone(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	progress := fmt.Sprintf("%d of %d replicas updated, %d available, %d total", s.UpdatedReplicas, want, s.AvailableReplicas, s.Replicas)
	switch {
	case s.ObservedGeneration < d.Generation:
		return false, "the Deployment controller has not seen the new spec yet"
	case s.UpdatedReplicas < want, s.Replicas > s.UpdatedReplicas, s.AvailableReplicas < s.UpdatedReplicas:
		return false, progress
	}
	return true, progress
}

func deadlineExceeded(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}

// newPods are the pods of the Deployment's newest revision (old pods may fail while they go; that
// is not the new revision's problem), those not being deleted.
func (r *Rollout) newPods(ctx context.Context, d *appsv1.Deployment) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{LabelSelector: sel.String()}
	rss, err := r.Kube.AppsV1().ReplicaSets(r.Namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	const revision = "deployment.kubernetes.io/revision"
	hash := ""
	for _, rs := range rss.Items {
		if metav1.IsControlledBy(&rs, d) && rs.Annotations[revision] == d.Annotations[revision] {
			hash = rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		}
	}
	if hash == "" {
		return nil, nil // the controller has not made the new ReplicaSet yet
	}
	pods, err := r.Kube.CoreV1().Pods(r.Namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	var out []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil && p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] == hash {
			out = append(out, p)
		}
	}
	return out, nil
}

// heldFor is how long key has been in a state, by since (key → first seen in it): 0 when seen now
// for the first time.
func heldFor(since map[string]time.Time, key string, now time.Time) time.Duration {
	first, seen := since[key]
	if !seen {
		since[key] = now
		return 0
	}
	return now.Sub(first)
}

// scaleUpUnderway reports whether an autoscaler has said it is adding a node for pod. Events the
// caller may not read count as no: the rollout then fails on the scheduler's reason.
func (r *Rollout) scaleUpUnderway(ctx context.Context, pod *corev1.Pod) (bool, error) {
	events, err := r.Kube.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", pod.Name).String()})
	if apierrors.IsForbidden(err) {
		r.log("rollout: cannot read the pod's events to see whether a node autoscaler is making room", "pod", pod.Name, "err", err)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("listing the events of pod %s: %w", pod.Name, err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == pod.Name && slices.Contains(scaleUpReasons, e.Reason) &&
			(pod.UID == "" || e.InvolvedObject.UID == pod.UID) {
			return true, nil
		}
	}
	return false, nil
}

// podProblems are the reasons pod does not run: the scheduler's, and each container's waiting reason.
func podProblems(p *corev1.Pod) []*PodError {
	var out []*PodError
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			out = append(out, &PodError{Pod: p.Name, Reason: c.Reason, Message: c.Message})
		}
	}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		w := cs.State.Waiting
		if w == nil || w.Reason == "" || w.Reason == "ContainerCreating" || w.Reason == "PodInitializing" {
			continue
		}
		pe := &PodError{Pod: p.Name, Container: cs.Name, Reason: w.Reason, Message: w.Message}
		if t := cs.LastTerminationState.Terminated; t != nil {
			pe.LastTermination = fmt.Sprintf("exit code %d", t.ExitCode)
			if t.Reason != "" {
				pe.LastTermination += ", " + t.Reason
			}
			if msg := strings.TrimSpace(t.Message); msg != "" {
				pe.LastTermination += ": " + lastLines(msg, 5)
			}
		}
		out = append(out, pe)
	}
	return out
}

// lastLines is the end of a container's termination message (often its log's tail).
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (r *Rollout) log(msg string, kv ...any) {
	if r.Log != nil {
		r.Log(msg, kv...)
	}
}
