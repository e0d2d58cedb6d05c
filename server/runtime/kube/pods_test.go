package kube

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func testSpec() sandbox.Spec {
	return sandbox.Spec{
		ID:          "iabc123",
		Template:    "code-interpreter",
		EnvVars:     map[string]string{"E2B_SANDBOX_ID": "iabc123", "FOO": "bar"},
		AccessToken: "0123456789abcdef-secret-token",
		Metadata: map[string]string{
			"user-key": "user value", specMetaAlias: "code-interpreter-v1", specMetaOwner: "a1b2c3d4e5f6",
		},
		EndAt:  time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Limits: sandbox.Limits{CPUMillis: 1500, MemoryMB: 768},
	}
}

func testTemplate(t *testing.T, name string) Template {
	t.Helper()
	for _, tmpl := range BuiltinTemplates("registry.test/sbx", "v1") {
		if tmpl.Name == name {
			return tmpl
		}
	}
	t.Fatalf("no built-in template %q", name)
	return Template{}
}

// The pod of a sandbox: the template's image with envd injected by an init container through a
// shared emptyDir, envd started beside the image's program, the token only by reference to the
// sandbox's Secret, the manager's record in labels and annotations.
func TestBuildPod(t *testing.T) {
	spec := testSpec()
	pod := buildPod(podSpec{spec: spec, tmpl: testTemplate(t, "code-interpreter"), namespace: "sbx", envdImage: "registry.test/sbx/envd:v1", now: time.Unix(0, 0)})

	if pod.Name != "sandbox-iabc123" || pod.Namespace != "sbx" {
		t.Errorf("pod %s/%s", pod.Namespace, pod.Name)
	}
	wantLabels := map[string]string{
		LabelManagedBy: ManagedBy, LabelID: "iabc123", LabelTemplate: "code-interpreter",
		LabelPhase: PhaseStarting, LabelOwner: "a1b2c3d4e5f6",
	}
	for k, v := range wantLabels {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if _, ok := pod.Labels[LabelPool]; ok {
		t.Errorf("a cold sandbox has a pool label")
	}
	var md map[string]string
	if err := json.Unmarshal([]byte(pod.Annotations[AnnotationMetadata]), &md); err != nil || len(md) != 1 || md["user-key"] != "user value" {
		t.Errorf("metadata annotation %q (%v): want only the user's keys", pod.Annotations[AnnotationMetadata], err)
	}
	if pod.Annotations[AnnotationAlias] != "code-interpreter-v1" || pod.Annotations[AnnotationEndAt] != "2030-01-02T03:04:05Z" {
		t.Errorf("annotations %v", pod.Annotations)
	}
	if pod.Annotations[AnnotationTokenHash] != tokenHash(spec.AccessToken) {
		t.Errorf("token hash annotation %q", pod.Annotations[AnnotationTokenHash])
	}
	raw, _ := json.Marshal(pod)
	if strings.Contains(string(raw), spec.AccessToken) {
		t.Errorf("the pod carries the envd token in plain text: %s", raw)
	}

	if len(pod.Spec.InitContainers) != 1 || len(pod.Spec.Containers) != 1 {
		t.Fatalf("containers: %d init, %d main", len(pod.Spec.InitContainers), len(pod.Spec.Containers))
	}
	install, main := pod.Spec.InitContainers[0], pod.Spec.Containers[0]
	if install.Name != installContainer || install.Image != "registry.test/sbx/envd:v1" ||
		strings.Join(install.Command, " ") != "cp /usr/local/bin/envd /opt/sandbox/bin/envd" {
		t.Errorf("init container %+v", install)
	}
	if main.Name != "sandbox" || main.Image != "registry.test/sbx/sandbox-code-interpreter:v1" {
		t.Errorf("main container %s image %s", main.Name, main.Image)
	}
	cmd := strings.Join(main.Command, " ")
	if !strings.HasPrefix(cmd, "/bin/sh -c") || !strings.Contains(cmd, "code-interpreter --listen 127.0.0.1:49999") ||
		!strings.Contains(cmd, "exec \"$0\" \"$@\" /opt/sandbox/bin/envd --listen :49983 --default-user user --workdir /home/user") {
		t.Errorf("main command %q: want the template's program in the background, then envd", cmd)
	}
	if len(pod.Spec.Volumes) != 2 || pod.Spec.Volumes[0].EmptyDir == nil ||
		len(main.VolumeMounts) != 2 || main.VolumeMounts[0].MountPath != "/opt/sandbox/bin" || !main.VolumeMounts[0].ReadOnly ||
		len(install.VolumeMounts) != 1 || install.VolumeMounts[0].Name != pod.Spec.Volumes[0].Name {
		t.Errorf("envd volume: %+v, main mounts %+v, init mounts %+v", pod.Spec.Volumes, main.VolumeMounts, install.VolumeMounts)
	}
	// The token: a root-only file of the sandbox's Secret, which envd is told to read; not in the env.
	tokenVol := pod.Spec.Volumes[1]
	if sec := tokenVol.Secret; sec == nil || sec.SecretName != "sandbox-iabc123" || len(sec.Items) != 1 ||
		sec.Items[0].Key != TokenKey || sec.Items[0].Path != "token" || sec.DefaultMode == nil || *sec.DefaultMode != 0o400 {
		t.Errorf("token volume %+v: want the Secret's token alone, mode 0400", tokenVol)
	}
	if m := main.VolumeMounts[1]; m.Name != tokenVol.Name || m.MountPath != "/run/sandbox-token" || !m.ReadOnly {
		t.Errorf("token mount %+v", m)
	}
	if !strings.Contains(cmd, "--access-token-file /run/sandbox-token/token") {
		t.Errorf("envd is not told where its token is: %q", cmd)
	}

	// The user's environment variables: in the Secret, referenced by key.
	for _, e := range main.Env {
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			e.ValueFrom.SecretKeyRef.Name != "sandbox-iabc123" || e.ValueFrom.SecretKeyRef.Key != envKey(e.Name) {
			t.Errorf("env %s = %+v: want a reference to the sandbox's Secret", e.Name, e)
		}
		if e.Name == "ENVD_ACCESS_TOKEN" {
			t.Errorf("the token is in the pod's environment")
		}
	}
	if len(main.Env) != 2 {
		t.Errorf("env %+v: want FOO and E2B_SANDBOX_ID", main.Env)
	}
	if strings.Contains(string(raw), `"bar"`) {
		t.Errorf("the pod carries an environment variable's value: %s", raw)
	}
	sec := buildSecret("sbx", spec)
	if string(sec.Data[TokenKey]) != spec.AccessToken || string(sec.Data["env.FOO"]) != "bar" || string(sec.Data["env.E2B_SANDBOX_ID"]) != "iabc123" {
		t.Errorf("secret data %q", sec.Data)
	}

	// Pod Security: seccomp RuntimeDefault, no privilege escalation, all capabilities dropped but the
	// baseline ones envd needs, and an init container that runs as nobody.
	if sc := pod.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v: want seccomp RuntimeDefault", pod.Spec.SecurityContext)
	}
	for _, c := range []corev1.Container{install, main} {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
			len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("container %s security context %+v: want no privilege escalation, capabilities dropped", c.Name, sc)
			continue
		}
		for _, cap := range sc.Capabilities.Add {
			switch cap {
			case "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "AUDIT_WRITE":
			default:
				t.Errorf("container %s adds capability %s beyond Pod Security baseline", c.Name, cap)
			}
		}
	}
	if sc := install.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || len(sc.Capabilities.Add) != 0 {
		t.Errorf("init container %+v: want non-root without capabilities", sc)
	}

	if p := main.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/health" || p.HTTPGet.Port.IntValue() != 49983 {
		t.Errorf("readiness probe %+v: want GET /health on 49983", main.ReadinessProbe)
	}
	// The server listens on the pod's loopback: the probe runs in the container.
	if p := main.StartupProbe; p == nil || p.Exec == nil || !strings.Contains(strings.Join(p.Exec.Command, " "), "/dev/tcp/127.0.0.1/49999") {
		t.Errorf("startup probe %+v: want a check of 127.0.0.1:49999 in the container", main.StartupProbe)
	}
	if got := main.Resources.Limits[corev1.ResourceCPU]; got.Cmp(resource.MustParse("1500m")) != 0 {
		t.Errorf("cpu limit %s", got.String())
	}
	if got := main.Resources.Requests[corev1.ResourceMemory]; got.Cmp(resource.MustParse("768Mi")) != 0 {
		t.Errorf("memory request %s", got.String())
	}
	if l := podLimits(pod); l != spec.Limits {
		t.Errorf("limits read back %+v, want %+v", l, spec.Limits)
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("sandbox pods must not get a service account token")
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restart policy %s", pod.Spec.RestartPolicy)
	}
}

