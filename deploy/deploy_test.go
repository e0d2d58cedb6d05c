package deploy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

const testAdminKey = "0123456789abcdef0123456789abcdef"

// testCert is a self-signed certificate for *.<domain> and its key, PEM-encoded.
func testCert(t testing.TB, domain string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "*." + domain},
		DNSNames:  []string{"*." + domain, domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func tlsConfig(t testing.TB) Config {
	cert, key := testCert(t, "sandbox.example.com")
	return Config{
		Image: "ghcr.io/sandboxstack/sandbox-manager:0.4.0", Domain: "sandbox.example.com", AdminKey: testAdminKey,
		TLSCertificatePEM: cert, TLSPrivateKeyPEM: key,
	}
}

func objects(t *testing.T, c Config) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Objects(c)
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	return objs
}

// find returns the one object of kind and name, converted into into (nil: returned as is).
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) *unstructured.Unstructured {
	t.Helper()
	var found *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if found != nil {
				t.Fatalf("two %s %s", kind, name)
			}
			found = o
		}
	}
	if found == nil {
		t.Fatalf("no %s %s", kind, name)
	}
	if into != nil {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found.Object, into); err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
	}
	return found
}

func TestWithDefaults(t *testing.T) {
	got := Config{Image: "registry.example.com:5000/team/sandbox-manager:1.2.3@sha256:abcd", Pools: []Pool{{Template: "base", Size: 2}}}.WithDefaults()
	want := Config{
		Namespace: "sandbox-system", SandboxNamespace: "sandboxes", Replicas: 2,
		Image:            "registry.example.com:5000/team/sandbox-manager:1.2.3@sha256:abcd",
		Service:          Service{Type: "LoadBalancer"},
		Resources:        Resources{CPURequest: "100m", MemoryRequest: "128Mi", CPULimit: "1", MemoryLimit: "512Mi"},
		TemplateRegistry: "ghcr.io/sandboxstack", TemplateTag: "1.2.3",
		Pools: []Pool{{Name: "base", Template: "base", Size: 2}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults:\n got %+v\nwant %+v", got, want)
	}
	// Set fields stay; the registry port is not a tag.
	kept := Config{Namespace: "m", SandboxNamespace: "s", Replicas: 3, Image: "localhost:5000/manager",
		Service: Service{Type: "ClusterIP"}, TemplateRegistry: "r", TemplateTag: "t",
		Resources: Resources{CPURequest: "1", MemoryRequest: "1Gi", CPULimit: "2", MemoryLimit: "2Gi"}}
	if got := kept.WithDefaults(); !reflect.DeepEqual(got, kept) {
		t.Errorf("WithDefaults changed set fields:\n got %+v\nwant %+v", got, kept)
	}
	if tag := (Config{Image: "localhost:5000/manager"}).WithDefaults().TemplateTag; tag != "" {
		t.Errorf("TemplateTag of an untagged image = %q, want empty", tag)
	}
}

func TestValidate(t *testing.T) {
	valid := tlsConfig(t)
	if err := valid.WithDefaults().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	otherCert, _ := testCert(t, "other.example.com")
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"no domain", func(c *Config) { c.Domain = "" }, []string{"Domain is required"}},
		{"bad domain", func(c *Config) { c.Domain = "Sandbox_Example" }, []string{`Domain "Sandbox_Example"`}},
		{"no image", func(c *Config) { c.Image = "" }, []string{"Image is required", "TemplateTag is required"}},
		{"untagged image", func(c *Config) { c.Image = "ghcr.io/sandboxstack/sandbox-manager" }, []string{"TemplateTag is required: Image"}},
		{"no admin key", func(c *Config) { c.AdminKey = "" }, []string{"AdminKey is required"}},
		{"short admin key", func(c *Config) { c.AdminKey = "short" }, []string{"AdminKey has 5 characters; it needs at least 24"}},
		{"padded admin key", func(c *Config) { c.AdminKey = " " + testAdminKey }, []string{"AdminKey starts or ends with white space"}},
		{"cert without key", func(c *Config) { c.TLSPrivateKeyPEM = nil }, []string{"TLSCertificatePEM and TLSPrivateKeyPEM go together"}},
		{"key without cert", func(c *Config) { c.TLSCertificatePEM = nil }, []string{"TLSCertificatePEM and TLSPrivateKeyPEM go together"}},
		{"mismatched pair", func(c *Config) { c.TLSCertificatePEM = otherCert }, []string{"are not a PEM certificate chain and its private key"}},
		{"external secrets with a key", func(c *Config) { c.ExternalSecrets = true }, []string{"ExternalSecrets: AdminKey, TLSCertificatePEM and TLSPrivateKeyPEM must be empty"}},
		{"same namespaces", func(c *Config) { c.SandboxNamespace = "sandbox-system" }, []string{`Namespace and SandboxNamespace are both "sandbox-system"`}},
		{"bad namespace", func(c *Config) { c.Namespace = "Sandbox.System" }, []string{`Namespace "Sandbox.System" is not a namespace name`}},
		{"bad sandbox namespace", func(c *Config) { c.SandboxNamespace = "-x" }, []string{`SandboxNamespace "-x" is not a namespace name`}},
		{"negative replicas", func(c *Config) { c.Replicas = -1 }, []string{"Replicas is -1"}},
		{"service type", func(c *Config) { c.Service.Type = "Ingress" }, []string{`Service.Type "Ingress": want LoadBalancer, NodePort or ClusterIP`}},
		{"source ranges without LB", func(c *Config) {
			c.Service.Type = "NodePort"
			c.Service.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}, []string{"Service.LoadBalancerSourceRanges needs Service.Type LoadBalancer"}},
		{"bad source range", func(c *Config) { c.Service.LoadBalancerSourceRanges = []string{"10.0.0.1"} }, []string{`"10.0.0.1" is not a CIDR`}},
		{"bad annotation", func(c *Config) { c.Service.Annotations = map[string]string{"not valid/key/x": "v"} }, []string{`Service.Annotations: "not valid/key/x"`}},
		{"bad quantity", func(c *Config) { c.Resources.MemoryLimit = "lots" }, []string{`Resources.MemoryLimit "lots" is not a positive Kubernetes quantity`}},
		{"request over limit", func(c *Config) { c.Resources.CPURequest = "2" }, []string{"Resources.CPURequest 2 is more than Resources.CPULimit 1"}},
		{"pool without template", func(c *Config) { c.Pools = []Pool{{Name: "p", Size: 1}} }, []string{"Pools[0].Template is required"}},
		{"duplicate pools", func(c *Config) { c.Pools = []Pool{{Template: "base"}, {Template: "base", Size: 1}} }, []string{`Pools[1].Name "base" is used by another pool`}},
		{"pool size", func(c *Config) { c.Pools = []Pool{{Template: "base", Size: 101}} }, []string{"Pools[0].Size is 101; want 0 to 100"}},
		{"pool name", func(c *Config) { c.Pools = []Pool{{Template: "code_interpreter"}} }, []string{`Pools[0].Name "code_interpreter" is not a pool name`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.change(&c)
			err := c.WithDefaults().Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err := Objects(c); err == nil {
				t.Error("Objects accepted it")
			}
		})
	}
}

