package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// ErrUnknownTemplate is wrapped by starts of a template the runtime has no pod template for.
var ErrUnknownTemplate = errors.New("unknown template")

// Templates returns the manager's view of the pod templates. Every one is available: whether its
// image can be pulled is the cluster's to say, at start.
func (r *Runtime) Templates() []sandbox.Template {
	out := make([]sandbox.Template, 0, len(r.cfg.Templates))
	for _, t := range r.cfg.Templates {
		out = append(out, sandbox.Template{
			Name:      t.Name,
			Available: true,
			CPUCount:  int(max(t.CPUMillis/1000, 1)),
			MemoryMB:  int(t.MemoryMB),
		})
	}
	return out
}

// Start creates the sandbox's Secret and pod and returns once the pod is ready (envd answers its
// readiness probe). A pod that fails or does not get ready in time is deleted.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (*sandbox.Instance, error) {
	tmpl, ok := r.templates[spec.Template]
	if !ok {
		return nil, fmt.Errorf("start sandbox %s: template %q: %w", spec.ID, spec.Template, ErrUnknownTemplate)
	}
	ps := podSpec{
		spec:             spec,
		tmpl:             tmpl,
		namespace:        r.ns,
		envdImage:        r.cfg.EnvdImage,
		runtimeClassName: r.cfg.RuntimeClassName,
		now:              time.Now(),
	}
	if pool := spec.Metadata[specMetaPool]; pool != "" {
		obj, exists, err := r.poolInformer.GetStore().GetByKey(r.ns + "/" + pool)
		if err != nil || !exists {
			return nil, fmt.Errorf("start warm sandbox %s: pool %q: %w", spec.ID, pool, sandbox.ErrNotFound)
		}
		u := obj.(*unstructured.Unstructured)
		ps.pool = &corev1.ObjectReference{Name: u.GetName()}
		ps.poolUID = string(u.GetUID())
	}

	secrets := r.client.CoreV1().Secrets(r.ns)
	if _, err := secrets.Create(ctx, buildSecret(r.ns, spec), metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("start sandbox %s: create token secret: %w", spec.ID, err)
	}
	pod, err := r.client.CoreV1().Pods(r.ns).Create(ctx, buildPod(ps), metav1.CreateOptions{})
	if err != nil {
		r.deleteSecret(spec.ID)
		return nil, fmt.Errorf("start sandbox %s: create pod: %w", spec.ID, err)
	}
	r.adoptSecret(ctx, pod)

	startCtx, cancel := context.WithTimeout(ctx, r.cfg.StartTimeout)
	defer cancel()
	if err := r.waitReady(startCtx, pod.Name, pod.UID); err != nil {
		r.stopQuietly(spec.ID, "start failed")
		return nil, fmt.Errorf("start sandbox %s: %w", spec.ID, err)
	}
	return &sandbox.Instance{Spec: spec, StartedAt: time.Now()}, nil
}

// adoptSecret makes the pod the owner of its token Secret, so that the cluster's garbage collector
// removes the Secret with the pod whoever deletes it. Best effort: the manager deletes it too.
func (r *Runtime) adoptSecret(ctx context.Context, pod *corev1.Pod) {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":%q,"uid":%q}]}}`, pod.Name, pod.UID)
	if _, err := r.client.CoreV1().Secrets(r.ns).Patch(ctx, pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		r.log.Warn("make the pod own its token secret", "pod", pod.Name, "err", err)
	}
}

// waitReady waits until the pod is Ready in the cache, or fails (failed pod, image that cannot be
// pulled, pod deleted).
func (r *Runtime) waitReady(ctx context.Context, name string, uid types.UID) error {
	err := r.waiters.until(ctx, name, func() (bool, error) {
		p, err := r.pods.Pods(r.ns).Get(name)
		if apierrors.IsNotFound(err) {
			return false, nil // not in the cache yet
		}
		if err != nil {
			return false, err
		}
		if p.UID != uid || p.DeletionTimestamp != nil {
			return false, errors.New("pod was deleted while starting")
		}
		return podReady(p)
	})
	if errors.Is(err, context.DeadlineExceeded) {
		msg := "pod did not get ready in time"
		if p, gerr := r.pods.Pods(r.ns).Get(name); gerr == nil {
			msg += " (" + podProblem(p) + ")"
		}
		return errors.New(msg)
	}
	return err
}

