package kubenode

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// updateStatus writes the status build computes from the pod, unless it is what the API has already
// (the informer's copy may be stale: a conflict re-reads the pod and computes again).
func (a *Agent) updateStatus(ctx context.Context, pod *corev1.Pod, build func(*corev1.Pod) corev1.PodStatus) error {
	cur := pod
	for attempt := 0; ; attempt++ {
		desired := build(cur)
		if equality.Semantic.DeepEqual(cur.Status, desired) {
			return nil
		}
		upd := cur.DeepCopy()
		upd.Status = desired
		_, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 5 {
			return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		cur, err = a.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		if cur.UID != pod.UID {
			return nil
		}
	}
}

// setCondition sets a pod condition, keeping its transition time when its status does not change.
func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, status corev1.ConditionStatus, reason, message string) {
	c := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: message, LastTransitionTime: now()}
	for i := range st.Conditions {
		if st.Conditions[i].Type != t {
			continue
		}
		if st.Conditions[i].Status == status {
			c.LastTransitionTime = st.Conditions[i].LastTransitionTime
		}
		st.Conditions[i] = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// scheduledStatus is the part of every status once the pod is on this node: PodScheduled, the host IP,
// the start time. It starts from the pod's current status, which keeps what the API server set
// (qosClass) and what the agent set before.
func scheduledStatus(pod *corev1.Pod) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	setCondition(&st, corev1.PodScheduled, corev1.ConditionTrue, "", "")
	st.HostIP = HostIP
	st.HostIPs = []corev1.HostIP{{IP: HostIP}}
	if st.StartTime == nil {
		t := now()
		st.StartTime = &t
	}
	return st
}

// initDone reports every init container completed (the test node only has envd init containers, which
// need no running).
func initDone(pod *corev1.Pod, st *corev1.PodStatus) {
	st.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		finished := now()
		if prev := containerStatus(pod.Status.InitContainerStatuses, c.Name); prev != nil && prev.State.Terminated != nil {
			finished = prev.State.Terminated.FinishedAt
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, corev1.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			ImageID: "sandbox-testnode://envd",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: finished, FinishedAt: finished,
			}},
			Ready: true,
		})
	}
	setCondition(st, corev1.PodInitialized, corev1.ConditionTrue, "", "")
}

func containerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// notReady sets ContainersReady and Ready to False.
func notReady(st *corev1.PodStatus, pod *corev1.Pod, reason string) {
	msg := fmt.Sprintf("containers with unready status: [%s]", mainContainer(pod).Name)
	setCondition(st, corev1.ContainersReady, corev1.ConditionFalse, reason, msg)
	setCondition(st, corev1.PodReady, corev1.ConditionFalse, reason, msg)
}

// waitingStatus is a Pending pod one of whose containers cannot start, like a kubelet's ErrImagePull.
func waitingStatus(pod *corev1.Pod, p *podProblem) corev1.PodStatus {
	st := scheduledStatus(pod)
	st.Phase = corev1.PodPending
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: p.reason, Message: p.message}}
	if p.init {
		st.InitContainerStatuses = nil
		for _, c := range pod.Spec.InitContainers {
			cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}
			if c.Name == p.container {
				cs.State = waiting
			}
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		}
		msg := fmt.Sprintf("containers with incomplete status: [%s]", p.container)
		setCondition(&st, corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized", msg)
		waiting = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	} else {
		initDone(pod, &st)
	}
	st.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, State: waiting}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	notReady(&st, pod, "ContainersNotReady")
	return st
}

// creatingStatus is a Pending pod whose sandbox is starting (ContainerCreating).
func creatingStatus(pod *corev1.Pod) corev1.PodStatus {
	st := scheduledStatus(pod)
	st.Phase = corev1.PodPending
	initDone(pod, &st)
	main := mainContainer(pod)
	st.ContainerStatuses = []corev1.ContainerStatus{{Name: main.Name, Image: main.Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	notReady(&st, pod, "ContainersNotReady")
	return st
}

// runningStatus is a Running pod with its pod IP, Ready once its readiness probe passed.
func (a *Agent) runningStatus(pod *corev1.Pod, run *podRun) corev1.PodStatus {
	a.mu.Lock()
	ready, startedAt := run.ready, run.startedAt
	a.mu.Unlock()
	st := scheduledStatus(pod)
	st.Phase = corev1.PodRunning
	st.PodIP = run.ip
	st.PodIPs = []corev1.PodIP{{IP: run.ip}}
	initDone(pod, &st)
	main := mainContainer(pod)
	started := true
	st.ContainerStatuses = []corev1.ContainerStatus{{
		Name:        main.Name,
		Image:       main.Image,
		ImageID:     "sandbox-testnode://" + run.template,
		ContainerID: "sandbox://" + run.sandboxID,
		State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: startedAt}},
		Ready:       ready,
		Started:     &started,
	}}
	setCondition(&st, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "")
	if ready {
		setCondition(&st, corev1.ContainersReady, corev1.ConditionTrue, "", "")
		setCondition(&st, corev1.PodReady, corev1.ConditionTrue, "", "")
	} else {
		notReady(&st, pod, "ContainersNotReady")
	}
	return st
}

// failedStatus is a Failed pod whose sandbox did not start or died.
func (a *Agent) failedStatus(pod *corev1.Pod, run *podRun) corev1.PodStatus {
	a.mu.Lock()
	reason, finishedAt, startedAt := run.deadReason, run.finishedAt, run.startedAt
	a.mu.Unlock()
	st := scheduledStatus(pod)
	st.Phase = corev1.PodFailed
	st.Message = reason
	initDone(pod, &st)
	main := mainContainer(pod)
	termReason, code := "Error", int32(137)
	if startedAt.IsZero() {
		termReason, code, startedAt = "StartError", 128, finishedAt
	}
	started := false
	st.ContainerStatuses = []corev1.ContainerStatus{{
		Name:        main.Name,
		Image:       main.Image,
		ImageID:     "sandbox-testnode://" + run.template,
		ContainerID: "sandbox://" + run.sandboxID,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: termReason, Message: reason, StartedAt: startedAt, FinishedAt: finishedAt,
		}},
		Started: &started,
	}}
	setCondition(&st, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "", "")
	notReady(&st, pod, "PodFailed")
	return st
}