func TestObjectsOrderAndLabels(t *testing.T) {
	c := tlsConfig(t)
	c.Pools = []Pool{{Template: "code-interpreter", Size: 2}}
	var kinds []string
	for _, o := range objects(t, c) {
		if k := o.GetKind(); len(kinds) == 0 || kinds[len(kinds)-1] != k {
			kinds = append(kinds, k)
		}
		if o.GetLabels()["app.kubernetes.io/managed-by"] != "sandboxstack" {
			t.Errorf("%s %s labels %v: no managed-by=sandboxstack", o.GetKind(), o.GetName(), o.GetLabels())
		}
	}
	want := []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding", "ClusterRole",
		"ClusterRoleBinding", "NetworkPolicy", "Secret", "Deployment", "Service", "PodDisruptionBudget", "SandboxPool"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds in order %v, want %v", kinds, want)
	}
}

// allStrings collects every string in an object (keys and values).
func allStrings(v any, out map[string]bool) {
	switch v := v.(type) {
	case string:
		out[v] = true
	case map[string]any:
		for k, e := range v {
			out[k] = true
			allStrings(e, out)
		}
	case []any:
		for _, e := range v {
			allStrings(e, out)
		}
	}
}

func TestNamespaceSubstitution(t *testing.T) {
	c := tlsConfig(t)
	c.Namespace, c.SandboxNamespace = "mgr", "sbx"
	c.Pools = []Pool{{Template: "base", Size: 1}}
	objs := objects(t, c)
	for _, o := range objs {
		seen := map[string]bool{}
		allStrings(o.Object, seen)
		for _, old := range []string{"sandbox-system", "sandboxes"} {
			if seen[old] {
				t.Errorf("%s %s still names namespace %q", o.GetKind(), o.GetName(), old)
			}
		}
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding":
			if o.GetNamespace() != "" {
				t.Errorf("cluster-scoped %s %s has namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		case "Role", "RoleBinding", "NetworkPolicy", "SandboxPool":
			if o.GetNamespace() != "sbx" {
				t.Errorf("%s %s in namespace %q, want sbx", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		default:
			if o.GetNamespace() != "mgr" {
				t.Errorf("%s %s in namespace %q, want mgr", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		}
	}
	var names []string
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			names = append(names, o.GetName())
		}
	}
	if !reflect.DeepEqual(names, []string{"mgr", "sbx"}) {
		t.Errorf("Namespaces %v, want [mgr sbx]", names)
	}
	// The Pod Security labels of the YAML stay with the renamed namespaces.
	if l := find(t, objs, "Namespace", "sbx", nil).GetLabels(); l["pod-security.kubernetes.io/enforce"] != "baseline" {
		t.Errorf("namespace sbx labels %v, want enforce baseline", l)
	}
	for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
		name := "sandbox-manager"
		if kind == "ClusterRoleBinding" {
			name = "sandbox-manager-crd-reader"
		}
		subjects, _, _ := unstructured.NestedSlice(find(t, objs, kind, name, nil).Object, "subjects")
		if ns := subjects[0].(map[string]any)["namespace"]; ns != "mgr" {
			t.Errorf("%s subject namespace %v, want mgr", kind, ns)
		}
	}
	np := find(t, objs, "NetworkPolicy", "sandboxes-from-manager", nil)
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	from := ingress[0].(map[string]any)["from"].([]any)[0].(map[string]any)
	if ns, _, _ := unstructured.NestedString(from, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"); ns != "mgr" {
		t.Errorf("ingress namespaceSelector names %q, want mgr", ns)
	}
	// Other namespaces a policy names are not ours and stay.
	egress, _, _ := unstructured.NestedSlice(find(t, objs, "NetworkPolicy", "sandboxes-egress", nil).Object, "spec", "egress")
	dns := egress[0].(map[string]any)["to"].([]any)[0].(map[string]any)
	if ns, _, _ := unstructured.NestedString(dns, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"); ns != "kube-system" {
		t.Errorf("DNS egress namespaceSelector names %q, want kube-system", ns)
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", "sandbox-manager", &d)
	if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--kube-namespace=sbx") {
		t.Errorf("args %q: no --kube-namespace=sbx", args)
	}
}

func TestDeployment(t *testing.T) {
	c := tlsConfig(t)
	c.EnvdImage = "ghcr.io/sandboxstack/envd:0.4.0"
	objs := objects(t, c)
	var d appsv1.Deployment
	find(t, objs, "Deployment", "sandbox-manager", &d)
	if *d.Spec.Replicas != 2 || d.Namespace != "sandbox-system" {
		t.Errorf("replicas %d namespace %q", *d.Spec.Replicas, d.Namespace)
	}
	pod := d.Spec.Template
	if pod.Labels["app.kubernetes.io/name"] != "sandbox-manager" || pod.Labels["app.kubernetes.io/part-of"] != "sandboxstack" {
		t.Errorf("pod labels %v", pod.Labels)
	}
	ctr := pod.Spec.Containers[0]
	wantArgs := []string{"serve", "--runtime=kube", "--kube-namespace=sandboxes", "--domain=sandbox.example.com",
		"--image-registry=ghcr.io/sandboxstack", "--image-tag=0.4.0", "--envd-image=ghcr.io/sandboxstack/envd:0.4.0"}
	if !reflect.DeepEqual(ctr.Args, wantArgs) {
		t.Errorf("args %q, want %q", ctr.Args, wantArgs)
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{
		"SANDBOX_LISTEN": "$(POD_IP):3000", "SANDBOX_TLS_LISTEN": "$(POD_IP):3443", "SANDBOX_REPLICA_ID": "$(POD_NAME)",
		"SANDBOX_ADMIN_KEY_FILE": "/etc/sandbox-manager/admin/admin-key",
		"SANDBOX_TLS_CERT":       "/etc/sandbox-manager/tls/tls.crt", "SANDBOX_TLS_KEY": "/etc/sandbox-manager/tls/tls.key",
	} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if ctr.ReadinessProbe.HTTPGet.Path != "/health" || ctr.LivenessProbe.HTTPGet.Port.StrVal != "http" {
		t.Errorf("probes %+v %+v", ctr.ReadinessProbe, ctr.LivenessProbe)
	}
	sc := ctr.SecurityContext
	if !*pod.Spec.SecurityContext.RunAsNonRoot || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem ||
		len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("security context pod %+v container %+v", pod.Spec.SecurityContext, sc)
	}
	if ctr.Resources.Limits.Memory().String() != "512Mi" || ctr.Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("resources %+v", ctr.Resources)
	}
	if tsc := pod.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].TopologyKey != "kubernetes.io/hostname" || tsc[0].WhenUnsatisfiable != corev1.ScheduleAnyway {
		t.Errorf("topology spread %+v", tsc)
	}
	var svc corev1.Service
	find(t, objs, "Service", "sandbox-manager", &svc)
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[1].Port != 443 || svc.Spec.Ports[1].TargetPort.StrVal != "https" {
		t.Errorf("service %+v", svc.Spec)
	}
	var pdb policyv1.PodDisruptionBudget
	find(t, objs, "PodDisruptionBudget", "sandbox-manager", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntVal != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB %+v", pdb.Spec)
	}
	var admin corev1.Secret
	find(t, objs, "Secret", AdminKeySecret, &admin)
	if string(admin.Data[AdminKeySecretKey]) != testAdminKey {
		t.Errorf("admin key Secret data %q", admin.Data)
	}
	var tlsSecret corev1.Secret
	find(t, objs, "Secret", TLSSecret, &tlsSecret)
	if tlsSecret.Type != corev1.SecretTypeTLS || string(tlsSecret.Data["tls.crt"]) != string(c.TLSCertificatePEM) {
		t.Errorf("TLS Secret type %s", tlsSecret.Type)
	}

	c.Replicas = 1
	find(t, objects(t, c), "PodDisruptionBudget", "sandbox-manager", &pdb)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntVal != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB of one replica %+v, want maxUnavailable 1", pdb.Spec)
	}
}