// A warm pod is owned by its pool and labelled with it; base runs envd alone.
func TestBuildWarmPod(t *testing.T) {
	spec := testSpec()
	spec.Template = "base"
	spec.Metadata = map[string]string{specMetaPool: "warm-base"}
	spec.EndAt = time.Time{}
	pod := buildPod(podSpec{spec: spec, tmpl: testTemplate(t, "base"), namespace: "sbx", envdImage: "e",
		pool: &corev1.ObjectReference{Name: "warm-base"}, poolUID: "uid-1", now: time.Now()})
	if pod.Labels[LabelPool] != "warm-base" {
		t.Errorf("pool label %q", pod.Labels[LabelPool])
	}
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].Kind != poolKind || pod.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("owner references %+v", pod.OwnerReferences)
	}
	if _, ok := pod.Annotations[AnnotationEndAt]; ok {
		t.Errorf("a warm pod has an end-at annotation")
	}
	if got := strings.Join(pod.Spec.Containers[0].Command, " "); got != "/opt/sandbox/bin/envd --listen :49983 --default-user user --workdir /home/user --access-token-file /run/sandbox-token/token --loopback-envs" {
		t.Errorf("base command %q", got)
	}
	if pod.Spec.Containers[0].StartupProbe != nil {
		t.Errorf("base has no service to wait for")
	}
}

