// Package stack starts, on one machine and offline, everything a configuration of the modules meets in
// a real run, for end-to-end tests: a Kubernetes cluster (kube-apiserver, kube-controller-manager, a
// load balancer for LoadBalancer Services) with a test node that runs the manager's pods and the
// sandboxes, the AWS and Alibaba Cloud API fakes (the CS fake's clusters hand out that cluster's
// kubeconfig), a DNS server that answers from the records the fakes' DNS services hold, wildcards
// included, and an ACME CA (Pebble) that validates DNS-01 through that DNS server. It also installs
// the provider as `make install` does (ProviderMirror) and runs terraform (Terraform).
package stack

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/acmeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/zonedns"
)

// Options configure a Stack.
type Options struct {
	// AlidnsDomains are the domains the Alidns fake holds from the start, as a domain registered in the
	// console is.
	AlidnsDomains []string
	// Route53Zones are public hosted zones the Route 53 fake holds from the start, as a domain delegated
	// to Route 53 has (ZoneID gives their IDs).
	Route53Zones []string
	// ClusterCreateTime is how long an ACS cluster stays "initial" in the CS fake before "running".
	ClusterCreateTime time.Duration
}

// Stack is a running stack. Everything stops when the test ends.
type Stack struct {
	Cluster *kubeharness.Cluster
	Node    *kubenode.Agent
	DNS     *zonedns.Server
	ACME    *acmeharness.Harness
	Ali     *alifake.Fake
	AWS     *awsfake.Server

	dir   string
	zones map[string]string // Route 53 zone name → ID, of Options.Route53Zones
}

