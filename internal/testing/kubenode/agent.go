// Package kubenode is a test node agent: it stands in for a kubelet in a cluster made by
// internal/testing/kubeharness (which has none). It registers a Node, binds pending pods to it and runs
// each sandbox pod with the local runtime (server/runtime/local, the built-in templates) at a pod IP of
// its own in 127.0.0.0/8, where podIP:49983 reaches the sandbox's envd over TCP. So the Kubernetes
// runtime reaches sandbox pods exactly as in a cluster, and what runs in them is real.
//
// What a pod may be: its main container (named "sandbox", or the first) has an image
// <anything>/sandbox-<template>:<tag> naming a local template; its init containers have images
// <anything>/envd:<tag> (reported completed at once: the local runtime injects envd itself). The main
// container's command is not run (the local template defines what runs) except that the file its
// `--access-token-file` names is read from the pod's Secret volume mounted there, as a kubelet would
// project it, and becomes the sandbox's envd token (handed to envd by the local runtime); the
// container's variables (values, secretKeyRefs, fieldRefs) become the sandbox's environment.
//
// What it does like a kubelet: Node + Lease heartbeat; binding of pods without a node (schedulerName
// default-scheduler, nodeSelector matching the node's labels; affinity, taints and resources are not
// considered); pod status (Pending/ContainerCreating, Running + Ready with podIP, or the waiting reason
// ErrImagePull / CreateContainerConfigError); the httpGet or tcpSocket readiness probe, every second
// from the start until it first passes; graceful deletion (stop the sandbox, then delete the pod with grace period 0); adoption after a
// restart of the sandboxes whose pods still exist.
//
// What differs: a sandbox whose processes die makes its pod Failed whatever the restartPolicy (no
// container restarts), readiness is not probed again once it passed, and volumes are ignored.
//
// Program pods (Config.Programs, programs.go) are the exception: their image stands for a host binary,
// which runs for real with the pod's volumes, service account token, environment, probes and restarts.
package kubenode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/sandboxstack/terraform-provider-sandbox/server/builtin"
	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// DefaultNodeName is the Node the agent registers unless told otherwise.
const DefaultNodeName = "sandbox-testnode"

// Config configures an Agent.
type Config struct {
	// RESTConfig reaches the API server; the agent needs to bind, update status of and delete pods,
	// read Secrets and ConfigMaps, write its Node and Lease (the harness's admin config does).
	RESTConfig *rest.Config
	// NodeName is the Node to register; "" means DefaultNodeName.
	NodeName string
	// Namespace limits the pods the agent watches; "" means all namespaces.
	Namespace string
	// StateDir is the local runtime's state directory; a later agent over the same directory adopts
	// the sandboxes still running there.
	StateDir string
	// EnvdBin is the envd binary the local runtime starts in every sandbox.
	EnvdBin string
	// BinDir holds the templates' own binaries (code-interpreter); "" means EnvdBin's directory.
	BinDir string
	// Templates are the local templates beside base; nil means builtin.LocalTemplates(BinDir).
	Templates []local.Template
	// Programs maps image names to host binaries: a pod whose main container's image has that name
	// (the last path element without tag or digest: "sandbox-manager" for
	// ghcr.io/sandboxstack/sandbox-manager:1.0) runs the binary as its container, with the environment a
	// kubelet gives a container (see programs.go). Needs bubblewrap.
	Programs map[string]string
	// Workers is how many pods are handled at once; 0 means 4.
	Workers int
	// Logger receives the agent's and the local runtime's logs; nil discards them.
	Logger *slog.Logger
}

// Agent is a running test node.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	client kubernetes.Interface
	rt     *local.Runtime
	ips    *ipAllocator

	factory informers.SharedInformerFactory
	pods    corelisters.PodLister
	queue   workqueue.TypedRateLimitingInterface[string]
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	bwrap string // bubblewrap, for program pods

	mu    sync.Mutex
	runs  map[string]*podRun  // by namespace/name
	progs map[string]*progRun // program pods, by namespace/name

	stopMu  sync.Mutex
	stopped bool
	stopErr error
}

// Start registers the node, starts the local runtime over cfg.StateDir (adopting what runs there),
// waits for the pod informer, reconciles the adopted sandboxes with the pods that still exist and
// starts handling pods. ctx bounds the start; Close or Shutdown stops the agent.
func Start(ctx context.Context, cfg Config) (_ *Agent, err error) {
	if cfg.RESTConfig == nil {
		return nil, errors.New("kubenode: RESTConfig is required")
	}
	if cfg.StateDir == "" || cfg.EnvdBin == "" {
		return nil, errors.New("kubenode: StateDir and EnvdBin are required")
	}
	if cfg.NodeName == "" {
		cfg.NodeName = DefaultNodeName
	}
	if cfg.BinDir == "" {
		cfg.BinDir = filepath.Dir(cfg.EnvdBin)
	}
	if cfg.Templates == nil {
		cfg.Templates = builtin.LocalTemplates(cfg.BinDir)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	restCfg := rest.CopyConfig(cfg.RESTConfig)
	restCfg.UserAgent = "sandbox-testnode/" + cfg.NodeName
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubenode: client: %w", err)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, client: client, ips: newIPAllocator(), runs: map[string]*podRun{},
		progs: map[string]*progRun{}}
	if len(cfg.Programs) > 0 {
		if a.bwrap, err = exec.LookPath("bwrap"); err != nil {
			return nil, fmt.Errorf("kubenode: program pods need bubblewrap (apt-get install bubblewrap): %w", err)
		}
	}

	if err := a.register(ctx); err != nil {
		return nil, fmt.Errorf("kubenode: %w", err)
	}
	a.rt, err = local.New(local.Config{
		StateDir:  cfg.StateDir,
		EnvdBin:   cfg.EnvdBin,
		Templates: cfg.Templates,
		Logger:    cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("kubenode: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	a.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 10*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "kubenode-pods"})
	a.factory = informers.NewSharedInformerFactoryWithOptions(client, 30*time.Second, informers.WithNamespace(cfg.Namespace))
	podInformer := a.factory.Core().V1().Pods()
	a.pods = podInformer.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			a.queue.Add(key)
		}
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("kubenode: pod informer: %w", err)
	}
	a.factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		return nil, fmt.Errorf("kubenode: pod informer did not sync: %w", ctx.Err())
	}
	if err := a.adopt(ctx); err != nil {
		return nil, fmt.Errorf("kubenode: %w", err)
	}

	a.wg.Add(2 + cfg.Workers)
	go func() { defer a.wg.Done(); a.heartbeat(runCtx) }()
	go func() { defer a.wg.Done(); a.watchSandboxes(runCtx) }()
	for range cfg.Workers {
		go func() {
			defer a.wg.Done()
			for a.processNext(runCtx) {
			}
		}()
	}
	a.log.Info("kubenode: node ready", "node", cfg.NodeName, "state_dir", cfg.StateDir)
	return a, nil
}

