package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Paths and names inside a sandbox pod.
const (
	envdDir          = "/opt/sandbox/bin"
	envdPath         = envdDir + "/envd"
	envdVolume       = "envd-bin"
	tokenVolume      = "envd-token"
	tokenDir         = "/run/sandbox-token"
	tokenPath        = tokenDir + "/token"
	mainContainer    = "sandbox"
	installContainer = "envd-install"
	// envdImageBinary is where the envd image (server/templates/envd/Dockerfile) keeps the binary.
	envdImageBinary = "/usr/local/bin/envd"
	// terminationGrace: a sandbox has nothing to flush; a short grace frees resources soon.
	terminationGrace = 5
)

// Reserved keys of sandbox.Spec.Metadata that the manager sets (server/sandbox).
const (
	specMetaPool  = "sandboxstack.pool"
	specMetaAlias = "sandboxstack.alias"
	specMetaOwner = "sandboxstack.owner"
)

// tokenHash is the SHA-256 of an envd token, which pods carry instead of the token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// podSpec is what buildPod needs beyond the sandbox.Spec.
type podSpec struct {
	spec             sandbox.Spec
	tmpl             Template
	namespace        string
	envdImage        string
	runtimeClassName string
	pool             *corev1.ObjectReference // the SandboxPool that owns a warm pod (nil otherwise)
	poolUID          string
	now              time.Time
}

// envKeyPrefix marks the entries of a sandbox's Secret that are its environment variables.
const envKeyPrefix = "env."

// envKey is the Secret data key of the environment variable name: "env.<name>" when name is a valid
// key, else "env-<hex of name>" (Secret keys allow only [-._a-zA-Z0-9]).
func envKey(name string) string {
	valid := name != ""
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			valid = false
			break
		}
	}
	if valid {
		return envKeyPrefix + name
	}
	return "env-" + hex.EncodeToString([]byte(name))
}

// sandboxCaps are the capabilities the sandbox container keeps: what envd needs to act as the
// sandbox's users (switch ids, own and signal their files and processes) and no more; all of them are
// in the Pod Security "baseline" set. MKNOD, NET_RAW, SYS_CHROOT and SETFCAP of the runtime's default
// set are dropped.
var sandboxCaps = []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "AUDIT_WRITE"}

// buildSecret is a sandbox's Secret: its envd token and its environment variables, which the pod only
// references (whoever may read pods must not read these).
func buildSecret(namespace string, spec sandbox.Spec) *corev1.Secret {
	data := map[string][]byte{TokenKey: []byte(spec.AccessToken)}
	for k, v := range spec.EnvVars {
		data[envKey(k)] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      podName(spec.ID),
			Namespace: namespace,
			Labels:    map[string]string{LabelManagedBy: ManagedBy, LabelID: spec.ID},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: new(true),
		Data:      data,
	}
}