func TestNoKeyValueInPodSpec(t *testing.T) {
	c := tlsConfig(t)
	objs := objects(t, c)
	d := find(t, objs, "Deployment", "sandbox-manager", nil)
	spec, err := json.Marshal(d.Object)
	if err != nil {
		t.Fatal(err)
	}
	secretsValues := []string{testAdminKey, base64.StdEncoding.EncodeToString([]byte(testAdminKey)),
		string(c.TLSPrivateKeyPEM), base64.StdEncoding.EncodeToString(c.TLSPrivateKeyPEM)}
	for _, v := range secretsValues {
		if strings.Contains(string(spec), strings.TrimSpace(v)) {
			t.Errorf("the Deployment contains a key value")
		}
	}
	var typed appsv1.Deployment
	find(t, objs, "Deployment", "sandbox-manager", &typed)
	for _, e := range typed.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && (e.ValueFrom.SecretKeyRef != nil || e.ValueFrom.ConfigMapKeyRef != nil) {
			t.Errorf("env %s comes from a key reference: keys reach the manager as files", e.Name)
		}
		if e.Name == "SANDBOX_ADMIN_KEY" || e.Name == "SANDBOX_API_KEYS" {
			t.Errorf("env %s is set: keys reach the manager as files", e.Name)
		}
	}
	// Nothing in the whole manifest without Secrets carries a key either.
	m, err := Manifest(c, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range secretsValues {
		if strings.Contains(string(m), strings.TrimSpace(v)) {
			t.Errorf("Manifest without Secrets contains a key value")
		}
	}
	if strings.Contains(string(m), "kind: Secret") {
		t.Error("Manifest without Secrets has a Secret")
	}
	withSecrets, err := Manifest(c, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(withSecrets), "\nkind: Secret\n"); n != 2 {
		t.Errorf("Manifest with Secrets has %d Secrets, want 2", n)
	}
}

