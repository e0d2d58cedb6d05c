package deploy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Where the manager's container finds its files and listens.
const (
	httpPort      = 3000
	httpsPort     = 3443
	adminKeyDir   = "/etc/sandbox-manager/admin"
	tlsDir        = "/etc/sandbox-manager/tls"
	stateDir      = "/var/lib/sandbox-manager"
	containerName = "manager"
	// runAsUser is the image's unprivileged user (distroless "nonroot").
	runAsUser = 65532
)

func selectorLabels() map[string]string {
	return map[string]string{labelName: ManagerName}
}

func objectLabels() map[string]string {
	return map[string]string{labelName: ManagerName, labelPartOf: partOf, labelManagedBy: managedBy}
}

func meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: objectLabels()}
}

// secrets are the admin key's and (with TLS) the certificate's; none with ExternalSecrets.
func secrets(c Config) []*corev1.Secret {
	if c.ExternalSecrets {
		return nil
	}
	typeMeta := metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	out := []*corev1.Secret{{
		TypeMeta:   typeMeta,
		ObjectMeta: meta(AdminKeySecret, c.Namespace),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{AdminKeySecretKey: []byte(c.AdminKey)},
	}}
	if c.TLS() {
		out = append(out, &corev1.Secret{
			TypeMeta:   typeMeta,
			ObjectMeta: meta(TLSSecret, c.Namespace),
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: c.TLSCertificatePEM, corev1.TLSPrivateKeyKey: c.TLSPrivateKeyPEM},
		})
	}
	return out
}

// configHash is the SHA-256 of the Secrets' names, keys and values, each length-prefixed so that no
// two different contents hash alike.
func configHash(secrets []*corev1.Secret) string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, s := range secrets {
		field([]byte(s.Name))
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			field([]byte(k))
			field(s.Data[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func deployment(c Config, secrets []*corev1.Secret) *appsv1.Deployment {
	args := []string{
		"serve", "--runtime=kube", "--kube-namespace=" + c.SandboxNamespace, "--domain=" + c.Domain,
		"--image-registry=" + c.TemplateRegistry, "--image-tag=" + c.TemplateTag,
	}
	if c.EnvdImage != "" {
		args = append(args, "--envd-image="+c.EnvdImage)
	}
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	env := []corev1.EnvVar{
		fieldEnv("POD_IP", "status.podIP"),
		fieldEnv("POD_NAME", "metadata.name"),
		{Name: "SANDBOX_LISTEN", Value: "$(POD_IP):" + strconv.Itoa(httpPort)},
		{Name: "SANDBOX_REPLICA_ID", Value: "$(POD_NAME)"},
		{Name: "SANDBOX_ADMIN_KEY_FILE", Value: adminKeyDir + "/" + AdminKeySecretKey},
		{Name: "SANDBOX_STATE_DIR", Value: stateDir},
	}
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: httpPort, Protocol: corev1.ProtocolTCP}}
	mounts := []corev1.VolumeMount{
		{Name: "admin-key", MountPath: adminKeyDir, ReadOnly: true},
		{Name: "state", MountPath: stateDir},
		{Name: "tmp", MountPath: "/tmp"},
	}
	secretMode := int32(0o440) // the manager's group (fsGroup) reads it, nobody else
	volumes := []corev1.Volume{
		{Name: "admin-key", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: AdminKeySecret, DefaultMode: &secretMode,
			Items: []corev1.KeyToPath{{Key: AdminKeySecretKey, Path: AdminKeySecretKey}},
		}}},
		{Name: "state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if c.TLS() {
		env = append(env,
			corev1.EnvVar{Name: "SANDBOX_TLS_LISTEN", Value: "$(POD_IP):" + strconv.Itoa(httpsPort)},
			corev1.EnvVar{Name: "SANDBOX_TLS_CERT", Value: tlsDir + "/" + corev1.TLSCertKey},
			corev1.EnvVar{Name: "SANDBOX_TLS_KEY", Value: tlsDir + "/" + corev1.TLSPrivateKeyKey},
		)
		ports = append(ports, corev1.ContainerPort{Name: "https", ContainerPort: httpsPort, Protocol: corev1.ProtocolTCP})
		mounts = append(mounts, corev1.VolumeMount{Name: "tls", MountPath: tlsDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: TLSSecret, DefaultMode: &secretMode,
			Items: []corev1.KeyToPath{{Key: corev1.TLSCertKey, Path: corev1.TLSCertKey}, {Key: corev1.TLSPrivateKeyKey, Path: corev1.TLSPrivateKeyKey}},
		}}})
	}
	health := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}}
	var annotations map[string]string
	if !c.ExternalSecrets {
		annotations = map[string]string{ConfigHashAnnotation: configHash(secrets)}
	}
	replicas := c.Replicas
	maxSurge, maxUnavailable := intstr.FromInt32(1), intstr.FromInt32(0)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(ManagerName, c.Namespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selectorLabels()},
			// A new pod is ready before an old one goes: a rollout never lowers the serving replicas.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &maxSurge, MaxUnavailable: &maxUnavailable}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: objectLabels(), Annotations: annotations},
				Spec: corev1.PodSpec{
					ServiceAccountName: ManagerName,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(runAsUser)), RunAsGroup: ptr(int64(runAsUser)),
						FSGroup:        ptr(int64(runAsUser)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  containerName,
						Image: c.Image,
						Args:  args,
						Env:   env,
						Ports: ports,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse(c.Resources.CPURequest),
								corev1.ResourceMemory: resource.MustParse(c.Resources.MemoryRequest),
							},
							Limits: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse(c.Resources.CPULimit),
								corev1.ResourceMemory: resource.MustParse(c.Resources.MemoryLimit),
							},
						},
						VolumeMounts:   mounts,
						ReadinessProbe: &corev1.Probe{ProbeHandler: health, PeriodSeconds: 2, TimeoutSeconds: 3, FailureThreshold: 3},
						LivenessProbe:  &corev1.Probe{ProbeHandler: health, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr(false),
							ReadOnlyRootFilesystem:   ptr(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: volumes,
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway,
						LabelSelector: &metav1.LabelSelector{MatchLabels: selectorLabels()},
					}},
				},
			},
		},
	}
}

