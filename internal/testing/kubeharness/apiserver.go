package kubeharness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Cluster-wide settings a test may need to know.
const (
	// ServiceClusterIPRange is the Services' virtual IP range; nothing routes it (there is no kube-proxy).
	ServiceClusterIPRange = "10.96.0.0/24"
	// ServiceAccountIssuer is the iss of service account tokens, and their default audience.
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
)

// apiServer is a running kube-apiserver.
type apiServer struct {
	proc *process
	url  string // https://127.0.0.1:<port>
}

// apiServerArgs are kube-apiserver's flags for a single-node test control plane.
// serviceAccounts turns the ServiceAccount admission plugin on (when kube-controller-manager runs).
func apiServerArgs(port int, etcdURL, certDir string, p *pki, serviceAccounts bool, extra []string) []string {
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--storage-backend=etcd3",
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caFile,
		"--service-account-key-file=" + p.saKeyFile,
		"--service-account-signing-key-file=" + p.saKeyFile,
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--api-audiences=" + ServiceAccountIssuer,
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		// The built-in "kubernetes" Service would get 127.0.0.1 as its endpoint, which the API rejects
		// (loopback); nothing in the tests reaches the API server through a Service.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1",
	}
	if !serviceAccounts {
		// Without kube-controller-manager nobody creates a namespace's "default" ServiceAccount, and the
		// ServiceAccount admission plugin rejects every pod of a namespace that lacks it (or races with
		// its creation), so the plugin is off.
		args = append(args, "--disable-admission-plugins=ServiceAccount")
	}
	return append(args, extra...)
}

// startAPIServer starts kube-apiserver and waits for /readyz; a port lost to another process between
// picking and binding it is retried on a new one.
func startAPIServer(ctx context.Context, bin, etcdURL, certDir, logPath string, p *pki, serviceAccounts bool, extra []string) (*apiServer, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		proc, err := startProcess("kube-apiserver", bin, apiServerArgs(port, etcdURL, certDir, p, serviceAccounts, extra), logPath)
		if err != nil {
			return nil, err
		}
		s := &apiServer{proc: proc, url: fmt.Sprintf("https://127.0.0.1:%d", port)}
		err = s.waitReady(ctx, p)
		if err == nil {
			return s, nil
		}
		proc.stop(10 * time.Second)
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, lastErr
}

// waitReady polls /readyz with the admin certificate until it answers 200 ok.
func (s *apiServer) waitReady(ctx context.Context, p *pki) error {
	client, err := adminHTTPClient(p)
	if err != nil {
		return err
	}
	var last string
	for delay := 20 * time.Millisecond; ; delay = min(delay*3/2, 250*time.Millisecond) {
		ok, why := probe(ctx, client, s.url+"/readyz")
		if ok {
			return nil
		}
		last = why
		select {
		case <-s.proc.exited:
			return fmt.Errorf("kube-apiserver %w (%v); log:\n%s", errExitedEarly, s.proc.cmd.ProcessState, s.proc.logTail(16<<10))
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready at %s: %w (last /readyz: %s); log:\n%s",
				s.url, ctx.Err(), last, s.proc.logTail(16<<10))
		case <-time.After(delay):
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == http.StatusOK, fmt.Sprintf("%s %s", resp.Status, body)
}

// adminHTTPClient is a plain HTTP client trusting the cluster CA and presenting the admin certificate.
func adminHTTPClient(p *pki) (*http.Client, error) {
	cert, err := tls.X509KeyPair(p.adminCertPEM, p.adminKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("admin key pair: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.caPEM) {
		return nil, errors.New("cluster CA: no certificate in PEM")
	}
	return &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
	}, nil
}

func (s *apiServer) stop() { s.proc.stop(15 * time.Second) }
