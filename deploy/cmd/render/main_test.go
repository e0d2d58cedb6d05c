package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deploy/manager.yaml is what `make deploy-manifests` writes from the Go package deploy.
func TestManagerYAMLIsCurrent(t *testing.T) {
	want, err := render(defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "manager.yaml"))
	if err != nil {
		t.Fatalf("%v: run make deploy-manifests", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/manager.yaml is stale: run make deploy-manifests")
	}
}

func TestRenderTakesItsOptions(t *testing.T) {
	o := defaultOptions()
	o.domain, o.image, o.namespace, o.sandboxNamespace, o.replicas = "sbx.example.org", "registry.example.org/manager:9.9.9", "mgr", "boxes", 3
	m, err := render(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--domain=sbx.example.org", "image: registry.example.org/manager:9.9.9", "--image-tag=9.9.9",
		"namespace: mgr", "--kube-namespace=boxes", "replicas: 3", "secretName: sandbox-manager-tls"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest has no %q", want)
		}
	}
	if strings.Contains(string(m), "\nkind: Secret\n") {
		t.Error("the manifest has a Secret")
	}
	o.domain = ""
	if _, err := render(o); err == nil || !strings.Contains(err.Error(), "Domain is required") {
		t.Errorf("no domain: %v", err)
	}
}
