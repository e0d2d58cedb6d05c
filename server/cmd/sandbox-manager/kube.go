package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sandboxstack/terraform-provider-sandbox/server/apikey"
	"github.com/sandboxstack/terraform-provider-sandbox/server/builtin"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
	"github.com/sandboxstack/terraform-provider-sandbox/server/metrics"
	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/kube"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// kubeFlags configure --runtime kube.
type kubeFlags struct {
	kubeconfig, namespace, envdImage       string
	imageRegistry, imageTag, templatesFile string
	replicaID, runtimeClass                string
}

func (k *kubeFlags) register(fs *flag.FlagSet) {
	str := func(p *string, name, env, def, help string) {
		fs.StringVar(p, name, envOr(env, def), help+" (env "+env+")")
	}
	str(&k.kubeconfig, "kubeconfig", "KUBECONFIG", "", "kube runtime: kubeconfig file; empty means the in-cluster service account")
	str(&k.namespace, "kube-namespace", "SANDBOX_KUBE_NAMESPACE", "sandboxes", "kube runtime: namespace of the sandbox pods, pools, leader lease and API key secret")
	str(&k.imageRegistry, "image-registry", "SANDBOX_IMAGE_REGISTRY", "ghcr.io/sandboxstack", "kube runtime: registry of the template images <registry>/sandbox-<template>:<tag> and of envd")
	str(&k.imageTag, "image-tag", "SANDBOX_IMAGE_TAG", "latest", "kube runtime: tag of the template and envd images")
	str(&k.envdImage, "envd-image", "SANDBOX_ENVD_IMAGE", "", "kube runtime: image of the envd-install init container; default <registry>/envd:<tag>")
	str(&k.templatesFile, "templates-file", "SANDBOX_TEMPLATES_FILE", "", "kube runtime: JSON list of pod templates (name, image, entrypoint, ports, readyPort, cpuMillis, memoryMB) instead of the built-in ones")
	str(&k.replicaID, "replica-id", "SANDBOX_REPLICA_ID", defaultReplicaID(), "kube runtime: this replica's identity in the leader lease (e.g. the pod name)")
	str(&k.runtimeClass, "runtime-class", "SANDBOX_RUNTIME_CLASS", "", "kube runtime: runtimeClassName of sandbox pods (e.g. gvisor)")
}

func defaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "sandbox-manager"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

func (k kubeFlags) restConfig() (*rest.Config, error) {
	if k.kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--runtime kube without --kubeconfig needs to run in a pod: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", k.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", k.kubeconfig, err)
	}
	return cfg, nil
}

func (k kubeFlags) templates() ([]kube.Template, error) {
	if k.templatesFile != "" {
		return kube.LoadTemplates(k.templatesFile)
	}
	return kube.BuiltinTemplates(k.imageRegistry, k.imageTag), nil
}

// assembleKube builds the manager on the kube runtime: no state of its own, everything in the
// Kubernetes API, so that several replicas serve one domain.
func assembleKube(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) (*app, error) {
	restCfg, err := cfg.kube.restConfig()
	if err != nil {
		return nil, err
	}
	templates, err := cfg.kube.templates()
	if err != nil {
		return nil, err
	}
	envdImage := cfg.kube.envdImage
	if envdImage == "" {
		envdImage = cfg.kube.imageRegistry + "/envd:" + cfg.kube.imageTag
	}
	rt, err := kube.New(ctx, kube.Config{
		REST:             restCfg,
		Namespace:        cfg.kube.namespace,
		Templates:        templates,
		EnvdImage:        envdImage,
		Identity:         cfg.kube.replicaID,
		RuntimeClassName: cfg.kube.runtimeClass,
		Logger:           log.With("part", "runtime"),
	})
	if err != nil {
		return nil, err
	}

	// API keys: SANDBOX_API_KEYS (from a Secret of the deployment) plus the keys created through the
	// admin API, kept hashed in a Secret that every replica watches.
	keyBackend := rt.APIKeys()
	keys, err := apikey.NewShared(ctx, keyBackend)
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("api keys: %w", err)
	}
	if err := keyBackend.Watch(keys.Replace); err != nil {
		rt.Close()
		return nil, err
	}
	if seed := cfg.apiKeys; seed != "" {
		if err := keys.Seed(splitList(seed)); err != nil {
			rt.Close()
			return nil, fmt.Errorf("%s: %w", cfg.apiKeysFrom, err)
		}
	}
	firstKey, created, err := keys.EnsureOne()
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("api keys: %w", err)
	}

	observer := &lateObserver{}
	mgr, err := sandbox.NewManager(sandbox.ManagerConfig{
		Runtime:       rt,
		Store:         rt.Store(),
		Leader:        rt.IsLeader,
		TemplatesFunc: func() []sandbox.Template { return withAliases(rt.Templates()) },
		EnvdVersion:   envd.Version,
		Logger:        log.With("part", "manager"),
		Observer:      observer,
		// Pods start in parallel on a cluster; one at a time would refill a large pool slowly.
		FillParallelism:    8,
		MaxTimeout:         cfg.maxTimeout,
		MaxRunningPerOwner: cfg.maxPerKey,
	})
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("sandbox manager: %w", err)
	}
	m := metrics.New(mgr)
	observer.set(m)
	announceKey(stdout, log, cfg, firstKey, created)
	return front(cfg, log, mgr, keys, rt, m, func() {
		_ = mgr.Close()
		_ = rt.Close()
	}), nil
}

func withAliases(ts []sandbox.Template) []sandbox.Template {
	for i := range ts {
		ts[i].Aliases = builtin.Aliases(ts[i].Name)
	}
	return ts
}
