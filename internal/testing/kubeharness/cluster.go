package kubeharness

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure a Cluster. The zero value is a cluster with the repository's CRDs.
type Options struct {
	// Dir holds the cluster's certificates, logs and kubeconfigs; "" means a new temporary directory
	// (t.TempDir() under Start), removed by Stop when Launch made it.
	Dir string
	// KubeconfigPath is where the admin kubeconfig is written; "" means <Dir>/admin.kubeconfig.
	KubeconfigPath string
	// Manifests are applied (server-side apply) once the API server is ready: files, or directories of
	// *.yaml/*.yml/*.json. CustomResourceDefinitions among them are applied first and waited for until
	// Established and served. nil means the repository's deploy/crds when it exists.
	Manifests []string
	// NoManifests applies nothing, not even deploy/crds.
	NoManifests bool
	// APIServerBin is kube-apiserver; "" means $KUBE_APISERVER_BIN or the build in CacheDir().
	APIServerBin string
	// EtcdBin is etcd; "" means $ETCD_BIN, /usr/bin/etcd or etcd in PATH.
	EtcdBin string
	// APIServerArgs are appended to kube-apiserver's flags (a later flag wins).
	APIServerArgs []string
	// ControllerManager also starts kube-controller-manager (Deployments, ReplicaSets, garbage
	// collection, namespaces, ServiceAccounts and their tokens, PodDisruptionBudgets, …), and turns the
	// ServiceAccount admission plugin on, so pods get their service account token volume as in a cluster.
	ControllerManager bool
	// ControllerManagerBin is kube-controller-manager; "" means $KUBE_CONTROLLER_MANAGER_BIN or the
	// build in CacheDir().
	ControllerManagerBin string
	// ControllerManagerArgs are appended to kube-controller-manager's flags (a later flag wins).
	ControllerManagerArgs []string
	// LoadBalancer starts the load-balancer stand-in: Services of type LoadBalancer get a loopback
	// address of their own, forwarded to the ready pods they select (see LoadBalancer).
	LoadBalancer bool
	// StartTimeout bounds the whole start (etcd, API server, manifests); 0 means 2 minutes.
	StartTimeout time.Duration
	// Logger receives the harness's own logs; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running etcd + kube-apiserver pair on loopback.
type Cluster struct {
	dir        string
	ownDir     bool
	kubeconfig string
	pki        *pki
	etcd       *etcd
	api        *apiServer
	cm         *controllerManager
	lb         *LoadBalancer
	log        *slog.Logger
	stopOnce   sync.Once
}

// Start starts a cluster for the test and stops it when the test ends; on failure the test's log
// gets the API server's and etcd's log tails. A missing kube-apiserver or etcd fails the test with
// the command that provides it.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := Launch(ctx, opts)
	if err != nil {
		t.Fatalf("kubeharness: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kubeharness logs:\n%s", c.Logs(32<<10))
		}
		c.Stop()
	})
	return c
}

// Launch starts a cluster outside a test (kube-testenv); Stop ends it. ctx bounds the start only.
func Launch(ctx context.Context, opts Options) (_ *Cluster, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	apiBin, err := findAPIServer(opts.APIServerBin)
	if err != nil {
		return nil, err
	}
	etcdBin, err := findEtcd(opts.EtcdBin)
	if err != nil {
		return nil, err
	}
	cmBin := ""
	if opts.ControllerManager {
		if cmBin, err = findControllerManager(opts.ControllerManagerBin); err != nil {
			return nil, err
		}
	}
	manifests := opts.Manifests
	if manifests == nil && !opts.NoManifests {
		if crds, ok := repoCRDDir(); ok {
			manifests = []string{crds}
		} else {
			log.Warn("kubeharness: no deploy/crds directory found above the working directory; no CRDs applied")
		}
	}
	if opts.NoManifests {
		manifests = nil // explicit Manifests too
	}

	c := &Cluster{dir: opts.Dir, log: log}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "kubeharness-"); err != nil {
			return nil, fmt.Errorf("cluster dir: %w", err)
		}
		c.ownDir = true
	} else if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	c.kubeconfig = opts.KubeconfigPath
	if c.kubeconfig == "" {
		c.kubeconfig = filepath.Join(c.dir, "admin.kubeconfig")
	}
	_, serviceNet, _ := net.ParseCIDR(ServiceClusterIPRange)
	serviceIP := serviceNet.IP.To4()
	serviceIP = net.IPv4(serviceIP[0], serviceIP[1], serviceIP[2], serviceIP[3]+1) // the "kubernetes" Service
	if c.pki, err = newPKI(c.dir, serviceIP); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}

	began := time.Now()
	dataDir, err := dataDirIn(etcdDataParent())
	if err != nil {
		return nil, err
	}
	if c.etcd, err = startEtcd(ctx, etcdBin, dataDir, filepath.Join(c.dir, "etcd.log")); err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("etcd %s (%s): %w", etcdVersion(etcdBin), etcdBin, err)
	}
	etcdUp := time.Since(began)
	certDir := filepath.Join(c.dir, "apiserver-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("cert dir: %w", err)
	}
	if c.api, err = startAPIServer(ctx, apiBin, c.etcd.clientURL, certDir, filepath.Join(c.dir, "kube-apiserver.log"), c.pki, opts.ControllerManager, opts.APIServerArgs); err != nil {
		return nil, err
	}
	log.Info("kubeharness: cluster ready", "apiserver", c.api.url, "etcd", c.etcd.clientURL,
		"etcd_up", etcdUp.Round(time.Millisecond), "ready", time.Since(began).Round(time.Millisecond))
	if err := writeKubeconfig(c.kubeconfig, c.api.url, c.pki.caPEM,
		&clientcmdapi.AuthInfo{ClientCertificateData: c.pki.adminCertPEM, ClientKeyData: c.pki.adminKeyPEM}); err != nil {
		return nil, err
	}
	if opts.ControllerManager {
		cs, err := c.Clientset()
		if err != nil {
			return nil, err
		}
		if c.cm, err = startControllerManager(ctx, cmBin, c.dir, c.api.url, c.pki, cs, opts.ControllerManagerArgs); err != nil {
			return nil, err
		}
		log.Info("kubeharness: kube-controller-manager ready", "took", time.Since(began).Round(time.Millisecond))
	}
	if opts.LoadBalancer {
		if c.lb, err = StartLoadBalancer(ctx, c.RESTConfig(), log); err != nil {
			return nil, err
		}
	}
	if len(manifests) > 0 {
		if err := c.Apply(ctx, manifests...); err != nil {
			return nil, err
		}
		log.Info("kubeharness: manifests applied", "paths", manifests)
	}
	return c, nil
}

