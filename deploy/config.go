// Package deploy builds the Kubernetes objects of a sandbox-manager deployment: the namespaces, the
// SandboxPool CRD, the RBAC and the NetworkPolicies (the YAML files of this directory, embedded) and the
// workload (Secrets, Deployment, Service, PodDisruptionBudget, SandboxPools, built here from a Config).
// The Terraform provider applies Objects; deploy/manager.yaml is Manifest of the default Config.
package deploy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// FieldManager is the one server-side-apply field manager of everything applied from Objects.
	FieldManager = "sandboxstack"
	// ManagerName names the manager's Deployment, Service, PodDisruptionBudget and ServiceAccount.
	ManagerName = "sandbox-manager"
	// AdminKeySecret holds the admin key under AdminKeySecretKey.
	AdminKeySecret = "sandbox-manager-admin-key"
	// AdminKeySecretKey is the admin key's entry in AdminKeySecret.
	AdminKeySecretKey = "admin-key"
	// TLSSecret is the kubernetes.io/tls Secret of the manager's certificate and key.
	TLSSecret = "sandbox-manager-tls"
	// ConfigHashAnnotation on the pod template is the SHA-256 of the Secrets' data: a new certificate
	// or admin key changes it and so rolls the pods.
	ConfigHashAnnotation = "sandbox.sandboxstack.io/config-hash"
)

// Defaults of Config.
const (
	DefaultNamespace        = "sandbox-system"
	DefaultSandboxNamespace = "sandboxes"
	DefaultReplicas         = 2
	DefaultTemplateRegistry = "ghcr.io/sandboxstack"
	DefaultCPURequest       = "100m"
	DefaultMemoryRequest    = "128Mi"
	DefaultCPULimit         = "1"
	DefaultMemoryLimit      = "512Mi"
)

// Service types of Service.Type.
const (
	ServiceLoadBalancer = "LoadBalancer"
	ServiceNodePort     = "NodePort"
	ServiceClusterIP    = "ClusterIP"
)

// minAdminKeyLen is the manager's own minimum (it refuses shorter admin keys at start).
const minAdminKeyLen = 24

// maxPoolSize is the SandboxPool CRD's maximum of spec.size.
const maxPoolSize = 100

// Config describes one deployment of the manager.
type Config struct {
	Namespace        string // the manager's namespace; default "sandbox-system"
	SandboxNamespace string // the sandboxes' namespace (the manager's --kube-namespace); default "sandboxes"
	Image            string // full reference of the manager image, e.g. "ghcr.io/sandboxstack/sandbox-manager:0.4.0"
	Replicas         int32  // default 2
	Domain           string // the E2B domain; required

	// TLSCertificatePEM and TLSPrivateKeyPEM, both or neither: with them the manager serves HTTPS on
	// pod port 3443, Service port 443, from the Secret TLSSecret.
	TLSCertificatePEM, TLSPrivateKeyPEM []byte
	// AdminKey guards the manager's admin API; required, at least 24 characters. It reaches the
	// manager as a file of the Secret AdminKeySecret, never as a value in the pod spec.
	AdminKey string

	// ExternalSecrets is for manifests applied by hand: the Secrets AdminKeySecret and TLSSecret are
	// created outside (kubectl create secret), so Objects leaves them out, the manager serves HTTPS
	// from TLSSecret, the pod template has no config hash, and AdminKey and the PEMs stay empty.
	ExternalSecrets bool

	Service          Service
	Resources        Resources
	TemplateRegistry string // the manager's --image-registry; default "ghcr.io/sandboxstack"
	TemplateTag      string // the manager's --image-tag; default Image's tag
	EnvdImage        string // the manager's --envd-image; optional
	Pools            []Pool // SandboxPool objects in SandboxNamespace, which the manager fills
}

// Service is how the manager is exposed.
type Service struct {
	Type                     string // LoadBalancer (default), NodePort or ClusterIP
	Annotations              map[string]string
	LoadBalancerSourceRanges []string // CIDRs; LoadBalancer only
}

