// Command render writes the sandbox-manager's Kubernetes manifest for kubectl: every object of the
// Go package deploy but the two Secrets, which are created by hand so that no key is in the file.
// `make deploy-manifests` writes deploy/manager.yaml with the defaults; flags render one's own:
//
//	go run ./deploy/cmd/render -domain sandbox.mycompany.com -image ghcr.io/sandboxstack/sandbox-manager:0.4.0 > manager.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
)

// The defaults of deploy/manager.yaml. example.com is reserved for documentation (RFC 2606): the
// file is deployable as is, and the domain is plainly one to replace.
const (
	defaultDomain = "sandbox.example.com"
	defaultImage  = "ghcr.io/sandboxstack/sandbox-manager:latest"
)

type options struct {
	domain, image, namespace, sandboxNamespace, serviceType string
	replicas                                                int
}

func defaultOptions() options {
	return options{domain: defaultDomain, image: defaultImage, namespace: deploy.DefaultNamespace,
		sandboxNamespace: deploy.DefaultSandboxNamespace, serviceType: deploy.ServiceLoadBalancer, replicas: deploy.DefaultReplicas}
}

func render(o options) ([]byte, error) {
	manifest, err := deploy.Manifest(deploy.Config{
		Namespace: o.namespace, SandboxNamespace: o.sandboxNamespace, Image: o.image, Replicas: int32(o.replicas),
		Domain: o.domain, ExternalSecrets: true, Service: deploy.Service{Type: o.serviceType},
	}, false)
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf(`# The sandbox-manager on Kubernetes, for kubectl (deploy/README.md says how): domain %s,
# image %s, namespaces %s (the manager) and %s (its sandboxes).
# Create the Secrets %s (key %s) and %s (kubectl create secret tls) in %s first.
# Generated from the Go package deploy by deploy/cmd/render (make deploy-manifests): edit that, not this.
`, o.domain, o.image, o.namespace, o.sandboxNamespace, deploy.AdminKeySecret, deploy.AdminKeySecretKey, deploy.TLSSecret, o.namespace)
	return append([]byte(header), manifest...), nil
}

func main() {
	o := defaultOptions()
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.StringVar(&o.domain, "domain", o.domain, "the E2B domain (clients reach api.<domain>)")
	flag.StringVar(&o.image, "image", o.image, "the manager image; its tag is also the template images' tag")
	flag.StringVar(&o.namespace, "namespace", o.namespace, "the manager's namespace")
	flag.StringVar(&o.sandboxNamespace, "sandbox-namespace", o.sandboxNamespace, "the sandboxes' namespace")
	flag.StringVar(&o.serviceType, "service-type", o.serviceType, "LoadBalancer, NodePort or ClusterIP")
	flag.IntVar(&o.replicas, "replicas", o.replicas, "manager replicas")
	flag.Parse()
	manifest, err := render(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	if *out == "" {
		_, err = os.Stdout.Write(manifest)
	} else {
		err = os.WriteFile(*out, manifest, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}
