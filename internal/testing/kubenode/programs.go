package kubenode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Program pods run a host binary as their container, where a kubelet would run an image: the main
// container's image name (the last path element without tag or digest) is looked up in
// Config.Programs. The process runs in bubblewrap with its own mount, PID, IPC and UTS namespaces and
// the host's network, and sees what a container sees from a kubelet:
//
//   - a root of its own: tmpfs with the host's /usr (except /usr/local), /bin, /lib*, and from /etc
//     only resolv.conf, hosts, nsswitch.conf, passwd, group and the CA certificates; the binary at
//     /usr/local/bin/<image name>, which is the image's entrypoint;
//   - the pod's volumes (Secret, ConfigMap, projected, downward API, emptyDir) at their mountPaths, so
//     the ServiceAccount admission plugin's kube-api-access volume puts token, ca.crt and namespace in
//     /var/run/secrets/kubernetes.io/serviceaccount;
//   - the container's env, KUBERNETES_SERVICE_HOST/PORT (the test API server, which the service
//     account token authenticates to), HOSTNAME and the pod's hostname;
//   - its own pod IP in 127.0.0.0/8. The network is the host's (egress reaches the API server and
//     sandbox pods), so a program must listen on its pod IP (status.podIP through the downward API,
//     e.g. env SANDBOX_LISTEN=$(POD_IP):3000), not on 0.0.0.0.
//
// Readiness and liveness probes (httpGet, over HTTP or HTTPS without verification, and tcpSocket;
// exec and grpc count as passing) run against the pod IP with the probe's timing. A container that
// exits is restarted as its restartPolicy says, after the kubelet's back-off (10 s doubling to 5 min,
// waiting reason CrashLoopBackOff); a failing liveness probe kills it first.

// ProgramEntrypointDir is where a program pod's binary is, inside the pod.
const ProgramEntrypointDir = "/usr/local/bin"

// Back-off between restarts of a crashing container (the kubelet's).
const (
	crashBackoffBase = 10 * time.Second
	crashBackoffMax  = 5 * time.Minute
	// stopGraceMax bounds terminationGracePeriodSeconds here: tests should not wait half a minute.
	stopGraceMax = 10 * time.Second
)

// programOf returns the host binary a pod runs, when its main container's image is a program image.
func (a *Agent) programOf(pod *corev1.Pod) (string, bool) {
	if len(a.cfg.Programs) == 0 || len(pod.Spec.Containers) == 0 {
		return "", false
	}
	bin, ok := a.cfg.Programs[imageName(mainContainer(pod).Image)]
	return bin, ok
}

// progRun is one program pod's container and its supervisor. Fields after done are guarded by mu.
type progRun struct {
	key    string
	uid    types.UID
	ip     string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}

	mu           sync.Mutex
	waiting      *corev1.ContainerStateWaiting // not running (nil while running or finished)
	running      bool
	startedAt    metav1.Time
	ready        bool
	started      bool // ever started
	restarts     int32
	lastTerm     *corev1.ContainerStateTerminated
	finished     bool // restartPolicy says no restart: the pod is Succeeded or Failed
	proc         *exec.Cmd
	livenessKill bool
}

func (r *progRun) update(f func(*progRun)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

// reconcileProgram is reconcile for a program pod.
func (a *Agent) reconcileProgram(ctx context.Context, key string, pod *corev1.Pod, bin string) (time.Duration, error) {
	a.mu.Lock()
	run := a.progs[key]
	a.mu.Unlock()
	if run != nil && run.uid != pod.UID {
		a.stopProgram(key, run.uid, 0)
		run = nil
	}
	switch {
	case pod.Spec.NodeName == "":
		if pod.DeletionTimestamp != nil || !a.schedulable(pod) {
			return 0, nil
		}
		return 0, a.bind(ctx, pod)
	case pod.Spec.NodeName != a.cfg.NodeName:
		return 0, nil
	case pod.DeletionTimestamp != nil:
		grace := stopGraceMax
		if pod.DeletionGracePeriodSeconds != nil {
			grace = min(grace, time.Duration(*pod.DeletionGracePeriodSeconds)*time.Second)
		}
		a.stopProgram(key, "", grace)
		return 0, a.finalize(ctx, pod)
	case terminal(pod):
		a.stopProgram(key, "", 0)
		return 0, nil
	case run == nil:
		if problem := programProblem(pod); problem != nil {
			return 0, a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return waitingStatus(p, problem) })
		}
		ln, ip, err := a.ips.listen("", 0) // reserves a pod IP; the program binds its own ports
		if err != nil {
			return 0, err
		}
		ln.Close()
		runCtx, cancel := context.WithCancel(context.Background())
		run = &progRun{key: key, uid: pod.UID, ip: ip, dir: filepath.Join(a.cfg.StateDir, "programs", string(pod.UID)),
			cancel: cancel, done: make(chan struct{}),
			waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		a.mu.Lock()
		a.progs[key] = run
		a.mu.Unlock()
		go func() {
			defer close(run.done)
			a.superviseProgram(runCtx, run, pod.DeepCopy(), bin)
		}()
	}
	return 0, a.updateStatus(ctx, pod, func(p *corev1.Pod) corev1.PodStatus { return a.programStatus(p, run) })
}

