package kubeharness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// LoadBalancer stands in for a cloud provider's service controller and its load balancers: every
// Service of type LoadBalancer gets an address of its own in 127.8.0.0–127.15.255.255 (clear of the
// test node's pod IPs), written to status.loadBalancer.ingress[0].ip, where each of its TCP ports
// listens and forwards every connection to a ready pod the Service selects (round robin over the
// pods, the next one when a dial fails), at the port's targetPort (a number, or a container port name
// looked up in the pod).
//
// Backends are the Service's selector applied to the pods of its namespace that have a pod IP, are not
// being deleted and are Ready: what the EndpointSlice controller would publish, read from the pods
// directly because the API rejects EndpointSlices with loopback addresses. Each new connection sees the
// current pods, so a deleted or unready pod stops receiving traffic at once.
type LoadBalancer struct {
	client   kubernetes.Interface
	log      *slog.Logger
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	queue    workqueue.TypedRateLimitingInterface[string]
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu  sync.Mutex
	lbs map[string]*serviceLB // by namespace/name

	closeOnce sync.Once
}

// serviceLB is one Service's address and its port listeners.
type serviceLB struct {
	ip    string
	ports map[int32]*lbPort // by service port
}

// lbPort forwards connections to one service port.
type lbPort struct {
	ln   net.Listener
	next atomic.Uint64 // round robin

	mu    sync.Mutex
	conns map[net.Conn]struct{} // nil once closed
	wg    sync.WaitGroup
}

// StartLoadBalancer starts the load-balancer stand-in against the API server at restCfg (it needs to
// watch Services and pods and update Service status). ctx bounds the start; Close stops it.
func StartLoadBalancer(ctx context.Context, restCfg *rest.Config, log *slog.Logger) (_ *LoadBalancer, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := rest.CopyConfig(restCfg)
	cfg.UserAgent = "kubeharness-loadbalancer"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("load balancer: client: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	lb := &LoadBalancer{client: client, log: log, cancel: cancel, lbs: map[string]*serviceLB{},
		factory: informers.NewSharedInformerFactory(client, 30*time.Second),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "kubeharness-loadbalancer"}),
	}
	defer func() {
		if err != nil {
			lb.Close()
		}
	}()
	svcInformer := lb.factory.Core().V1().Services()
	podInformer := lb.factory.Core().V1().Pods()
	lb.services, lb.pods = svcInformer.Lister(), podInformer.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			lb.queue.Add(key)
		}
	}
	if _, err := svcInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("load balancer: service informer: %w", err)
	}
	lb.factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), svcInformer.Informer().HasSynced, podInformer.Informer().HasSynced) {
		return nil, fmt.Errorf("load balancer: informers did not sync: %w", ctx.Err())
	}
	lb.wg.Add(1)
	go func() {
		defer lb.wg.Done()
		for lb.processNext(runCtx) {
		}
	}()
	log.Info("kubeharness: load balancer ready")
	return lb, nil
}

// Close stops the load balancer: its listeners close and open connections are cut. Service status is
// left as it is.
func (lb *LoadBalancer) Close() {
	lb.closeOnce.Do(func() {
		lb.cancel()
		lb.queue.ShutDown()
		lb.wg.Wait()
		lb.factory.Shutdown()
		lb.mu.Lock()
		lbs := lb.lbs
		lb.lbs = map[string]*serviceLB{}
		lb.mu.Unlock()
		for _, s := range lbs {
			for _, p := range s.ports {
				p.close()
			}
		}
	})
}

// Address is the address the Service namespace/name has on the load balancer ("" if none yet).
func (lb *LoadBalancer) Address(namespace, name string) string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if s := lb.lbs[namespace+"/"+name]; s != nil {
		return s.ip
	}
	return ""
}

func (lb *LoadBalancer) processNext(ctx context.Context) bool {
	key, quit := lb.queue.Get()
	if quit {
		return false
	}
	defer lb.queue.Done(key)
	if err := lb.reconcile(ctx, key); err != nil && ctx.Err() == nil {
		lb.log.Warn("kubeharness: load balancer", "service", key, "err", err)
		lb.queue.AddRateLimited(key)
		return true
	}
	lb.queue.Forget(key)
	return true
}

