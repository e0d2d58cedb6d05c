package kubeharness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// controllerManager is a running kube-controller-manager.
type controllerManager struct {
	proc *process
}

// controllersOff are the controllers the test control plane does not run, and why.
var controllersOff = []string{
	// Pod IPs are in 127.0.0.0/8, which Endpoints and EndpointSlices reject (validation forbids
	// loopback addresses): these controllers would only fail. The load-balancer stand-in follows the
	// ready pods a Service selects directly.
	"endpoint", "endpointslice", "endpointslicemirroring",
}

// controllerManagerArgs are kube-controller-manager's flags: the service account key the API server
// verifies tokens with signs the tokens it issues, the cluster CA goes into every namespace's
// kube-root-ca.crt ConfigMap, and it serves nothing (no port to collide with).
func controllerManagerArgs(kubeconfig string, p *pki, extra []string) []string {
	disabled := make([]string, len(controllersOff))
	for i, c := range controllersOff {
		disabled[i] = "-" + c
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--service-account-private-key-file=" + p.saKeyFile,
		"--root-ca-file=" + p.caFile,
		"--use-service-account-credentials=false",
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--allocate-node-cidrs=false",
		"--controllers=*," + strings.Join(disabled, ","),
		// Fast enough for tests: a Deployment's pods are replaced within a second or two.
		"--concurrent-deployment-syncs=5",
		"--concurrent-replicaset-syncs=5",
		"--profiling=false",
		"--v=1",
	}
	return append(args, extra...)
}

// startControllerManager starts kube-controller-manager against the API server with the admin's
// credentials and waits until its service account controller has made the default namespace's
// "default" ServiceAccount (so pods of the namespace are admitted).
func startControllerManager(ctx context.Context, bin, dir, apiURL string, p *pki, client kubernetes.Interface, extra []string) (*controllerManager, error) {
	kubeconfig := filepath.Join(dir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(kubeconfig, apiURL, p.caPEM,
		&clientcmdapi.AuthInfo{ClientCertificateData: p.adminCertPEM, ClientKeyData: p.adminKeyPEM}); err != nil {
		return nil, err
	}
	proc, err := startProcess("kube-controller-manager", bin, controllerManagerArgs(kubeconfig, p, extra),
		filepath.Join(dir, "kube-controller-manager.log"))
	if err != nil {
		return nil, err
	}
	cm := &controllerManager{proc: proc}
	for delay := 50 * time.Millisecond; ; delay = min(delay*3/2, 500*time.Millisecond) {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return cm, nil
		}
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			cm.stop()
			return nil, fmt.Errorf("kube-controller-manager: get default ServiceAccount: %w", err)
		}
		select {
		case <-proc.exited:
			return nil, fmt.Errorf("kube-controller-manager %w (%v); log:\n%s", errExitedEarly, proc.cmd.ProcessState, proc.logTail(16<<10))
		case <-ctx.Done():
			cm.stop()
			return nil, fmt.Errorf("kube-controller-manager did not create the default ServiceAccount: %w; log:\n%s", ctx.Err(), proc.logTail(16<<10))
		case <-time.After(delay):
		}
	}
}

func (cm *controllerManager) stop() { cm.proc.stop(15 * time.Second) }

// findControllerManager returns the kube-controller-manager to run: explicit,
// $KUBE_CONTROLLER_MANAGER_BIN, or the cached build, whose recorded version must be KubeVersion.
func findControllerManager(explicit string) (string, error) {
	return findKubeBinary("kube-controller-manager", explicit, os.Getenv("KUBE_CONTROLLER_MANAGER_BIN"))
}