func configHashOf(t *testing.T, c Config) string {
	t.Helper()
	var d appsv1.Deployment
	find(t, objects(t, c), "Deployment", "sandbox-manager", &d)
	return d.Spec.Template.Annotations[ConfigHashAnnotation]
}

func TestConfigHashFollowsTheSecrets(t *testing.T) {
	c := tlsConfig(t)
	h := configHashOf(t, c)
	if len(h) != 64 {
		t.Fatalf("config hash %q, want 64 hex characters", h)
	}
	if again := configHashOf(t, c); again != h {
		t.Errorf("config hash of the same Config changed: %s then %s", h, again)
	}
	renewed := c
	renewed.TLSCertificatePEM, renewed.TLSPrivateKeyPEM = testCert(t, "sandbox.example.com")
	if configHashOf(t, renewed) == h {
		t.Error("a new certificate does not change the config hash")
	}
	rotated := c
	rotated.AdminKey = strings.ToUpper(testAdminKey)
	if configHashOf(t, rotated) == h {
		t.Error("a new admin key does not change the config hash")
	}
	// Settings that are not Secrets leave it alone (they change the pod template by themselves).
	other := c
	other.Replicas = 5
	if configHashOf(t, other) != h {
		t.Error("replicas changed the config hash")
	}
}

