package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Store is the manager's records kept in the Kubernetes API (sandbox.Store): a sandbox's record is
// its pod's labels and annotations, a pool is a SandboxPool.
type Store struct{ r *Runtime }

var (
	_ sandbox.Store          = (*Store)(nil)
	_ sandbox.ChangeNotifier = (*Store)(nil)
	_ sandbox.Runtime        = (*Runtime)(nil)
)

// Store returns the records view of the runtime.
func (r *Runtime) Store() *Store { return &Store{r: r} }

// OnChange registers f to be called when records change (sandbox.ChangeNotifier).
func (s *Store) OnChange(f func()) { s.r.OnChange(f) }

func labelsEverything() labels.Selector { return labels.Everything() }

// isRecord reports whether a pod is a record: a sandbox pod past its start and not being deleted.
func isRecord(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Labels[LabelID] == "" {
		return false
	}
	switch sandbox.Phase(p.Labels[LabelPhase]) {
	case sandbox.PhaseWarm, sandbox.PhaseClaiming, sandbox.PhaseRunning:
		return true
	}
	return false
}

// recordOf reads the manager's record from a pod; the token comes from the cached Secret.
func (r *Runtime) recordOf(p *corev1.Pod) sandbox.Record {
	rec := r.recordOfWithoutToken(p)
	if sec, err := r.secrets.Secrets(r.ns).Get(p.Name); err == nil {
		rec.AccessToken = string(sec.Data[TokenKey])
	}
	return rec
}

// recordOfWithoutToken reads the record from the pod alone.
func (r *Runtime) recordOfWithoutToken(p *corev1.Pod) sandbox.Record {
	rec := sandbox.Record{
		ID:        p.Labels[LabelID],
		Template:  p.Labels[LabelTemplate],
		Pool:      p.Labels[LabelPool],
		OwnerKey:  p.Labels[LabelOwner],
		Phase:     sandbox.Phase(p.Labels[LabelPhase]),
		Alias:     p.Annotations[AnnotationAlias],
		StartedAt: parseTime(p.Annotations[AnnotationStartedAt]),
		EndAt:     parseTime(p.Annotations[AnnotationEndAt]),
		Limits:    podLimits(p),
		Inbound: sandbox.Inbound{
			Private:         p.Annotations[AnnotationPrivate] == "true",
			MaskRequestHost: p.Annotations[AnnotationMaskRequestHost],
		},
	}
	if rec.StartedAt.IsZero() {
		rec.StartedAt = p.CreationTimestamp.Time
	}
	if raw := p.Annotations[AnnotationMetadata]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &rec.Metadata)
	}
	return rec
}

// withToken fills in a record's token from the API when the Secret cache has not seen it yet.
func (r *Runtime) withToken(ctx context.Context, rec sandbox.Record) (sandbox.Record, error) {
	if rec.AccessToken != "" {
		return rec, nil
	}
	sec, err := r.client.CoreV1().Secrets(r.ns).Get(ctx, podName(rec.ID), metav1.GetOptions{})
	if err != nil {
		return rec, fmt.Errorf("token secret of %s: %w", rec.ID, err)
	}
	rec.AccessToken = string(sec.Data[TokenKey])
	return rec, nil
}

// applyRecord writes rec into a copy of p's labels and annotations.
func applyRecord(p *corev1.Pod, rec sandbox.Record, now time.Time) *corev1.Pod {
	out := p.DeepCopy()
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	setOrDelete := func(m map[string]string, k, v string) {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if out.Labels[LabelPhase] != string(rec.Phase) {
		out.Annotations[AnnotationPhaseSince] = formatTime(now)
	}
	out.Labels[LabelPhase] = string(rec.Phase)
	setOrDelete(out.Labels, LabelPool, rec.Pool)
	owner := rec.OwnerKey
	if !validLabelValue(owner) {
		owner = ""
	}
	setOrDelete(out.Labels, LabelOwner, owner)
	setOrDelete(out.Annotations, AnnotationAlias, rec.Alias)
	md := ""
	if len(rec.Metadata) > 0 {
		raw, _ := json.Marshal(rec.Metadata)
		md = string(raw)
	}
	setOrDelete(out.Annotations, AnnotationMetadata, md)
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return formatTime(t)
	}
	setOrDelete(out.Annotations, AnnotationStartedAt, ts(rec.StartedAt))
	setOrDelete(out.Annotations, AnnotationEndAt, ts(rec.EndAt))
	private := ""
	if rec.Inbound.Private {
		private = "true"
	}
	setOrDelete(out.Annotations, AnnotationPrivate, private)
	setOrDelete(out.Annotations, AnnotationMaskRequestHost, rec.Inbound.MaskRequestHost)
	if rec.Phase != sandbox.PhaseWarm {
		// A claimed pod is no longer its pool's: deleting the pool must not take it along.
		out.OwnerReferences = slices.DeleteFunc(out.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == poolKind })
	}
	return out
}

