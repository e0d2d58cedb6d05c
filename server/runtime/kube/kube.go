// Package kube runs sandboxes as Kubernetes pods and keeps every piece of the manager's state in the
// Kubernetes API, so that any number of manager replicas serve one domain and a restarted replica
// loses nothing.
//
// What lives where (all in one namespace, Config.Namespace):
//
//   - A sandbox is a pod named sandbox-<id>, made from its template (image, ports, resources,
//     readiness) with envd injected: an init container (envd-install, Config.EnvdImage) copies the
//     envd binary into an emptyDir mounted at /opt/sandbox/bin, and the main container (sandbox)
//     runs it beside the image's own program, so any image can be a sandbox.
//   - Labels carry what is selected on: sandbox id, template, pool, phase (starting, warm, claiming,
//     running) and the owner key's id. Annotations carry the rest of the manager's record: alias,
//     user metadata (JSON), startedAt, endAt, the network options (private, maskRequestHost) and the
//     SHA-256 of the envd token.
//   - The envd access token itself is in a per-sandbox Secret (sandbox-<id>, key envd-access-token)
//     that the pod reads through a secretKeyRef: reading pods (kubectl get pods -o yaml, a dashboard,
//     a log shipper) never reveals a token, only a hash of it. The Secret is owned by its pod, so the
//     cluster's garbage collector removes it with the pod; the manager deletes it too.
//   - A warm pool is a SandboxPool object (group sandbox.sandboxstack.io); its warm pods are owned
//     by it (deleting the pool lets the garbage collector remove them), claimed pods are released
//     from it (they stay until killed).
//   - API keys (hashed) are entries of the Secret sandbox-manager-api-keys, one data key per API key,
//     so that replicas add and remove keys with merge patches that never conflict.
//
// Reads come from informer caches; writes are updates guarded by resourceVersion (claims, timeouts,
// registration) or deletions with a resourceVersion precondition (kill, expiry), so of two replicas
// racing for one pod exactly one wins. A writer waits until its own informer has seen its write,
// so that a replica reads its own writes. The pool refill, the reaper and the clean-up of debris are
// run by one replica, the holder of a coordination.k8s.io Lease (see Leader); the guarded deletion
// keeps expiry exactly-once even while two replicas briefly both believe they lead.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Labels and annotations the manager puts on its objects.
const (
	group = "sandbox.sandboxstack.io"

	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "sandbox-manager"
	LabelID        = group + "/id"
	LabelTemplate  = group + "/template"
	LabelPool      = group + "/pool"
	LabelPhase     = group + "/phase"
	LabelOwner     = group + "/owner"

	AnnotationAlias      = group + "/alias"
	AnnotationMetadata   = group + "/metadata"
	AnnotationStartedAt  = group + "/started-at"
	AnnotationEndAt      = group + "/end-at"
	AnnotationPhaseSince = group + "/phase-since"
	AnnotationTokenHash  = group + "/envd-token-sha256"
	// AnnotationPrivate ("true") marks a sandbox created with network.allowPublicTraffic=false. Its
	// traffic token is derived from the envd token in the sandbox's Secret (sandbox.TrafficToken), so
	// the pod carries no token of either kind.
	AnnotationPrivate         = group + "/private"
	AnnotationMaskRequestHost = group + "/mask-request-host"

	// PhaseStarting is the phase label of a pod whose start has not finished (not yet a record).
	PhaseStarting = "starting"

	// TokenKey is the data key of the envd token in a sandbox's Secret.
	TokenKey = "envd-access-token"
)

// Config configures a Runtime.
type Config struct {
	// REST is the API server connection (a kubeconfig's, or rest.InClusterConfig()).
	REST *rest.Config
	// Namespace holds the sandboxes' pods and Secrets, the SandboxPools, the leader Lease and the API
	// key Secret.
	Namespace string
	// Templates are the pod templates sandboxes are made from.
	Templates []Template
	// EnvdImage is the image of the envd-install init container.
	EnvdImage string
	// Identity names this replica in the leader Lease (e.g. the pod name).
	Identity string
	// RuntimeClassName, when set, is every sandbox pod's runtimeClassName (gVisor, Kata: stronger
	// isolation than runc for untrusted code).
	RuntimeClassName string
	// StartTimeout bounds a pod's start (scheduling, image pull, readiness); 0 means 5 minutes.
	StartTimeout time.Duration
	// Lease timings; zero values take the defaults of Leader.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Logger                                    *slog.Logger
}

