package kubenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// probeReadiness runs the main container's readiness probe until it passes or within passes; 0 means
// one attempt. The probe reaches the pod as a kubelet does: envd's port over TCP at the pod IP, any
// other port through envd's forwarding (the sandbox's own network is not reachable from the host).
// httpGet and tcpSocket probes run; exec and grpc probes are taken as passing.
func (a *Agent) probeReadiness(ctx context.Context, pod *corev1.Pod, run *podRun, within time.Duration) error {
	probe := mainContainer(pod).ReadinessProbe
	if probe == nil {
		return nil
	}
	deadline := time.Now().Add(within)
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 500*time.Millisecond) {
		err := a.probeOnce(ctx, pod, run, probe)
		if err == nil || !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func (a *Agent) probeOnce(ctx context.Context, pod *corev1.Pod, run *podRun, probe *corev1.Probe) error {
	timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	main := mainContainer(pod)
	switch {
	case probe.HTTPGet != nil:
		g := probe.HTTPGet
		if g.Scheme == corev1.URISchemeHTTPS {
			return errors.New("httpGet probes over HTTPS are not supported by the test node")
		}
		port, err := containerPort(main, g.Port)
		if err != nil {
			return err
		}
		client := &http.Client{Transport: &http.Transport{
			DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return a.dialPod(ctx, run, port) },
			DisableKeepAlives: true,
		}}
		path := g.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(run.ip, strconv.Itoa(port))+path, nil)
		if err != nil {
			return err
		}
		for _, h := range g.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("httpGet %s: %w", req.URL, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 { // the kubelet's success range
			return fmt.Errorf("httpGet %s: %s", req.URL, resp.Status)
		}
		return nil
	case probe.TCPSocket != nil:
		port, err := containerPort(main, probe.TCPSocket.Port)
		if err != nil {
			return err
		}
		conn, err := a.dialPod(ctx, run, port)
		if err != nil {
			return fmt.Errorf("tcpSocket %d: %w", port, err)
		}
		return conn.Close()
	}
	return nil
}

// dialPod connects to port of the pod: envd's port over TCP at the pod IP, others through envd.
func (a *Agent) dialPod(ctx context.Context, run *podRun, port int) (net.Conn, error) {
	if port == sandbox.EnvdPort {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", envdAddr(run.ip))
	}
	conn, err := a.rt.DialEnvd(ctx, run.sandboxID)
	if err != nil {
		return nil, err
	}
	tunnel, err := envd.Forward(ctx, conn, port, run.token)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return tunnel, nil
}

// containerPort resolves a probe's port (a number, or the name of one of the container's ports).
func containerPort(c *corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, port.StrVal)
}