// Sandbox returns one record (sandbox.Store).
func (s *Store) Sandbox(ctx context.Context, id string) (sandbox.Record, error) {
	p, err := s.r.pod(ctx, id)
	if err != nil {
		return sandbox.Record{}, err
	}
	if p == nil || !isRecord(p) {
		return sandbox.Record{}, fmt.Errorf("sandbox %q: %w", id, sandbox.ErrNotFound)
	}
	return s.r.withToken(ctx, s.r.recordOf(p))
}

// Sandboxes returns every record, from the cache (sandbox.Store).
func (s *Store) Sandboxes(_ context.Context) ([]sandbox.Record, error) {
	pods, err := s.r.pods.Pods(s.r.ns).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list sandbox pods: %w", err)
	}
	out := make([]sandbox.Record, 0, len(pods))
	for _, p := range pods {
		if isRecord(p) {
			out = append(out, s.r.recordOf(p))
		}
	}
	return out, nil
}

// Add records a started sandbox: its pod leaves phase starting (sandbox.Store).
func (s *Store) Add(ctx context.Context, rec sandbox.Record) error {
	_, err := s.r.updatePod(ctx, rec.ID, true, func(cur *sandbox.Record) error {
		token := cur.AccessToken
		*cur = rec.Clone()
		if cur.AccessToken == "" {
			cur.AccessToken = token
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record sandbox %s: %w", rec.ID, err)
	}
	return nil
}

// Update changes a record with a resourceVersion-guarded update (sandbox.Store).
func (s *Store) Update(ctx context.Context, id string, change func(*sandbox.Record) error) (sandbox.Record, error) {
	return s.r.updatePod(ctx, id, false, change)
}

// maxConflicts bounds the retries of one guarded write; each retry reads the latest version, so
// only a pod changing that often (it does not) would exhaust them.
const maxConflicts = 50

// updatePod applies change to the latest version of a sandbox's record and writes it back with the
// version it read (optimistic concurrency): on a conflict it reads the pod again and re-applies
// change, which sees what the other writer did (a claimed warm pod is no longer warm). starting
// allows pods still in phase starting (Add).
func (r *Runtime) updatePod(ctx context.Context, id string, starting bool, change func(*sandbox.Record) error) (sandbox.Record, error) {
	pods := r.client.CoreV1().Pods(r.ns)
	p, err := r.pod(ctx, id)
	if err != nil {
		return sandbox.Record{}, err
	}
	for attempt := 0; ; attempt++ {
		if p == nil || p.DeletionTimestamp != nil || !(isRecord(p) || starting && p.Labels[LabelPhase] == PhaseStarting) {
			return sandbox.Record{}, fmt.Errorf("sandbox %q: %w", id, sandbox.ErrNotFound)
		}
		rec, err := r.withToken(ctx, r.recordOf(p))
		if err != nil {
			return sandbox.Record{}, err
		}
		if err := change(&rec); err != nil {
			return sandbox.Record{}, err
		}
		updated, err := pods.Update(ctx, applyRecord(p, rec, time.Now()), metav1.UpdateOptions{})
		switch {
		case err == nil:
			r.waiters.waitCached(ctx, updated.Name, updated.ResourceVersion, func() (metav1.Object, bool) {
				c, err := r.pods.Pods(r.ns).Get(updated.Name)
				return c, err == nil
			})
			return rec, nil
		case apierrors.IsConflict(err) && attempt < maxConflicts:
			// Someone else wrote first: read what they wrote and decide again.
			p, err = pods.Get(ctx, podName(id), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				p = nil
			} else if err != nil {
				return sandbox.Record{}, fmt.Errorf("update sandbox %s: %w", id, err)
			}
		case apierrors.IsNotFound(err):
			return sandbox.Record{}, fmt.Errorf("sandbox %q: %w", id, sandbox.ErrNotFound)
		default:
			return sandbox.Record{}, fmt.Errorf("update sandbox %s: %w", id, err)
		}
	}
}

// Remove deletes a record's pod with a precondition on the version it decided on, so that of two
// replicas removing one sandbox (a kill racing the reaper, two reapers) exactly one succeeds
// (sandbox.Store). The token Secret goes with Runtime.Stop.
func (s *Store) Remove(ctx context.Context, id string, cond func(sandbox.Record) error) (sandbox.Record, error) {
	r := s.r
	pods := r.client.CoreV1().Pods(r.ns)
	p, err := r.pod(ctx, id)
	if err != nil {
		return sandbox.Record{}, err
	}
	for attempt := 0; ; attempt++ {
		if p == nil || !isRecord(p) {
			return sandbox.Record{}, fmt.Errorf("sandbox %q: %w", id, sandbox.ErrNotFound)
		}
		rec := r.recordOf(p)
		if cond != nil {
			if err := cond(rec); err != nil {
				return sandbox.Record{}, err
			}
		}
		// A successful delete either removes the pod or sets its deletionTimestamp: both change the
		// version, so a second delete with the same precondition fails.
		err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID, ResourceVersion: &p.ResourceVersion}})
		switch {
		case err == nil:
			r.waiters.waitGone(ctx, p.Name, func() bool {
				c, err := r.pods.Pods(r.ns).Get(p.Name)
				return err == nil && c.DeletionTimestamp == nil
			})
			return rec, nil
		case apierrors.IsConflict(err) && attempt < maxConflicts:
			p, err = pods.Get(ctx, podName(id), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				p = nil
			} else if err != nil {
				return sandbox.Record{}, fmt.Errorf("remove sandbox %s: %w", id, err)
			}
		case apierrors.IsNotFound(err):
			return sandbox.Record{}, fmt.Errorf("sandbox %q: %w", id, sandbox.ErrNotFound)
		default:
			return sandbox.Record{}, fmt.Errorf("remove sandbox %s: %w", id, err)
		}
	}
}