// buildPod is a sandbox's pod in phase starting: the template's image with envd injected, the
// token from the sandbox's Secret, the manager's record in labels and annotations.
func buildPod(ps podSpec) *corev1.Pod {
	spec, tmpl := ps.spec, ps.tmpl
	name := podName(spec.ID)
	lbls := map[string]string{
		LabelManagedBy: ManagedBy,
		LabelID:        spec.ID,
		LabelTemplate:  spec.Template,
		LabelPhase:     PhaseStarting,
	}
	if pool := spec.Metadata[specMetaPool]; pool != "" {
		lbls[LabelPool] = pool
	}
	if owner := spec.Metadata[specMetaOwner]; owner != "" && validLabelValue(owner) {
		lbls[LabelOwner] = owner
	}
	ann := map[string]string{
		AnnotationTokenHash:  tokenHash(spec.AccessToken),
		AnnotationPhaseSince: formatTime(ps.now),
	}
	if alias := spec.Metadata[specMetaAlias]; alias != "" {
		ann[AnnotationAlias] = alias
	}
	if md := userMetadata(spec.Metadata); len(md) > 0 {
		raw, _ := json.Marshal(md)
		ann[AnnotationMetadata] = string(raw)
	}
	if !spec.EndAt.IsZero() {
		ann[AnnotationEndAt] = formatTime(spec.EndAt)
	}

	user, workdir := tmpl.User, tmpl.Workdir
	if user == "" {
		user = "user"
	}
	if workdir == "" {
		workdir = "/home/user"
	}
	// All interfaces: the manager reaches envd at the pod IP (the sandbox namespace's NetworkPolicy
	// admits only the manager). The token is a root-only file of the Secret volume.
	envdArgs := []string{"--listen", ":" + strconv.Itoa(sandbox.EnvdPort), "--default-user", user, "--workdir", workdir,
		"--access-token-file", tokenPath, "--loopback-envs"}
	command := append([]string{envdPath}, envdArgs...)
	if tmpl.Entrypoint != "" {
		// The image's program in the background, then envd in the shell's place (so it gets the
		// container's signals).
		command = append([]string{"/bin/sh", "-c", "(" + tmpl.Entrypoint + ") &\nexec \"$0\" \"$@\"", envdPath}, envdArgs...)
	}

	// The values stay in the Secret; the pod names only the keys.
	var env []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(spec.EnvVars)) {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name},
			Key:                  envKey(k),
		}}})
	}

	ports := []corev1.ContainerPort{{Name: "envd", ContainerPort: sandbox.EnvdPort, Protocol: corev1.ProtocolTCP}}
	for _, p := range tmpl.Ports {
		ports = append(ports, corev1.ContainerPort{ContainerPort: p, Protocol: corev1.ProtocolTCP})
	}

	// The manager's limits are the template's (Runtime.Templates) or its pool's: taken as they are,
	// so that the record read back from the pod carries the same limits the manager compares with.
	cpu, mem := spec.Limits.CPUMillis, spec.Limits.MemoryMB
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	if cpu > 0 {
		q := *resource.NewMilliQuantity(cpu, resource.DecimalSI)
		res.Requests[corev1.ResourceCPU], res.Limits[corev1.ResourceCPU] = q, q
	}
	if mem > 0 {
		q := *resource.NewQuantity(mem<<20, resource.BinarySI)
		res.Requests[corev1.ResourceMemory], res.Limits[corev1.ResourceMemory] = q, q
	}

	main := corev1.Container{
		Name:      mainContainer,
		Image:     tmpl.Image,
		Command:   command,
		Env:       env,
		Ports:     ports,
		Resources: res,
		VolumeMounts: []corev1.VolumeMount{
			{Name: envdVolume, MountPath: envdDir, ReadOnly: true},
			{Name: tokenVolume, MountPath: tokenDir, ReadOnly: true},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: sandboxCaps},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(sandbox.EnvdPort)}},
			PeriodSeconds: 1, FailureThreshold: 3,
		},
	}
	switch {
	case len(tmpl.ReadyCommand) > 0:
		main.StartupProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: tmpl.ReadyCommand}},
			PeriodSeconds: 1, FailureThreshold: 300, TimeoutSeconds: 2,
		}
	case tmpl.ReadyPort != 0:
		main.StartupProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(tmpl.ReadyPort)}},
			PeriodSeconds: 1, FailureThreshold: 300,
		}
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ps.namespace,
			Labels:      lbls,
			Annotations: ann,
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64(terminationGrace)),
			// Code in a sandbox must not reach the Kubernetes API as anyone.
			AutomountServiceAccountToken: new(false),
			EnableServiceLinks:           new(false),
			Hostname:                     spec.ID,
			InitContainers: []corev1.Container{{
				Name:         installContainer,
				Image:        ps.envdImage,
				Command:      []string{"cp", envdImageBinary, envdPath},
				VolumeMounts: []corev1.VolumeMount{{Name: envdVolume, MountPath: envdDir}},
				// Copying a file into the (world-writable) emptyDir needs no privilege at all.
				SecurityContext: &corev1.SecurityContext{
					RunAsUser:                new(int64(65534)),
					RunAsGroup:               new(int64(65534)),
					RunAsNonRoot:             new(true),
					AllowPrivilegeEscalation: new(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
			Containers: []corev1.Container{main},
			SecurityContext: &corev1.PodSecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Volumes: []corev1.Volume{{
				Name:         envdVolume,
				VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			}, {
				// Only the token, readable by root alone: envd reads it, the sandbox's user cannot.
				Name: tokenVolume,
				VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName:  name,
					Items:       []corev1.KeyToPath{{Key: TokenKey, Path: "token"}},
					DefaultMode: new(int32(0o400)),
				}},
			}},
		},
	}
	if tmpl.RunAsUser != 0 {
		// A template whose image runs as one unprivileged user: envd runs as that user too (it
		// then cannot act as others), and the token file is given to it through the pod's group.
		uid := tmpl.RunAsUser
		pod.Spec.SecurityContext.RunAsUser = new(uid)
		pod.Spec.SecurityContext.RunAsGroup = new(uid)
		pod.Spec.SecurityContext.FSGroup = new(uid)
		pod.Spec.SecurityContext.RunAsNonRoot = new(true)
		pod.Spec.Volumes[1].Secret.DefaultMode = new(int32(0o440))
		main.SecurityContext.Capabilities.Add = nil
		pod.Spec.Containers[0] = main
	}
	if ps.runtimeClassName != "" {
		pod.Spec.RuntimeClassName = new(ps.runtimeClassName)
	}
	if ps.pool != nil {
		// Owned by its pool while warm: deleting the pool lets the garbage collector remove it.
		pod.OwnerReferences = []metav1.OwnerReference{poolOwnerRef(ps.pool.Name, ps.poolUID)}
	}
	return pod
}

func poolOwnerRef(name, uid string) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: poolGVR.GroupVersion().String(),
		Kind:       poolKind,
		Name:       name,
		UID:        typesUID(uid),
	}
}

// userMetadata drops the manager's reserved keys.
func userMetadata(md map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		if !strings.HasPrefix(k, "sandboxstack.") {
			out[k] = v
		}
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// validLabelValue: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends.
func validLabelValue(v string) bool {
	if len(v) > 63 {
		return false
	}
	for i, c := range v {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && !((c == '-' || c == '_' || c == '.') && i > 0 && i < len(v)-1) {
			return false
		}
	}
	return true
}

// podLimits reads back the limits buildPod set on the main container.
func podLimits(p *corev1.Pod) sandbox.Limits {
	var l sandbox.Limits
	for _, c := range p.Spec.Containers {
		if c.Name != mainContainer {
			continue
		}
		if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
			l.CPUMillis = q.MilliValue()
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			l.MemoryMB = q.Value() >> 20
		}
	}
	return l
}