// programProblem is what the test node cannot run in a program pod.
func programProblem(pod *corev1.Pod) *podProblem {
	main := mainContainer(pod)
	switch {
	case len(pod.Spec.Containers) > 1:
		return &podProblem{container: main.Name, reason: "CreateContainerConfigError",
			message: fmt.Sprintf("the sandbox test node runs one container per pod; this pod has %d", len(pod.Spec.Containers))}
	case len(pod.Spec.InitContainers) > 0:
		return &podProblem{container: main.Name, reason: "CreateContainerConfigError",
			message: "the sandbox test node runs no init containers in program pods"}
	}
	return nil
}

// stopProgram stops a program pod's process (SIGTERM, SIGKILL after grace), frees its pod IP and
// forgets it; only if its UID is uid, when uid is set.
func (a *Agent) stopProgram(key string, uid types.UID, grace time.Duration) {
	a.mu.Lock()
	run := a.progs[key]
	if run == nil || (uid != "" && run.uid != uid) {
		a.mu.Unlock()
		return
	}
	delete(a.progs, key)
	a.mu.Unlock()
	run.mu.Lock()
	proc := run.proc
	run.mu.Unlock()
	if proc != nil && grace > 0 {
		terminate(proc.Process.Pid)
		select {
		case <-run.done:
		case <-time.After(grace):
		}
	}
	run.cancel() // kills what is left
	<-run.done
	a.ips.release(run.ip)
	_ = os.RemoveAll(run.dir)
	a.log.Info("kubenode: program stopped", "pod", key)
}