// Pools returns every SandboxPool, from the cache (sandbox.Store).
func (s *Store) Pools(_ context.Context) ([]sandbox.Pool, error) {
	objs := s.r.poolInformer.GetStore().List()
	out := make([]sandbox.Pool, 0, len(objs))
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok || u.GetDeletionTimestamp() != nil {
			continue
		}
		out = append(out, poolFromObject(u))
	}
	slices.SortFunc(out, func(a, b sandbox.Pool) int { return compareStrings(a.Name, b.Name) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Runtime) cachedPool(name string) (*unstructured.Unstructured, bool) {
	obj, ok, err := r.poolInformer.GetStore().GetByKey(r.ns + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	u, ok := obj.(*unstructured.Unstructured)
	return u, ok && u.GetDeletionTimestamp() == nil
}

// Pool returns one SandboxPool (sandbox.Store): from the cache, or from the API when the cache has
// not seen it yet, so that a pool written through another replica a moment ago is found (a client
// behind a load balancer creates on one replica and polls another).
func (s *Store) Pool(ctx context.Context, name string) (sandbox.Pool, error) {
	if u, ok := s.r.cachedPool(name); ok {
		return poolFromObject(u), nil
	}
	u, err := s.r.dyn.Resource(poolGVR).Namespace(s.r.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && u.GetDeletionTimestamp() != nil) {
		return sandbox.Pool{}, fmt.Errorf("pool %q: %w", name, sandbox.ErrNotFound)
	}
	if err != nil {
		return sandbox.Pool{}, fmt.Errorf("get pool %s: %w", name, err)
	}
	return poolFromObject(u), nil
}

// PutPool creates or updates a SandboxPool's spec (sandbox.Store).
func (s *Store) PutPool(ctx context.Context, p sandbox.Pool) error {
	r := s.r
	pools := r.dyn.Resource(poolGVR).Namespace(r.ns)
	cur, ok := r.cachedPool(p.Name)
	for attempt := 0; ; attempt++ {
		var written *unstructured.Unstructured
		var err error
		if !ok {
			obj, berr := newPoolObject(r.ns, p)
			if berr != nil {
				return fmt.Errorf("put pool %s: %w", p.Name, berr)
			}
			written, err = pools.Create(ctx, obj, metav1.CreateOptions{})
		} else {
			obj := cur.DeepCopy()
			if serr := setPoolSpec(obj, p); serr != nil {
				return fmt.Errorf("put pool %s: %w", p.Name, serr)
			}
			written, err = pools.Update(ctx, obj, metav1.UpdateOptions{})
		}
		if err == nil {
			r.waiters.waitCached(ctx, p.Name, written.GetResourceVersion(), func() (metav1.Object, bool) {
				u, ok := r.cachedPool(p.Name)
				return u, ok
			})
			return nil
		}
		if attempt >= maxConflicts || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)) {
			return fmt.Errorf("put pool %s: %w", p.Name, err)
		}
		// Lost a race with another writer: start again from the latest version.
		cur, err = pools.Get(ctx, p.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			ok = false
		case err != nil:
			return fmt.Errorf("put pool %s: %w", p.Name, err)
		default:
			ok = true
		}
	}
}

// DeletePool deletes a SandboxPool (sandbox.Store). Its warm pods are removed by the leader's
// trimming (and by the garbage collector, as their owner is gone); claimed pods stay.
func (s *Store) DeletePool(ctx context.Context, name string) error {
	r := s.r
	err := r.dyn.Resource(poolGVR).Namespace(r.ns).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("pool %q: %w", name, sandbox.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete pool %s: %w", name, err)
	}
	r.waiters.waitGone(ctx, name, func() bool {
		_, ok := r.cachedPool(name)
		return ok
	})
	return nil
}