// Runtime is the Kubernetes runtime: sandbox.Runtime over pods, and (Store) the manager's records.
type Runtime struct {
	cfg       Config
	ns        string
	log       *slog.Logger
	client    kubernetes.Interface
	dyn       dynamic.Interface
	templates map[string]Template

	podInformer    cache.SharedIndexInformer
	secretInformer cache.SharedIndexInformer
	poolInformer   cache.SharedIndexInformer
	pods           listerscorev1.PodLister
	secrets        listerscorev1.SecretLister

	waiters *waiters
	leader  *Leader

	mu       sync.Mutex
	onChange []func()

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// podName is the name of a sandbox's pod (and of its token Secret).
func podName(id string) string { return "sandbox-" + id }

// New connects to the API server, starts the informers and the leader election, and returns once
// the caches are synced.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.REST == nil {
		return nil, errors.New("kube runtime: REST config is required")
	}
	if cfg.Namespace == "" {
		return nil, errors.New("kube runtime: namespace is required")
	}
	if cfg.EnvdImage == "" {
		return nil, errors.New("kube runtime: envd image is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 5 * time.Minute
	}
	restCfg := rest.CopyConfig(cfg.REST)
	// Pool refills and 200 concurrent creates: client-go's default of 5 QPS would queue them.
	if restCfg.QPS == 0 {
		restCfg.QPS, restCfg.Burst = 500, 1000
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kube runtime: client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kube runtime: dynamic client: %w", err)
	}
	r := &Runtime{
		cfg:       cfg,
		ns:        cfg.Namespace,
		log:       cfg.Logger,
		client:    client,
		dyn:       dyn,
		templates: map[string]Template{},
		waiters:   newWaiters(),
	}
	for _, t := range cfg.Templates {
		r.templates[t.Name] = t
	}
	if err := r.checkCRD(ctx); err != nil {
		return nil, err
	}

	managed := labels.Set{LabelManagedBy: ManagedBy}.AsSelector().String()
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = managed }))
	r.podInformer = factory.Core().V1().Pods().Informer()
	r.secretInformer = factory.Core().V1().Secrets().Informer()
	r.pods = factory.Core().V1().Pods().Lister()
	r.secrets = factory.Core().V1().Secrets().Lister()
	dynFactory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, cfg.Namespace, nil)
	r.poolInformer = dynFactory.ForResource(poolGVR).Informer()
	for _, inf := range []cache.SharedIndexInformer{r.podInformer, r.secretInformer, r.poolInformer} {
		if _, err := inf.AddEventHandler(r.eventHandler()); err != nil {
			return nil, fmt.Errorf("kube runtime: informer handler: %w", err)
		}
	}

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	factory.Start(runCtx.Done())
	dynFactory.Start(runCtx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), r.podInformer.HasSynced, r.secretInformer.HasSynced, r.poolInformer.HasSynced) {
		cancel()
		return nil, fmt.Errorf("kube runtime: informer caches of namespace %s did not sync (can this manager list pods, secrets and sandboxpools there?)", cfg.Namespace)
	}

	r.leader = newLeader(r, cfg)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.leader.run(runCtx)
	}()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.housekeeping(runCtx)
	}()
	return r, nil
}

// Close stops the informers and gives up the leadership. Sandboxes keep running.
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// IsLeader reports whether this replica runs the cluster-wide loops (refill, reaper, clean-up).
func (r *Runtime) IsLeader() bool { return r.leader.IsLeader() }

// OnChange registers f to be called when pods, Secrets or pools change (another replica claimed,
// someone edited a pool with kubectl); see sandbox.ChangeNotifier.
func (r *Runtime) OnChange(f func()) {
	r.mu.Lock()
	r.onChange = append(r.onChange, f)
	r.mu.Unlock()
}

func (r *Runtime) changed(obj any) {
	if m, err := metaOf(obj); err == nil {
		r.waiters.notify(m.GetName())
	}
	r.mu.Lock()
	fs := r.onChange
	r.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

func (r *Runtime) eventHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.changed(obj) },
		UpdateFunc: func(_, obj any) { r.changed(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			r.changed(obj)
		},
	}
}

// podFromCache returns the cached pod of a sandbox, or fetches it when the cache has not seen it yet
// (another replica created it a moment ago). nil when it does not exist.
func (r *Runtime) pod(ctx context.Context, id string) (*corev1.Pod, error) {
	p, err := r.pods.Pods(r.ns).Get(podName(id))
	if err == nil {
		return p, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	p, err = r.client.CoreV1().Pods(r.ns).Get(ctx, podName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get pod %s: %w", podName(id), err)
	}
	if p.Labels[LabelManagedBy] != ManagedBy {
		return nil, nil
	}
	return p, nil
}