func TestWithoutTLSThereIsNoHTTPS(t *testing.T) {
	c := tlsConfig(t)
	c.TLSCertificatePEM, c.TLSPrivateKeyPEM = nil, nil
	objs := objects(t, c)
	var d appsv1.Deployment
	find(t, objs, "Deployment", "sandbox-manager", &d)
	ctr := d.Spec.Template.Spec.Containers[0]
	if len(ctr.Ports) != 1 || ctr.Ports[0].Name != "http" {
		t.Errorf("container ports %+v, want http only", ctr.Ports)
	}
	for _, e := range ctr.Env {
		if strings.HasPrefix(e.Name, "SANDBOX_TLS_") {
			t.Errorf("env %s without TLS", e.Name)
		}
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == TLSSecret {
			t.Error("TLS Secret volume without TLS")
		}
	}
	var svc corev1.Service
	find(t, objs, "Service", "sandbox-manager", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].Port != 80 {
		t.Errorf("service ports %+v, want http 80 only", svc.Spec.Ports)
	}
	for _, o := range objs {
		if o.GetKind() == "Secret" && o.GetName() != AdminKeySecret {
			t.Errorf("Secret %s without TLS", o.GetName())
		}
	}
}

func TestExternalSecrets(t *testing.T) {
	c := Config{Image: "ghcr.io/sandboxstack/sandbox-manager:0.4.0", Domain: "sandbox.example.com", ExternalSecrets: true}
	objs := objects(t, c)
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("Secret %s with ExternalSecrets", o.GetName())
		}
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", "sandbox-manager", &d)
	if _, ok := d.Spec.Template.Annotations[ConfigHashAnnotation]; ok {
		t.Error("config hash without the Secrets' data")
	}
	volumes := map[string]bool{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			volumes[v.Secret.SecretName] = true
		}
	}
	if !volumes[AdminKeySecret] || !volumes[TLSSecret] {
		t.Errorf("Secret volumes %v, want the admin key's and the certificate's", volumes)
	}
	var svc corev1.Service
	find(t, objs, "Service", "sandbox-manager", &svc)
	if len(svc.Spec.Ports) != 2 {
		t.Errorf("service ports %+v, want http and https", svc.Spec.Ports)
	}
}

func TestManifestDecodesToObjects(t *testing.T) {
	c := tlsConfig(t)
	c.Pools = []Pool{{Template: "base", Size: 1}}
	objs := objects(t, c)
	m, err := Manifest(c, true)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(m), "\n---\n")
	if len(docs) != len(objs) {
		t.Fatalf("%d documents, want %d", len(docs), len(objs))
	}
	for i, doc := range docs {
		var got map[string]any
		if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		want, err := json.Marshal(objs[i].Object)
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, _ := json.Marshal(got)
		if string(gotJSON) != string(want) {
			t.Errorf("document %d differs from %s %s:\n%s\nvs\n%s", i, objs[i].GetKind(), objs[i].GetName(), gotJSON, want)
		}
	}
}