// NodeName is the Node this agent runs.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Sandboxes lists the local runtime's running sandboxes (one per running pod).
func (a *Agent) Sandboxes(ctx context.Context) ([]sandbox.Instance, error) {
	return a.rt.List(ctx)
}

// PodIP is the IP of the pod namespace/name as this agent runs it ("" if it does not).
func (a *Agent) PodIP(namespace, name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.runs[namespace+"/"+name]; r != nil {
		return r.ip
	}
	return ""
}

// Close stops the agent: no more pods are handled and pod IPs stop listening, but sandboxes keep
// running, and a new agent over the same StateDir adopts them (a kubelet restart).
func (a *Agent) Close() error { return a.stop(context.Background(), false) }

// Shutdown stops every sandbox of the node, then closes the agent (the node is going away; its pods
// keep their last status). After Close it does nothing: the sandboxes are left to the next agent.
func (a *Agent) Shutdown(ctx context.Context) error { return a.stop(ctx, true) }

func (a *Agent) stop(ctx context.Context, stopSandboxes bool) error {
	a.stopMu.Lock()
	defer a.stopMu.Unlock()
	if a.stopped {
		return a.stopErr
	}
	a.stopped = true
	if a.cancel != nil {
		a.cancel()
	}
	if a.queue != nil {
		a.queue.ShutDown()
	}
	a.wg.Wait()
	if a.factory != nil {
		a.factory.Shutdown()
	}
	a.mu.Lock()
	runs := a.runs
	a.runs = map[string]*podRun{}
	var progs []string
	for key := range a.progs {
		progs = append(progs, key)
	}
	a.mu.Unlock()
	for _, key := range progs { // program processes do not outlive the agent: they are its children
		a.stopProgram(key, "", stopGraceMax)
	}
	for _, r := range runs {
		r.closeNetwork(a.ips)
	}
	var errs []error
	if a.rt != nil {
		if stopSandboxes {
			list, err := a.rt.List(ctx)
			if err != nil {
				errs = append(errs, err)
			}
			for _, inst := range list {
				if err := a.rt.Stop(ctx, inst.Spec.ID); err != nil {
					errs = append(errs, err)
				}
			}
		}
		errs = append(errs, a.rt.Close())
	}
	a.stopErr = errors.Join(errs...)
	return a.stopErr
}

// processNext handles one queued pod key; false once the queue shuts down.
func (a *Agent) processNext(ctx context.Context) bool {
	key, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(key)
	retryAfter, err := a.reconcile(ctx, key)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("kubenode: pod", "pod", key, "err", err)
		a.queue.AddRateLimited(key)
	case retryAfter > 0:
		a.queue.Forget(key)
		a.queue.AddAfter(key, retryAfter)
	default:
		a.queue.Forget(key)
	}
	return true
}

// watchSandboxes notices sandboxes whose processes died (the local runtime's List drops and cleans
// them up) and requeues their pods, which then fail.
func (a *Agent) watchSandboxes(ctx context.Context) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		// Only runs that were running before the List can be missing from it: one whose start
		// finishes while List runs (which takes seconds with hundreds of sandboxes) is not dead.
		a.mu.Lock()
		before := map[string]*podRun{}
		for key, r := range a.runs {
			if r.running() {
				before[key] = r
			}
		}
		a.mu.Unlock()
		list, err := a.rt.List(ctx)
		if err != nil {
			a.log.Warn("kubenode: list sandboxes", "err", err)
			return
		}
		alive := map[string]bool{}
		for _, inst := range list {
			alive[inst.Spec.ID] = true
		}
		a.mu.Lock()
		var dead []string
		for key, r := range before {
			if a.runs[key] == r && r.running() && !alive[r.sandboxID] {
				r.markDead("the sandbox's processes exited")
				dead = append(dead, key)
			}
		}
		a.mu.Unlock()
		for _, key := range dead {
			a.queue.Add(key)
		}
	}, 2*time.Second)
}

// schedulable reports whether an unbound pod may be bound to this node.
func (a *Agent) schedulable(pod *corev1.Pod) bool {
	if pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName {
		return false
	}
	labels := a.nodeLabels()
	for k, v := range pod.Spec.NodeSelector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
