package kube

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Connection is how the resource reaches the cluster: a kubeconfig's text, or an API server URL with
// its CA and a bearer token. With neither, the kubeconfig files named by KUBECONFIG (the way an
// import reads, as it has no configuration yet).
type Connection struct {
	Kubeconfig string
	Host       string
	CAPEM      string
	Token      string
}

// RESTConfig is the client configuration of the connection, requests identified by userAgent.
func (c Connection) RESTConfig(userAgent string) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	switch {
	case c.Kubeconfig != "":
		cfg, err = clientcmd.RESTConfigFromKubeConfig([]byte(c.Kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
	case c.Host != "":
		cfg = &rest.Config{Host: c.Host, BearerToken: c.Token, TLSClientConfig: rest.TLSClientConfig{CAData: []byte(c.CAPEM)}}
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig from %s: %w", clientcmd.RecommendedConfigPathEnvVar, err)
		}
	default:
		return nil, errors.New("no cluster connection: set kubeconfig, or host with cluster_ca_certificate and token " +
			"(an import reads the kubeconfig file named by the KUBECONFIG environment variable)")
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent
	// Applying a dozen objects and polling a rollout must not wait on client-side throttling.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Clients are what the resource talks to the cluster with.
type Clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources from the API server's discovery, cached; Reset forgets the
	// cache (after a CRD is established).
	Mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewClients builds the clients of cfg; nothing is contacted yet.
func NewClients(cfg *rest.Config) (*Clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Kube: kube, Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}