// superviseProgram runs the container until ctx ends or the restart policy says it is finished,
// restarting it with back-off.
func (a *Agent) superviseProgram(ctx context.Context, run *progRun, pod *corev1.Pod, bin string) {
	backoff := crashBackoffBase
	for ctx.Err() == nil {
		cmd, logFile, err := a.startProgram(ctx, run, pod, bin)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			reason := "CreateContainerError"
			var cfgErr *configError
			if errors.As(err, &cfgErr) {
				reason = "CreateContainerConfigError"
			}
			a.log.Warn("kubenode: program start", "pod", run.key, "err", err)
			run.update(func(r *progRun) { r.waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()} })
			a.queue.Add(run.key)
			if !sleepCtx(ctx, configRetry) {
				return
			}
			continue
		}
		began := time.Now()
		run.update(func(r *progRun) {
			r.proc, r.waiting, r.running, r.ready, r.started, r.livenessKill = cmd, nil, true, false, true, false
			r.startedAt = metav1.NewTime(began.Truncate(time.Second))
		})
		a.log.Info("kubenode: program running", "pod", run.key, "pod_ip", run.ip, "bin", bin)
		a.queue.Add(run.key)

		exited := make(chan struct{})
		probeCtx, stopProbes := context.WithCancel(ctx)
		go a.probeProgram(probeCtx, run, pod, cmd)
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		stopProbes()
		logFile.Close()
		if ctx.Err() != nil {
			return
		}
		code := exitCode(cmd, waitErr)
		term := &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error",
			StartedAt: metav1.NewTime(began.Truncate(time.Second)), FinishedAt: now(), ContainerID: "program://" + string(run.uid)}
		if code == 0 {
			term.Reason = "Completed"
		}
		term.Message = tail(filepath.Join(run.dir, "container.log"), 2048)
		restart := pod.Spec.RestartPolicy != corev1.RestartPolicyNever &&
			(pod.Spec.RestartPolicy != corev1.RestartPolicyOnFailure || code != 0)
		a.log.Info("kubenode: program exited", "pod", run.key, "code", code, "restart", restart)
		if time.Since(began) > 10*time.Minute { // ran long enough: the kubelet resets its back-off
			backoff = crashBackoffBase
		}
		run.update(func(r *progRun) {
			r.proc, r.running, r.ready, r.lastTerm = nil, false, false, term
			if r.livenessKill {
				term.Reason = "Error"
				term.Message = "Container failed liveness probe, will be restarted"
			}
			if !restart {
				r.finished = true
				return
			}
			r.restarts++
			r.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", backoff,
					mainContainer(pod).Name, pod.Name, pod.Namespace, pod.UID)}
		})
		a.queue.Add(run.key)
		if !restart || !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, crashBackoffMax)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func exitCode(cmd *exec.Cmd, err error) int32 {
	if cmd.ProcessState == nil {
		return 128
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(cmd.ProcessState.ExitCode())
}

// tail is the end of a file (a terminated container's message, as terminationMessagePolicy
// FallbackToLogsOnError gives).
func tail(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// startProgram prepares the container's volumes and environment and starts it in bubblewrap.
func (a *Agent) startProgram(ctx context.Context, run *progRun, pod *corev1.Pod, bin string) (*exec.Cmd, *os.File, error) {
	main := mainContainer(pod)
	// The pod as the API has it now (a Secret created after the pod is seen by a restart).
	volumes, err := a.materializeVolumes(ctx, pod, filepath.Join(run.dir, "volumes"))
	if err != nil {
		return nil, nil, err
	}
	env, err := (&envResolver{client: a.client, pod: pod, podIP: run.ip, hostIP: HostIP}).resolve(ctx, main)
	if err != nil {
		return nil, nil, err
	}
	apiHost, apiPort, err := apiServerHostPort(a.cfg.RESTConfig.Host)
	if err != nil {
		return nil, nil, err
	}
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	base := map[string]string{
		"PATH":                          ProgramEntrypointDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME":                      hostname,
		"HOME":                          "/root",
		"KUBERNETES_SERVICE_HOST":       apiHost,
		"KUBERNETES_SERVICE_PORT":       apiPort,
		"KUBERNETES_SERVICE_PORT_HTTPS": apiPort,
		"KUBERNETES_PORT":               "tcp://" + net.JoinHostPort(apiHost, apiPort),
	}
	for k, v := range env {
		base[k] = v
	}
	args, err := a.bwrapArgs(pod, main, bin, hostname, volumes)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(run.dir, 0o700); err != nil {
		return nil, nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(run.dir, "container.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(a.bwrap, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = make([]string, 0, len(base))
	for k, v := range base {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	sort.Strings(cmd.Env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return cmd, logFile, nil
}

func apiServerHostPort(host string) (string, string, error) {
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("API server address %q: %v", host, err)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return u.Hostname(), port, nil
}

// bwrapArgs builds the container's root and command line.
func (a *Agent) bwrapArgs(pod *corev1.Pod, c *corev1.Container, bin, hostname string, volumes map[string]string) ([]string, error) {
	args := []string{"--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--hostname", hostname, "--tmpfs", "/"}
	for _, name := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		p := "/" + name
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			args = append(args, "--symlink", target, p)
		default:
			args = append(args, "--ro-bind", p, p)
		}
	}
	entries, err := os.ReadDir("/usr")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name() != "local" {
			args = append(args, "--ro-bind", "/usr/"+e.Name(), "/usr/"+e.Name())
		}
	}
	args = append(args, "--dir", ProgramEntrypointDir,
		"--ro-bind", bin, filepath.Join(ProgramEntrypointDir, imageName(c.Image)))
	for _, f := range []string{"resolv.conf", "hosts", "nsswitch.conf", "passwd", "group", "ssl", "ca-certificates", "localtime"} {
		if _, err := os.Stat("/etc/" + f); err == nil {
			args = append(args, "--ro-bind", "/etc/"+f, "/etc/"+f)
		}
	}
	args = append(args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/root")
	mounts := slicesSortedMounts(c.VolumeMounts)
	for _, m := range mounts {
		src, ok := volumes[m.Name]
		if !ok {
			return nil, configErrorf("volumeMount %q: no volume of that name", m.Name)
		}
		if m.SubPath != "" {
			src = filepath.Join(src, filepath.FromSlash(m.SubPath))
			if _, err := os.Stat(src); err != nil {
				return nil, configErrorf("volumeMount %q: subPath %q: %v", m.Name, m.SubPath, err)
			}
		}
		bind := "--bind"
		if m.ReadOnly || !isEmptyDir(pod, m.Name) {
			bind = "--ro-bind" // Secret, ConfigMap, projected and downward API volumes are read-only
		}
		args = append(args, bind, src, m.MountPath)
	}
	if c.WorkingDir != "" {
		args = append(args, "--dir", c.WorkingDir, "--chdir", c.WorkingDir)
	} else {
		args = append(args, "--chdir", "/")
	}
	command := c.Command
	if len(command) == 0 {
		command = []string{filepath.Join(ProgramEntrypointDir, imageName(c.Image))}
	}
	env := map[string]string{} // $(VAR) in command and args expands the container's variables
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expand(e.Value, env)
		}
	}
	args = append(args, "--")
	for _, s := range append(append([]string{}, command...), c.Args...) {
		args = append(args, expand(s, env))
	}
	return args, nil
}

// slicesSortedMounts orders mounts so that a mount inside another comes after it.
func slicesSortedMounts(m []corev1.VolumeMount) []corev1.VolumeMount {
	out := append([]corev1.VolumeMount(nil), m...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(filepath.Clean(out[i].MountPath), "/") < strings.Count(filepath.Clean(out[j].MountPath), "/")
	})
	return out
}

func isEmptyDir(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v.EmptyDir != nil
		}
	}
	return false
}