// LoadBalancer is the load-balancer stand-in (nil unless Options.LoadBalancer).
func (c *Cluster) LoadBalancer() *LoadBalancer { return c.lb }

// Kubeconfig is the path of the admin kubeconfig (group system:masters).
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// URL is the API server's https URL.
func (c *Cluster) URL() string { return c.api.url }

// Dir is the directory with the cluster's certificates, logs and kubeconfigs.
func (c *Cluster) Dir() string { return c.dir }

// RESTConfig returns a new copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return adminRESTConfig(c.api.url, c.pki) }

// Clientset is a typed admin client.
func (c *Cluster) Clientset() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c.RESTConfig())
}

// Apply applies manifests (files, or directories of *.yaml/*.yml/*.json) with server-side apply as
// the admin: CustomResourceDefinitions first, waited for until served, then the rest. Namespaced
// objects without a namespace go to "default"; the namespaces themselves must exist or be among the
// manifests (before the objects in them).
func (c *Cluster) Apply(ctx context.Context, paths ...string) error {
	a, err := newApplier(c.RESTConfig())
	if err != nil {
		return err
	}
	return a.apply(ctx, paths...)
}

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as the service account
// namespace/name, with a token from the TokenRequest API (valid for a day), and returns its path. The
// service account must exist; it has only the permissions RBAC gives it.
func (c *Cluster) ServiceAccountKubeconfig(t testing.TB, namespace, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(c.dir, fmt.Sprintf("sa-%s-%s-%d.kubeconfig", namespace, name, time.Now().UnixNano()))
	if err := c.WriteServiceAccountKubeconfig(ctx, namespace, name, path); err != nil {
		t.Fatalf("kubeharness: %v", err)
	}
	return path
}

// WriteServiceAccountKubeconfig is ServiceAccountKubeconfig outside a test.
func (c *Cluster) WriteServiceAccountKubeconfig(ctx context.Context, namespace, name, path string) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for service account %s/%s (does it exist?): %w", namespace, name, err)
	}
	return writeKubeconfig(path, c.api.url, c.pki.caPEM, &clientcmdapi.AuthInfo{Token: tr.Status.Token})
}

// Logs returns the end (at most max bytes each) of kube-controller-manager's, the API server's and
// etcd's logs.
func (c *Cluster) Logs(max int) string {
	var b strings.Builder
	for _, p := range []*process{c.cmProc(), c.apiProc(), c.etcdProc()} {
		if p != nil {
			fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.log, p.logTail(max))
		}
	}
	return b.String()
}

func (c *Cluster) cmProc() *process {
	if c.cm == nil {
		return nil
	}
	return c.cm.proc
}

func (c *Cluster) apiProc() *process {
	if c.api == nil {
		return nil
	}
	return c.api.proc
}

func (c *Cluster) etcdProc() *process {
	if c.etcd == nil {
		return nil
	}
	return c.etcd.proc
}

// Stop stops the load balancer and kube-controller-manager, then the API server, then etcd, and removes etcd's data (and the cluster dir if Launch made
// it). It is safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		if c.lb != nil {
			c.lb.Close()
		}
		if c.cm != nil {
			c.cm.stop()
		}
		if c.api != nil {
			c.api.stop()
		}
		if c.etcd != nil {
			c.etcd.stop()
			dataDir := argValue(c.etcd.proc.cmd.Args, "--data-dir")
			if dataDir != "" {
				if err := os.RemoveAll(dataDir); err != nil {
					c.log.Warn("kubeharness: remove etcd data", "dir", dataDir, "err", err)
				}
			}
		}
		if c.ownDir {
			_ = os.RemoveAll(c.dir)
		}
	})
}

func argValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// repoCRDDir finds deploy/crds in the repository that contains the working directory.
func repoCRDDir() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			crds := filepath.Join(dir, "deploy", "crds")
			fi, err := os.Stat(crds)
			return crds, err == nil && fi.IsDir()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