// podReady reports a pod ready, or an error when it can no longer become ready.
func podReady(p *corev1.Pod) (bool, error) {
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("pod %s: %s", strings.ToLower(string(p.Status.Phase)), podProblem(p))
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := st.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "InvalidImageName" || w.Reason == "CreateContainerConfigError") {
			return false, fmt.Errorf("container %s: %s: %s", st.Name, w.Reason, w.Message)
		}
	}
	if p.Status.PodIP == "" {
		return false, nil
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, nil
		}
	}
	return false, nil
}

// podProblem describes why a pod is not running, for error messages.
func podProblem(p *corev1.Pod) string {
	var parts []string
	if p.Status.Phase != "" {
		parts = append(parts, "phase "+string(p.Status.Phase))
	}
	if p.Spec.NodeName == "" {
		parts = append(parts, "not scheduled")
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			parts = append(parts, string(c.Type)+": "+c.Message)
		}
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		switch {
		case st.State.Waiting != nil && st.State.Waiting.Reason != "":
			parts = append(parts, st.Name+" waiting: "+st.State.Waiting.Reason+" "+st.State.Waiting.Message)
		case st.State.Terminated != nil && st.State.Terminated.ExitCode != 0:
			parts = append(parts, fmt.Sprintf("%s exited %d: %s %s", st.Name, st.State.Terminated.ExitCode, st.State.Terminated.Reason, st.State.Terminated.Message))
		}
	}
	if len(parts) == 0 {
		return "no status yet"
	}
	return strings.Join(parts, "; ")
}

// Stop deletes the sandbox's pod and Secret. Unknown sandboxes are not an error.
func (r *Runtime) Stop(ctx context.Context, id string) error {
	err := r.client.CoreV1().Pods(r.ns).Delete(ctx, podName(id), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stop sandbox %s: delete pod: %w", id, err)
	}
	err = r.client.CoreV1().Secrets(r.ns).Delete(ctx, podName(id), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stop sandbox %s: delete token secret: %w", id, err)
	}
	return nil
}

// stopQuietly stops a sandbox in the background context (the caller's may be done), logging failures.
func (r *Runtime) stopQuietly(id, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Stop(ctx, id); err != nil {
		r.log.Error("stop sandbox", "id", id, "why", why, "err", err)
	}
}

func (r *Runtime) deleteSecret(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.client.CoreV1().Secrets(r.ns).Delete(ctx, podName(id), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		r.log.Error("delete token secret", "id", id, "err", err)
	}
}

// List returns the sandboxes whose pods exist and are not being deleted, from the cache.
func (r *Runtime) List(_ context.Context) ([]sandbox.Instance, error) {
	pods, err := r.pods.Pods(r.ns).List(labelsEverything())
	if err != nil {
		return nil, fmt.Errorf("list sandbox pods: %w", err)
	}
	out := make([]sandbox.Instance, 0, len(pods))
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Labels[LabelID] == "" {
			continue
		}
		rec := r.recordOf(p)
		md := map[string]string{}
		for k, v := range rec.Metadata {
			md[k] = v
		}
		if rec.Pool != "" {
			md[specMetaPool] = rec.Pool
		}
		out = append(out, sandbox.Instance{
			Spec: sandbox.Spec{
				ID: rec.ID, Template: rec.Template, AccessToken: rec.AccessToken, Metadata: md, EndAt: rec.EndAt,
			},
			StartedAt: p.CreationTimestamp.Time,
		})
	}
	return out, nil
}

// DialEnvd connects to envd at the pod's IP (from the cache).
func (r *Runtime) DialEnvd(ctx context.Context, id string) (net.Conn, error) {
	p, err := r.pod(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("dial envd of %s: %w", id, err)
	}
	if p == nil || p.DeletionTimestamp != nil {
		return nil, fmt.Errorf("dial envd of %s: %w", id, sandbox.ErrNotFound)
	}
	if p.Status.PodIP == "" {
		return nil, fmt.Errorf("dial envd of %s: pod has no IP (%s)", id, podProblem(p))
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(p.Status.PodIP, strconv.Itoa(sandbox.EnvdPort)))
	if err != nil {
		return nil, fmt.Errorf("dial envd of %s: %w", id, err)
	}
	return conn, nil
}