// Resources of the manager's container, as Kubernetes quantities.
type Resources struct {
	CPURequest, MemoryRequest, CPULimit, MemoryLimit string // defaults 100m, 128Mi, 1, 512Mi
}

// Pool is a warm pool of sandboxes of one template.
type Pool struct {
	Name     string // default Template
	Template string
	Size     int32
}

// WithDefaults returns c with every unset field that has a default set to it.
func (c Config) WithDefaults() Config {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Namespace, DefaultNamespace)
	def(&c.SandboxNamespace, DefaultSandboxNamespace)
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	def(&c.Service.Type, ServiceLoadBalancer)
	def(&c.Resources.CPURequest, DefaultCPURequest)
	def(&c.Resources.MemoryRequest, DefaultMemoryRequest)
	def(&c.Resources.CPULimit, DefaultCPULimit)
	def(&c.Resources.MemoryLimit, DefaultMemoryLimit)
	def(&c.TemplateRegistry, DefaultTemplateRegistry)
	def(&c.TemplateTag, imageTag(c.Image))
	if len(c.Pools) > 0 {
		pools := make([]Pool, len(c.Pools))
		for i, p := range c.Pools {
			def(&p.Name, p.Template)
			pools[i] = p
		}
		c.Pools = pools
	}
	return c
}

// TLS reports whether the manager serves HTTPS.
func (c Config) TLS() bool {
	return c.ExternalSecrets || len(c.TLSCertificatePEM) > 0
}

