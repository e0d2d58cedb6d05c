package kubenode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// volumeFile is one file of a volume: its path inside the volume, content and mode.
type volumeFile struct {
	path string
	data []byte
	mode os.FileMode
}

// defaultVolumeMode is the kubelet's default for Secret, ConfigMap, projected and downward API files.
const defaultVolumeMode os.FileMode = 0o644

// materializeVolumes writes each of the pod's volumes into dir/<volume name>, as the kubelet's volume
// plugins do: Secret and ConfigMap keys (or their items) as files, projected volumes from their sources
// (a service account token from the TokenRequest API, bound to the pod), downward API files, and empty
// directories for emptyDir. A missing Secret or ConfigMap that is not optional is a configError (the
// kubelet retries the mount). It returns the host directory of every volume by name.
func (a *Agent) materializeVolumes(ctx context.Context, pod *corev1.Pod, dir string) (map[string]string, error) {
	r := &envResolver{client: a.client, pod: pod, hostIP: HostIP}
	paths := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		var files []volumeFile
		var err error
		switch {
		case v.EmptyDir != nil:
		case v.Secret != nil:
			files, err = secretFiles(ctx, r, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, v.Secret.DefaultMode)
		case v.ConfigMap != nil:
			files, err = configMapFiles(ctx, r, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, v.ConfigMap.DefaultMode)
		case v.DownwardAPI != nil:
			files, err = downwardFiles(r, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
		case v.Projected != nil:
			files, err = a.projectedFiles(ctx, r, v.Projected)
		default:
			err = configErrorf("volume %q: the test node supports emptyDir, secret, configMap, downwardAPI and projected volumes", v.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		root := filepath.Join(dir, v.Name)
		if err := os.RemoveAll(root); err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		for _, f := range files {
			p := filepath.Join(root, filepath.FromSlash(f.path))
			if !strings.HasPrefix(p, root+string(filepath.Separator)) {
				return nil, configErrorf("volume %q: path %q leaves the volume", v.Name, f.path)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			if err := os.WriteFile(p, f.data, f.mode); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			if err := os.Chmod(p, f.mode); err != nil { // WriteFile's mode is filtered by the umask
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
		}
		paths[v.Name] = root
	}
	return paths, nil
}

func fileMode(item, volume *int32) os.FileMode {
	switch {
	case item != nil:
		return os.FileMode(*item) & os.ModePerm
	case volume != nil:
		return os.FileMode(*volume) & os.ModePerm
	}
	return defaultVolumeMode
}

// keyFiles turns a Secret's or ConfigMap's data into files: every key, or only the listed items at
// their paths (a listed key that is missing is an error unless the volume is optional).
func keyFiles(kind, name string, data map[string][]byte, items []corev1.KeyToPath, optional *bool, defaultMode *int32) ([]volumeFile, error) {
	var files []volumeFile
	if len(items) == 0 {
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			files = append(files, volumeFile{path: k, data: data[k], mode: fileMode(nil, defaultMode)})
		}
		return files, nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if isOptional(optional) {
				continue
			}
			return nil, configErrorf("couldn't find key %s in %s %s", it.Key, kind, name)
		}
		files = append(files, volumeFile{path: it.Path, data: d, mode: fileMode(it.Mode, defaultMode)})
	}
	return files, nil
}

func secretFiles(ctx context.Context, r *envResolver, name string, items []corev1.KeyToPath, optional *bool, mode *int32) ([]volumeFile, error) {
	s, err := r.secret(ctx, name, optional)
	if err != nil || s == nil {
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return keyFiles("Secret", name, data, items, optional, mode)
}

func configMapFiles(ctx context.Context, r *envResolver, name string, items []corev1.KeyToPath, optional *bool, mode *int32) ([]volumeFile, error) {
	cm, err := r.configMap(ctx, name, optional)
	if err != nil || cm == nil {
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles("ConfigMap", name, data, items, optional, mode)
}

func downwardFiles(r *envResolver, items []corev1.DownwardAPIVolumeFile, defaultMode *int32) ([]volumeFile, error) {
	var files []volumeFile
	for _, it := range items {
		if it.FieldRef == nil {
			return nil, configErrorf("downward API file %q: the test node supports fieldRef only", it.Path)
		}
		var v string
		switch it.FieldRef.FieldPath {
		case "metadata.labels", "metadata.annotations":
			m := r.pod.Labels
			if it.FieldRef.FieldPath == "metadata.annotations" {
				m = r.pod.Annotations
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%q\n", k, m[k])
			}
			v = b.String()
		default:
			var err error
			if v, err = r.field(it.FieldRef.FieldPath); err != nil {
				return nil, err
			}
		}
		files = append(files, volumeFile{path: it.Path, data: []byte(v), mode: fileMode(it.Mode, defaultMode)})
	}
	return files, nil
}

// projectedFiles gathers a projected volume's sources. A serviceAccountToken source gets a token of
// the pod's service account from the TokenRequest API, bound to the pod, as the kubelet requests it.
func (a *Agent) projectedFiles(ctx context.Context, r *envResolver, p *corev1.ProjectedVolumeSource) ([]volumeFile, error) {
	var files []volumeFile
	for _, src := range p.Sources {
		var fs []volumeFile
		var err error
		switch {
		case src.Secret != nil:
			fs, err = secretFiles(ctx, r, src.Secret.Name, src.Secret.Items, src.Secret.Optional, p.DefaultMode)
		case src.ConfigMap != nil:
			fs, err = configMapFiles(ctx, r, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, p.DefaultMode)
		case src.DownwardAPI != nil:
			fs, err = downwardFiles(r, src.DownwardAPI.Items, p.DefaultMode)
		case src.ServiceAccountToken != nil:
			var token string
			if token, err = a.serviceAccountToken(ctx, r.pod, src.ServiceAccountToken); err == nil {
				fs = []volumeFile{{path: src.ServiceAccountToken.Path, data: []byte(token), mode: fileMode(nil, p.DefaultMode)}}
			}
		default:
			err = configErrorf("projected volume: the test node supports secret, configMap, downwardAPI and serviceAccountToken sources")
		}
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

// serviceAccountToken requests a token for the pod's service account, bound to the pod (it stops
// being valid when the pod is deleted). Tokens are not refreshed: they last the requested
// expirationSeconds (the API's default for pods is an hour), longer than a test.
func (a *Agent) serviceAccountToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	spec := authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}
	if src.Audience != "" {
		spec.Audiences = []string{src.Audience}
	}
	tr, err := a.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return "", configErrorf("token for service account %s/%s: %v", pod.Namespace, sa, err)
	}
	return tr.Status.Token, nil
}