// Start starts a stack for the test. It needs what its parts need (root, bubblewrap, etcd, the
// kube-apiserver and kube-controller-manager builds of `make kube-binaries`) and fails the test,
// naming what is missing, otherwise. The cluster starts empty: no CRDs, no manager namespaces.
func Start(t *testing.T, opts Options) *Stack {
	t.Helper()
	start := time.Now()
	s := &Stack{dir: t.TempDir(), zones: map[string]string{}}
	var err error
	if s.DNS, err = zonedns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.DNS.Close)
	s.ACME = acmeharness.New(t, acmeharness.Options{Resolver: s.DNS.Addr()})
	s.Cluster = kubeharness.Start(t, kubeharness.Options{ControllerManager: true, LoadBalancer: true, NoManifests: true})
	s.Node = kubenode.StartTest(t, s.Cluster.RESTConfig(), kubenode.Config{Programs: kubenode.ManagerPrograms(t)})
	warn := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sinkError := func(err error) { t.Errorf("DNS record the test DNS server cannot serve: %v", err) }
	s.Ali = alifake.New(t, alifake.Options{
		Domains:    opts.AlidnsDomains,
		Kubeconfig: alifake.KubeconfigFile(s.Cluster.Kubeconfig()),
		RecordSink: s.DNS.AlidnsSink(sinkError),
		Faults:     alifake.Faults{ClusterCreateTime: opts.ClusterCreateTime},
		Logger:     warn,
	})
	s.AWS = awsfake.StartTest(t, awsfake.Options{RecordSink: s.DNS.Route53Sink(sinkError), Logger: warn})
	for _, zone := range opts.Route53Zones {
		if s.zones[zone], err = s.createZone(zone); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("stack: started in %s (DNS %s, ACME %s, API server %s)", time.Since(start).Round(100*time.Millisecond),
		s.DNS.Addr(), s.ACME.DirectoryURL(), s.Cluster.URL())
	return s
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ProviderConfig is a provider block that points the aws and alicloud settings at the fakes: their
// endpoints, the fakes' credentials and regions. It is all a root configuration of the modules needs to
// say beyond a real run's.
func (s *Stack) ProviderConfig() string {
	awsKey, awsSecret := s.AWS.Credentials()
	aliKey, aliSecret := s.Ali.Credentials()
	return fmt.Sprintf(`provider "sandbox" {
  aws {
    region     = %q
    access_key = %q
    secret_key = %q
    endpoints {
      ec2     = %q
      route53 = %q
      sts     = %q
    }
  }
  alicloud {
    region     = %q
    access_key = %q
    secret_key = %q
    endpoints {
      vpc    = %q
      ecs    = %q
      cs     = %q
      alidns = %q
      cas    = %q
    }
  }
}
`, s.AWS.Region(), awsKey, awsSecret, s.AWS.EC2URL(), s.AWS.Route53URL(), s.AWS.STSURL(),
		s.Ali.Region(), aliKey, aliSecret, s.Ali.URL(alifake.VPC), s.Ali.URL(alifake.ECS), s.Ali.URL(alifake.CS),
		s.Ali.URL(alifake.Alidns), s.Ali.URL(alifake.CAS))
}

// CAFile is a file with the root the ACME CA issues under, for clients in other processes (an SDK's
// NODE_EXTRA_CA_CERTS).
func (s *Stack) CAFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(s.dir, "acme-root.pem")
	if err := os.WriteFile(p, s.ACME.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Kubeconfig is the cluster's admin kubeconfig (YAML), as a root configuration takes it for a cluster
// other than ACS.
func (s *Stack) Kubeconfig(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.Cluster.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Manager objects' names, as deploy lays them out by default.
const (
	managerNamespace = "sandbox-system"
	sandboxNamespace = "sandboxes"
	poolCRD          = "sandboxpools.sandbox.sandboxstack.io"
)

var (
	namespacesGVR          = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crdsGVR                = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	clusterRolesGVR        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	clusterRoleBindingsGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
)

// ClusterLeftovers lists what the manager's deployment left in the cluster, as "kind name" strings:
// the manager's and the sandboxes' namespaces (also while terminating), the SandboxPool CRD, cluster
// roles and bindings of the manager, any cluster-scoped object labelled as managed by sandboxstack,
// and sandboxes the test node still runs.
func (s *Stack) ClusterLeftovers(ctx context.Context) ([]string, error) {
	dyn, err := dynamic.NewForConfig(s.Cluster.RESTConfig())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	add := func(kind, name string) {
		if k := kind + " " + name; !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	named := map[string][]string{"namespace": {managerNamespace, sandboxNamespace}, "crd": {poolCRD}}
	for kind, gvr := range map[string]schema.GroupVersionResource{"namespace": namespacesGVR, "crd": crdsGVR,
		"clusterrole": clusterRolesGVR, "clusterrolebinding": clusterRoleBindingsGVR} {
		for _, name := range named[kind] {
			_, err := dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
			switch {
			case err == nil:
				add(kind, name)
			case !apierrors.IsNotFound(err):
				return nil, fmt.Errorf("get %s %s: %w", kind, name, err)
			}
		}
		list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		for _, o := range list.Items {
			if o.GetLabels()["app.kubernetes.io/managed-by"] == "sandboxstack" || strings.HasPrefix(o.GetName(), "sandbox-manager") {
				add(kind, o.GetName())
			}
		}
	}
	running, err := s.Node.Sandboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("the test node's sandboxes: %w", err)
	}
	for _, sb := range running {
		add("sandbox", sb.Spec.ID+" ("+sb.Spec.Template+")")
	}
	return out, nil
}

// createZone creates a public hosted zone through the Route 53 API, as the console does.
func (s *Stack) createZone(name string) (string, error) {
	key, secret := s.AWS.Credentials()
	r53 := route53.New(route53.Options{Region: s.AWS.Region(), BaseEndpoint: aws.String(s.AWS.Route53URL()),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	out, err := r53.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String(name), CallerReference: aws.String("stack-" + name)})
	if err != nil {
		return "", fmt.Errorf("create hosted zone %s: %w", name, err)
	}
	return strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/"), nil
}

// ZoneID is the ID of a hosted zone of Options.Route53Zones.
func (s *Stack) ZoneID(name string) string { return s.zones[name] }

// Leftovers lists what a configuration left in the fakes and the cluster (see awsfake's and alifake's
// Leftovers, and ClusterLeftovers), except the hosted zones of Options.Route53Zones and the ids in keep
// (what the test made out of band, such as a VPC a configuration adopts).
func (s *Stack) Leftovers(ctx context.Context, keep ...string) ([]string, error) {
	skip := map[string]bool{}
	for _, id := range keep {
		skip[id] = true
	}
	for _, id := range s.zones {
		skip[id] = true
	}
	var out []string
	for _, l := range s.AWS.Leftovers() {
		// "record-set <zone id> <name> <type>": a record left in a kept zone is still a leftover.
		if f := strings.Fields(l); len(f) < 2 || !skip[f[1]] || f[0] == "record-set" {
			out = append(out, "aws "+l)
		}
	}
	for _, l := range s.Ali.Leftovers() {
		if f := strings.Fields(l); len(f) < 2 || !skip[f[1]] {
			out = append(out, "alicloud "+l)
		}
	}
	cluster, err := s.ClusterLeftovers(ctx)
	for _, l := range cluster {
		out = append(out, "cluster "+l)
	}
	return out, err
}

// HTTPClient is a client as a user's machine would have one: names resolve through the stack's DNS
// server (what the cloud DNS fakes hold) and certificates verify against the ACME CA's roots.
func (s *Stack) HTTPClient() *http.Client {
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.DNS.Addr())
	}}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Resolver: resolver}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:     dialer.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: s.ACME.Roots()},
		},
	}
}