func service(c Config) *corev1.Service {
	ports := []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}
	if c.TLS() {
		ports = append(ports, corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP})
	}
	m := meta(ManagerName, c.Namespace)
	m.Annotations = c.Service.Annotations
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: m,
		Spec: corev1.ServiceSpec{
			Type:                     corev1.ServiceType(c.Service.Type),
			Selector:                 selectorLabels(),
			Ports:                    ports,
			LoadBalancerSourceRanges: c.Service.LoadBalancerSourceRanges,
		},
	}
}

// podDisruptionBudget keeps one pod serving through voluntary disruptions (node drains); a single
// replica may still be evicted, or it would block every drain.
func podDisruptionBudget(c Config) *policyv1.PodDisruptionBudget {
	spec := policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: selectorLabels()}}
	if c.Replicas == 1 {
		spec.MaxUnavailable = ptr(intstr.FromInt32(1))
	} else {
		spec.MinAvailable = ptr(intstr.FromInt32(1))
	}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: meta(ManagerName, c.Namespace),
		Spec:       spec,
	}
}

func sandboxPool(c Config, p Pool) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "sandbox.sandboxstack.io/v1alpha1",
		"kind":       "SandboxPool",
		"metadata": map[string]any{
			"name": p.Name, "namespace": c.SandboxNamespace,
			"labels": map[string]any{labelManagedBy: managedBy, labelPartOf: partOf},
		},
		"spec": map[string]any{"template": p.Template, "size": int64(p.Size)},
	}}
}

func ptr[T any](v T) *T { return &v }