// probeProgram runs the readiness and liveness probes with their timing until ctx ends; a liveness
// failure past its threshold kills the container (the supervisor restarts it).
func (a *Agent) probeProgram(ctx context.Context, run *progRun, pod *corev1.Pod, cmd *exec.Cmd) {
	c := mainContainer(pod)
	if c.ReadinessProbe == nil {
		run.update(func(r *progRun) { r.ready = true })
		a.queue.Add(run.key)
	}
	type prober struct {
		probe           *corev1.Probe
		next            time.Time
		successes, errs int32
	}
	began := time.Now()
	var probes []*prober
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if p != nil {
			probes = append(probes, &prober{probe: p, next: began.Add(time.Duration(p.InitialDelaySeconds) * time.Second)})
		}
	}
	if len(probes) == 0 {
		return
	}
	for {
		wake := probes[0].next
		for _, p := range probes[1:] {
			if p.next.Before(wake) {
				wake = p.next
			}
		}
		if !sleepCtx(ctx, time.Until(wake)) {
			return
		}
		for _, p := range probes {
			if time.Now().Before(p.next) {
				continue
			}
			period := time.Duration(max(p.probe.PeriodSeconds, 1)) * time.Second
			p.next = time.Now().Add(period)
			err := a.probeProgramOnce(ctx, run, c, p.probe)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				p.successes, p.errs = p.successes+1, 0
			} else {
				p.successes, p.errs = 0, p.errs+1
			}
			if p.probe == c.ReadinessProbe {
				var changed bool
				run.update(func(r *progRun) {
					switch {
					case !r.ready && p.successes >= max(p.probe.SuccessThreshold, 1):
						r.ready, changed = true, true
					case r.ready && p.errs >= max(p.probe.FailureThreshold, 1):
						r.ready, changed = false, true
					}
				})
				if changed {
					a.log.Info("kubenode: program readiness", "pod", run.key, "err", err)
					a.queue.Add(run.key)
				}
			} else if p.errs >= max(p.probe.FailureThreshold, 1) {
				a.log.Info("kubenode: program liveness probe failed; killing it", "pod", run.key, "err", err)
				run.update(func(r *progRun) { r.livenessKill = true })
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				return
			}
		}
	}
}