// Validate reports every problem of c (after WithDefaults), each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for _, ns := range []struct{ field, value string }{{"Namespace", c.Namespace}, {"SandboxNamespace", c.SandboxNamespace}} {
		if msgs := validation.IsDNS1123Label(ns.value); len(msgs) > 0 {
			bad("%s %q is not a namespace name: %s", ns.field, ns.value, strings.Join(msgs, "; "))
		}
	}
	if c.Namespace == c.SandboxNamespace {
		bad("Namespace and SandboxNamespace are both %q: the sandboxes need a namespace of their own (its network policies and Pod Security level are theirs)", c.Namespace)
	}
	if c.Image == "" {
		bad("Image is required (a full reference such as ghcr.io/sandboxstack/sandbox-manager:0.4.0)")
	} else if strings.ContainsAny(c.Image, " \t\n") {
		bad("Image %q contains white space", c.Image)
	}
	if c.Replicas < 1 {
		bad("Replicas is %d; it needs to be at least 1", c.Replicas)
	}
	if c.Domain == "" {
		bad("Domain is required (the E2B domain: clients reach api.<Domain> and <port>-<sandbox>.<Domain>)")
	} else if msgs := validation.IsDNS1123Subdomain(c.Domain); len(msgs) > 0 || !strings.Contains(c.Domain, ".") {
		bad("Domain %q is not a lower-case DNS name with at least two labels", c.Domain)
	}

	if c.ExternalSecrets {
		if c.AdminKey != "" || len(c.TLSCertificatePEM) > 0 || len(c.TLSPrivateKeyPEM) > 0 {
			bad("ExternalSecrets: AdminKey, TLSCertificatePEM and TLSPrivateKeyPEM must be empty (the Secrets %s and %s are created outside)", AdminKeySecret, TLSSecret)
		}
	} else {
		switch n := len(c.AdminKey); {
		case n == 0:
			bad("AdminKey is required (at least %d characters, e.g. from `openssl rand -hex 32`)", minAdminKeyLen)
		case n < minAdminKeyLen:
			bad("AdminKey has %d characters; it needs at least %d", n, minAdminKeyLen)
		case strings.TrimSpace(c.AdminKey) != c.AdminKey:
			bad("AdminKey starts or ends with white space")
		}
		switch cert, key := len(c.TLSCertificatePEM) > 0, len(c.TLSPrivateKeyPEM) > 0; {
		case cert != key:
			bad("TLSCertificatePEM and TLSPrivateKeyPEM go together: set both or neither")
		case cert:
			if _, err := tls.X509KeyPair(c.TLSCertificatePEM, c.TLSPrivateKeyPEM); err != nil {
				bad("TLSCertificatePEM and TLSPrivateKeyPEM are not a PEM certificate chain and its private key: %v", err)
			}
		}
	}

	switch c.Service.Type {
	case ServiceLoadBalancer, ServiceNodePort, ServiceClusterIP:
	default:
		bad("Service.Type %q: want %s, %s or %s", c.Service.Type, ServiceLoadBalancer, ServiceNodePort, ServiceClusterIP)
	}
	if len(c.Service.LoadBalancerSourceRanges) > 0 && c.Service.Type != ServiceLoadBalancer {
		bad("Service.LoadBalancerSourceRanges needs Service.Type %s, not %q", ServiceLoadBalancer, c.Service.Type)
	}
	for _, r := range c.Service.LoadBalancerSourceRanges {
		if _, _, err := net.ParseCIDR(r); err != nil {
			bad("Service.LoadBalancerSourceRanges: %q is not a CIDR such as 203.0.113.0/24", r)
		}
	}
	for k := range c.Service.Annotations {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			bad("Service.Annotations: %q is not an annotation key: %s", k, strings.Join(msgs, "; "))
		}
	}

	quantities := map[string]*resource.Quantity{}
	for _, q := range []struct{ field, value string }{
		{"Resources.CPURequest", c.Resources.CPURequest}, {"Resources.MemoryRequest", c.Resources.MemoryRequest},
		{"Resources.CPULimit", c.Resources.CPULimit}, {"Resources.MemoryLimit", c.Resources.MemoryLimit},
	} {
		parsed, err := resource.ParseQuantity(q.value)
		if err != nil || parsed.Sign() <= 0 {
			bad("%s %q is not a positive Kubernetes quantity (such as 500m, 1, 256Mi)", q.field, q.value)
			continue
		}
		quantities[q.field] = &parsed
	}
	for _, pair := range [][2]string{{"Resources.CPURequest", "Resources.CPULimit"}, {"Resources.MemoryRequest", "Resources.MemoryLimit"}} {
		req, lim := quantities[pair[0]], quantities[pair[1]]
		if req != nil && lim != nil && req.Cmp(*lim) > 0 {
			bad("%s %s is more than %s %s", pair[0], req, pair[1], lim)
		}
	}

	if c.TemplateRegistry == "" {
		bad("TemplateRegistry is required (the registry of the template images)")
	}
	if c.TemplateTag == "" {
		bad("TemplateTag is required: Image %q has no tag to default it to", c.Image)
	}
	for _, s := range []struct{ field, value string }{{"TemplateRegistry", c.TemplateRegistry}, {"TemplateTag", c.TemplateTag}, {"EnvdImage", c.EnvdImage}} {
		if strings.ContainsAny(s.value, " \t\n") {
			bad("%s %q contains white space", s.field, s.value)
		}
	}

	names := map[string]bool{}
	for i, p := range c.Pools {
		if p.Template == "" {
			bad("Pools[%d].Template is required", i)
		}
		if msgs := validation.IsDNS1123Label(p.Name); len(msgs) > 0 {
			bad("Pools[%d].Name %q is not a pool name: %s", i, p.Name, strings.Join(msgs, "; "))
		}
		if names[p.Name] {
			bad("Pools[%d].Name %q is used by another pool", i, p.Name)
		}
		names[p.Name] = true
		if p.Size < 0 || p.Size > maxPoolSize {
			bad("Pools[%d].Size is %d; want 0 to %d", i, p.Size, maxPoolSize)
		}
	}
	return errors.Join(errs...)
}

// imageTag is the tag of an image reference ("" when it has none): what follows the last ':' after
// the last '/', a digest removed.
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	name := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[i+1:]
	}
	return ""
}