// The record written into a pod reads back the same; claiming releases the pod from its pool.
func TestRecordRoundTrip(t *testing.T) {
	spec := testSpec()
	spec.Metadata = map[string]string{specMetaPool: "p"}
	pod := buildPod(podSpec{spec: spec, tmpl: testTemplate(t, "base"), namespace: "sbx", envdImage: "e",
		pool: &corev1.ObjectReference{Name: "p"}, poolUID: "u", now: time.Now()})
	started := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)
	want := sandbox.Record{
		ID: "iabc123", Template: "code-interpreter", Alias: "code-interpreter-v1", OwnerKey: "a1b2c3d4e5f6",
		Metadata: map[string]string{"a": "b", "with space": "x=y&z"}, StartedAt: started, EndAt: started.Add(time.Hour),
		Pool: "p", Phase: sandbox.PhaseRunning, Limits: spec.Limits,
		Inbound: sandbox.Inbound{Private: true, MaskRequestHost: "${PORT}-app.local"},
	}
	claimed := applyRecord(pod, want, time.Now())
	r := &Runtime{secrets: nil}
	got := r.recordOfWithoutToken(claimed)
	if got.ID != want.ID || got.Template != want.Template || got.Alias != want.Alias || got.OwnerKey != want.OwnerKey ||
		!got.StartedAt.Equal(want.StartedAt) || !got.EndAt.Equal(want.EndAt) || got.Pool != want.Pool ||
		got.Phase != want.Phase || got.Limits != want.Limits || len(got.Metadata) != 2 || got.Metadata["with space"] != "x=y&z" ||
		got.Inbound != want.Inbound {
		t.Errorf("record read back\n got %+v\nwant %+v", got, want)
	}
	// A public sandbox leaves no network annotations behind (a record may go from one to the other).
	want.Inbound = sandbox.Inbound{}
	public := applyRecord(claimed, want, time.Now())
	if _, ok := public.Annotations[AnnotationPrivate]; ok || r.recordOfWithoutToken(public).Inbound != want.Inbound {
		t.Errorf("public record: annotations %v", public.Annotations)
	}
	if len(claimed.OwnerReferences) != 0 {
		t.Errorf("a claimed pod is still owned by its pool: %+v", claimed.OwnerReferences)
	}
	if claimed.Labels[LabelPhase] != "running" || pod.Labels[LabelPhase] != PhaseStarting {
		t.Errorf("phase labels: claimed %q, original %q (applyRecord must not modify its input)", claimed.Labels[LabelPhase], pod.Labels[LabelPhase])
	}
}

func TestNewerOrSame(t *testing.T) {
	for _, c := range []struct {
		have, want string
		ok         bool
	}{{"10", "9", true}, {"9", "10", false}, {"10", "10", true}, {"abc", "abc", true}, {"abc", "abd", false}} {
		if got := newerOrSame(c.have, c.want); got != c.ok {
			t.Errorf("newerOrSame(%q, %q) = %v", c.have, c.want, got)
		}
	}
}

// A template that runs as one unprivileged user gets a non-root pod whose token file its group reads.
func TestBuildNonRootPod(t *testing.T) {
	tmpl := testTemplate(t, "base")
	tmpl.RunAsUser = 1000
	pod := buildPod(podSpec{spec: testSpec(), tmpl: tmpl, namespace: "sbx", envdImage: "e", now: time.Now()})
	sc := pod.Spec.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 1000 || sc.FSGroup == nil || *sc.FSGroup != 1000 {
		t.Errorf("pod security context %+v: want non-root uid 1000 with fsGroup 1000", sc)
	}
	if m := pod.Spec.Volumes[1].Secret.DefaultMode; m == nil || *m != 0o440 {
		t.Errorf("token file mode %v, want 0440", m)
	}
	if add := pod.Spec.Containers[0].SecurityContext.Capabilities.Add; len(add) != 0 {
		t.Errorf("a non-root pod adds capabilities %v", add)
	}
}

func TestEnvKey(t *testing.T) {
	for name, want := range map[string]string{
		"FOO":        "env.FOO",
		"a.b-c_d":    "env.a.b-c_d",
		"WITH SPACE": "env-57495448205350414345",
		"ü":          "env-c3bc",
	} {
		got := envKey(name)
		if got != want {
			t.Errorf("envKey(%q) = %q, want %q", name, got, want)
		}
		if errs := validation.IsConfigMapKey(got); len(errs) > 0 {
			t.Errorf("envKey(%q) = %q is not a valid Secret key: %v", name, got, errs)
		}
	}
}