// probeProgramOnce probes the program at its pod IP, as a kubelet probes a pod.
func (a *Agent) probeProgramOnce(ctx context.Context, run *progRun, c *corev1.Container, probe *corev1.Probe) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(max(probe.TimeoutSeconds, 1))*time.Second)
	defer cancel()
	switch {
	case probe.HTTPGet != nil:
		g := probe.HTTPGet
		port, err := containerPort(c, g.Port)
		if err != nil {
			return err
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		path := g.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(run.ip, strconv.Itoa(port))+path, nil)
		if err != nil {
			return err
		}
		for _, h := range g.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		client := &http.Client{Transport: &http.Transport{
			DisableKeepAlives: true,
			// The kubelet does not verify a probe's certificate either.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet's prober
		}}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("httpGet %s: %w", req.URL, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("httpGet %s: %s", req.URL, resp.Status)
		}
		return nil
	case probe.TCPSocket != nil:
		port, err := containerPort(c, probe.TCPSocket.Port)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(run.ip, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("tcpSocket %d: %w", port, err)
		}
		return conn.Close()
	}
	return nil
}

// programStatus is a program pod's status as a kubelet reports it.
func (a *Agent) programStatus(pod *corev1.Pod, run *progRun) corev1.PodStatus {
	run.mu.Lock()
	defer run.mu.Unlock()
	st := scheduledStatus(pod)
	initDone(pod, &st)
	main := mainContainer(pod)
	cs := corev1.ContainerStatus{
		Name:         main.Name,
		Image:        main.Image,
		RestartCount: run.restarts,
		Ready:        run.running && run.ready,
	}
	started := run.running
	cs.Started = &started
	if run.started {
		cs.ImageID = "program://" + imageName(main.Image)
		cs.ContainerID = "program://" + string(run.uid)
	}
	switch {
	case run.running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: run.startedAt}
		if run.lastTerm != nil {
			cs.LastTerminationState.Terminated = run.lastTerm.DeepCopy()
		}
	case run.finished:
		cs.State.Terminated = run.lastTerm.DeepCopy()
	default:
		cs.State.Waiting = run.waiting.DeepCopy()
		if run.lastTerm != nil {
			cs.LastTerminationState.Terminated = run.lastTerm.DeepCopy()
		}
	}
	st.ContainerStatuses = []corev1.ContainerStatus{cs}
	switch {
	case run.finished && run.lastTerm.ExitCode == 0:
		st.Phase = corev1.PodSucceeded
	case run.finished:
		st.Phase = corev1.PodFailed
	case run.started:
		st.Phase = corev1.PodRunning
	default:
		st.Phase = corev1.PodPending
	}
	if run.started && !run.finished {
		st.PodIP = run.ip
		st.PodIPs = []corev1.PodIP{{IP: run.ip}}
	}
	setCondition(&st, corev1.PodReadyToStartContainers, boolCondition(!run.finished), "", "")
	if cs.Ready {
		setCondition(&st, corev1.ContainersReady, corev1.ConditionTrue, "", "")
		setCondition(&st, corev1.PodReady, corev1.ConditionTrue, "", "")
	} else {
		reason := "ContainersNotReady"
		if run.finished {
			reason = "PodCompleted"
		}
		notReady(&st, pod, reason)
	}
	return st
}

func boolCondition(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// ProgramLog is the output (stdout and stderr, at most the last 64 KiB) of the program pod
// namespace/name's container, "" when the agent does not run it.
func (a *Agent) ProgramLog(namespace, name string) string {
	a.mu.Lock()
	run := a.progs[namespace+"/"+name]
	a.mu.Unlock()
	if run == nil {
		return ""
	}
	return tail(filepath.Join(run.dir, "container.log"), 64<<10)
}

// terminate sends SIGTERM to the container's processes: the descendants of bubblewrap, not bubblewrap
// itself (it would die at once and take the container along with SIGKILL, --die-with-parent, before
// the program could shut down gracefully). Without /proc children lists it signals the whole group.
func terminate(bwrapPID int) {
	pids := descendants(bwrapPID)
	if len(pids) == 0 {
		_ = syscall.Kill(-bwrapPID, syscall.SIGTERM)
		return
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// descendants lists the processes below pid, from /proc/<pid>/task/<tid>/children.
func descendants(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(raw)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			out = append(out, child)
			out = append(out, descendants(child)...)
		}
	}
	return out
}
