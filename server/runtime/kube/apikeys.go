package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
)

// APIKeySecret holds the API keys created through the admin API (hashed), shared by all replicas.
// Keys from SANDBOX_API_KEYS (typically from another Secret of the deployment) are not in it.
const APIKeySecret = "sandbox-manager-api-keys"

// APIKeys is an apikey.Backend on the Secret APIKeySecret: data key "key-<id>" holds one key's JSON
// record (id, name, SHA-256 hash, creation time). One entry per key lets replicas add and remove keys
// with JSON merge patches that touch only their own entry, so concurrent creates never conflict.
type APIKeys struct{ r *Runtime }

var _ apikey.Backend = (*APIKeys)(nil)

// APIKeys returns the API key backend.
func (r *Runtime) APIKeys() *APIKeys { return &APIKeys{r: r} }

const apiKeyPrefix = "key-"

// Load reads the keys from the cache (the Secret need not exist yet).
func (a *APIKeys) Load(context.Context) ([]apikey.Key, error) {
	sec, err := a.r.secrets.Secrets(a.r.ns).Get(APIKeySecret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api key secret: %w", err)
	}
	return keysOf(sec), nil
}

func keysOf(sec *corev1.Secret) []apikey.Key {
	var out []apikey.Key
	for _, name := range slicesSortedKeys(sec.Data) {
		if !strings.HasPrefix(name, apiKeyPrefix) {
			continue
		}
		var k apikey.Key
		if json.Unmarshal(sec.Data[name], &k) == nil {
			out = append(out, k)
		}
	}
	return out
}

func slicesSortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Add stores one key, creating the Secret on first use, and waits until this replica's cache has it.
func (a *APIKeys) Add(ctx context.Context, k apikey.Key) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("encode api key: %w", err)
	}
	return a.patch(ctx, k.ID, raw)
}

// Remove deletes one key's entry.
func (a *APIKeys) Remove(ctx context.Context, k apikey.Key) error {
	return a.patch(ctx, k.ID, nil)
}

func (a *APIKeys) patch(ctx context.Context, id string, value []byte) error {
	r := a.r
	secrets := r.client.CoreV1().Secrets(r.ns)
	var entry any // null removes the entry
	if value != nil {
		entry = value // []byte marshals as base64, the Secret's data encoding
	}
	patch, err := json.Marshal(map[string]any{"data": map[string]any{apiKeyPrefix + id: entry}})
	if err != nil {
		return err
	}
	written, err := secrets.Patch(ctx, APIKeySecret, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) && value != nil {
		written, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: APIKeySecret, Namespace: r.ns, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{apiKeyPrefix + id: value},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // another replica created it first
			written, err = secrets.Patch(ctx, APIKeySecret, types.MergePatchType, patch, metav1.PatchOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("api key secret %s: %w", APIKeySecret, err)
	}
	r.waiters.waitCached(ctx, APIKeySecret, written.ResourceVersion, func() (metav1.Object, bool) {
		s, err := r.secrets.Secrets(r.ns).Get(APIKeySecret)
		return s, err == nil
	})
	return nil
}

// Watch calls replace with the current keys whenever the Secret changes (another replica added or
// removed a key). It reads the cache, not the event, so a late event never undoes a newer write.
func (a *APIKeys) Watch(replace func([]apikey.Key)) error {
	r := a.r
	reload := func(obj any) {
		if m, err := metaOf(obj); err != nil || m.GetName() != APIKeySecret {
			return
		}
		keys, _ := a.Load(context.Background())
		replace(keys)
	}
	_, err := r.secretInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    reload,
		UpdateFunc: func(_, obj any) { reload(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			reload(obj)
		},
	})
	if err != nil {
		return fmt.Errorf("watch api key secret: %w", err)
	}
	return nil
}
