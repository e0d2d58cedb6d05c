package kubenode

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// accessTokenFlag is envd's option that names its token file. The file is in a Secret volume of the
// pod; the test node delivers it to envd as the local sandbox's AccessToken (which the local runtime
// hands to envd on a drained pipe), so envd reads the file's bytes as a kubelet would have given them.
const accessTokenFlag = "--access-token-file"

// envdToken returns the contents of the file that envd's --access-token-file names in c's command,
// read from the pod's Secret volume mounted over it, as the kubelet would project it ("" when the
// command names no token file).
func (r *envResolver) envdToken(ctx context.Context, c *corev1.Container) (string, error) {
	file := ""
	for i, a := range c.Command {
		if a == accessTokenFlag && i+1 < len(c.Command) {
			file = c.Command[i+1]
		} else if v, ok := strings.CutPrefix(a, accessTokenFlag+"="); ok {
			file = v
		}
	}
	if file == "" {
		return "", nil
	}
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok || m.SubPath != "" {
			continue
		}
		for _, v := range r.pod.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.Secret == nil {
				return "", configErrorf("envd's token file %s is on volume %s, which is not a Secret volume (the test node projects only those)", file, v.Name)
			}
			s, err := r.secret(ctx, v.Secret.SecretName, v.Secret.Optional)
			if err != nil {
				return "", err
			}
			if s == nil {
				return "", configErrorf("optional Secret %s of envd's token is missing", v.Secret.SecretName)
			}
			key := rel
			if len(v.Secret.Items) > 0 {
				key = ""
				for _, it := range v.Secret.Items {
					if it.Path == rel {
						key = it.Key
					}
				}
			}
			data, ok := s.Data[key]
			if key == "" || !ok {
				return "", configErrorf("the Secret volume %s has no file %s (envd's token file %s)", v.Name, rel, file)
			}
			return string(data), nil
		}
		return "", configErrorf("volume mount %s names no volume of the pod", m.Name)
	}
	return "", configErrorf("envd's token file %s is on no volume of the container", file)
}

// envResolver turns a container's env and envFrom into values, as the kubelet does, reading Secrets
// and ConfigMaps from the API. Resource field references are not supported (a sandbox's limits are
// applied by the local runtime, not exposed to it).
type envResolver struct {
	client kubernetes.Interface
	pod    *corev1.Pod
	podIP  string
	hostIP string
}

// configError is a problem with the pod's configuration (a missing Secret, an unsupported reference):
// the kubelet reports it as CreateContainerConfigError and retries.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// resolve returns the container's environment: envFrom first, then env (which overrides), in order,
// with $(VAR) references to earlier variables expanded as the kubelet does.
func (r *envResolver) resolve(ctx context.Context, c *corev1.Container) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		values, err := r.envFrom(ctx, from)
		if err != nil {
			return nil, err
		}
		for k, v := range values {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expand(e.Value, env)
			continue
		}
		v, ok, err := r.valueFrom(ctx, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			env[e.Name] = v
		}
	}
	return env, nil
}

func (r *envResolver) envFrom(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.SecretRef != nil:
		s, err := r.secret(ctx, from.SecretRef.Name, from.SecretRef.Optional)
		if err != nil || s == nil {
			return nil, err
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	case from.ConfigMapRef != nil:
		cm, err := r.configMap(ctx, from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
		if err != nil || cm == nil {
			return nil, err
		}
		return cm.Data, nil
	}
	return nil, configErrorf("envFrom: neither secretRef nor configMapRef")
}

// valueFrom resolves one reference; ok is false for an optional reference to something missing.
func (r *envResolver) valueFrom(ctx context.Context, from *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		v, err := r.field(from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := r.secret(ctx, ref.Name, ref.Optional)
		if err != nil || s == nil {
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if isOptional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in Secret %s/%s", ref.Key, r.pod.Namespace, ref.Name)
		}
		return string(v), true, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := r.configMap(ctx, ref.Name, ref.Optional)
		if err != nil || cm == nil {
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if isOptional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, r.pod.Namespace, ref.Name)
		}
		return v, true, nil
	}
	return "", false, configErrorf("unsupported valueFrom (the test node resolves fieldRef, secretKeyRef and configMapKeyRef)")
}

var labelFieldPath = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']*)'\]$`)

// field is a downward-API fieldRef value.
func (r *envResolver) field(path string) (string, error) {
	p := r.pod
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return r.podIP, nil
	case "status.hostIP", "status.hostIPs":
		return r.hostIP, nil
	}
	if m := labelFieldPath.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return p.Labels[m[2]], nil
		}
		return p.Annotations[m[2]], nil
	}
	return "", configErrorf("unsupported fieldRef %q", path)
}

func (r *envResolver) secret(ctx context.Context, name string, optional *bool) (*corev1.Secret, error) {
	s, err := r.client.CoreV1().Secrets(r.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if isOptional(optional) {
			return nil, nil
		}
		return nil, configErrorf("secret %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get Secret %s/%s: %w", r.pod.Namespace, name, err)
	}
	return s, nil
}

func (r *envResolver) configMap(ctx context.Context, name string, optional *bool) (*corev1.ConfigMap, error) {
	cm, err := r.client.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if isOptional(optional) {
			return nil, nil
		}
		return nil, configErrorf("configmap %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get ConfigMap %s/%s: %w", r.pod.Namespace, name, err)
	}
	return cm, nil
}

func isOptional(b *bool) bool { return b != nil && *b }

// expand replaces $(NAME) with earlier variables' values; $$(NAME) escapes to $(NAME), and a reference
// to an unknown variable stays as written (the kubelet's rules).
func expand(s string, env map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
