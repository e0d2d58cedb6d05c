// Package kubeharness starts a real Kubernetes control plane for tests: etcd (Debian's etcd-server) and
// kube-apiserver (built from the k8s.io/kubernetes module by `make kube-apiserver` into CacheDir()) on
// loopback ports, with generated certificates, RBAC authorization and an admin client certificate, and
// applies the repository's CRDs (deploy/crds). There is no kube-controller-manager (so no garbage
// collection of dependents and no default ServiceAccounts: the ServiceAccount admission plugin is off),
// no scheduler and no kubelet; package kubenode provides a test node that runs sandbox pods.
//
// README.md in this directory says how to build kube-apiserver, where the cache lives and what the
// cluster is like.
package kubeharness