// reconcile gives a LoadBalancer Service its address and listeners, or takes them away.
func (lb *LoadBalancer) reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := lb.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) || err == nil && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		lb.release(key)
		if err == nil && len(svc.Status.LoadBalancer.Ingress) > 0 {
			return lb.setIngress(ctx, svc, nil)
		}
		return nil
	}
	if err != nil {
		return err
	}

	lb.mu.Lock()
	s := lb.lbs[key]
	lb.mu.Unlock()
	if s == nil {
		s = &serviceLB{ports: map[int32]*lbPort{}}
	}
	want := map[int32]bool{}
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			lb.log.Warn("kubeharness: load balancer forwards TCP only", "service", key, "port", sp.Port, "protocol", sp.Protocol)
			continue
		}
		want[sp.Port] = true
		if s.ports[sp.Port] != nil {
			continue
		}
		ln, ip, err := listenLB(s.ip, int(sp.Port))
		if err != nil {
			return fmt.Errorf("service %s port %d: %w", key, sp.Port, err)
		}
		s.ip = ip
		p := &lbPort{ln: ln, conns: map[net.Conn]struct{}{}}
		s.ports[sp.Port] = p
		port := sp.Port
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.serve(func() []string { return lb.backends(key, port) }) }()
	}
	for port, p := range s.ports {
		if !want[port] {
			p.close()
			delete(s.ports, port)
		}
	}
	lb.mu.Lock()
	lb.lbs[key] = s
	lb.mu.Unlock()
	if s.ip == "" {
		return nil // no TCP port: nothing to give an address to
	}
	lb.log.Debug("kubeharness: load balancer", "service", key, "ip", s.ip)
	return lb.setIngress(ctx, svc, []corev1.LoadBalancerIngress{{IP: s.ip, IPMode: ptrTo(corev1.LoadBalancerIPModeVIP)}})
}

// release closes a Service's listeners (its address is free again once they are closed).
func (lb *LoadBalancer) release(key string) {
	lb.mu.Lock()
	s := lb.lbs[key]
	delete(lb.lbs, key)
	lb.mu.Unlock()
	if s != nil {
		for _, p := range s.ports {
			p.close()
		}
	}
}

func (lb *LoadBalancer) setIngress(ctx context.Context, svc *corev1.Service, ingress []corev1.LoadBalancerIngress) error {
	if equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, ingress) {
		return nil
	}
	services := lb.client.CoreV1().Services(svc.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := services.Get(ctx, svc.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		cur.Status.LoadBalancer.Ingress = ingress
		_, err = services.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// backends are the host:port addresses of the ready pods the Service selects, for its port.
func (lb *LoadBalancer) backends(key string, port int32) []string {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	svc, err := lb.services.Services(ns).Get(name)
	if err != nil || len(svc.Spec.Selector) == 0 {
		return nil
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return nil
	}
	pods, err := lb.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return nil
	}
	var out []string
	for _, pod := range pods {
		if pod.Status.PodIP == "" || pod.DeletionTimestamp != nil || !podReady(pod) {
			continue
		}
		if target, ok := targetPort(pod, sp); ok {
			out = append(out, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(target)))
		}
	}
	slices.Sort(out) // the lister's order varies; round robin needs a stable one
	return out
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// targetPort resolves a service port's targetPort in a pod, as the EndpointSlice controller does.
func targetPort(pod *corev1.Pod, sp *corev1.ServicePort) (int, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == sp.TargetPort.StrVal {
					return int(p.ContainerPort), true
				}
			}
		}
		return 0, false
	case sp.TargetPort.IntValue() != 0:
		return sp.TargetPort.IntValue(), true
	default:
		return int(sp.Port), true
	}
}

// listenLB listens on ip:port, or on a new address in 127.8.0.0/13 when ip is "".
func listenLB(ip string, port int) (net.Listener, string, error) {
	if ip != "" {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		return ln, ip, err
	}
	var lastErr error
	for range 64 {
		ip := net.IPv4(127, byte(8+rand.IntN(8)), byte(rand.IntN(256)), byte(1+rand.IntN(254))).String()
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if errors.Is(err, syscall.EADDRINUSE) {
			lastErr = err
			continue
		}
		return ln, ip, err
	}
	return nil, "", fmt.Errorf("no free load balancer address after 64 tries: %w", lastErr)
}

func (p *lbPort) serve(backends func() []string) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.forward(c, backends())
		}()
	}
}

// forward connects down to one of the backends, starting at the next in round robin and trying the
// others when a dial fails; without any it closes the connection (as a load balancer without healthy
// targets resets it).
func (p *lbPort) forward(down net.Conn, backends []string) {
	defer down.Close()
	var up net.Conn
	start := int(p.next.Add(1))
	for i := range backends {
		addr := backends[(start+i)%len(backends)]
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			up = c
			break
		}
	}
	if up == nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
}

func (p *lbPort) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *lbPort) untrack(c net.Conn) {
	p.mu.Lock()
	if p.conns != nil {
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

// close stops listening, cuts open connections and waits for the forwarding goroutines.
func (p *lbPort) close() {
	p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

func ptrTo[T any](v T) *T { return &v }

// Backends are the addresses (podIP:targetPort) that a new connection to port of the Service
// namespace/name may go to now.
func (lb *LoadBalancer) Backends(namespace, name string, port int32) []string {
	return lb.backends(namespace+"/"+name, port)
}
