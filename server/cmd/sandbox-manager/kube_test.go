package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/managerharness"
	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/kube"
)

// TestKubeSandboxLifecycle: on the kube runtime a sandbox is a pod that carries the manager's
// record (but never the envd token, which is in the sandbox's Secret); commands reach it through the
// gateway at its pod IP; kill and expiry delete the pod and the Secret.
func TestKubeSandboxLifecycle(t *testing.T) {
	e := startKubeEnv(t, kubenode.Config{})
	m := e.manager("lifecycle")
	c := m.Client()

	sb, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 120,
		Metadata: map[string]string{"suite": "kube", "with space": "a b/c"}, EnvVars: map[string]string{"GREETING": "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	runOK(t, c, sb, `printf %s "$GREETING $E2B_SANDBOX_ID"`, "hello "+sb.SandboxID)

	pod, err := e.cs.CoreV1().Pods(sandboxNamespace).Get(context.Background(), "sandbox-"+sb.SandboxID, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the sandbox's pod: %v", err)
	}
	if pod.Labels[kube.LabelID] != sb.SandboxID || pod.Labels[kube.LabelTemplate] != "base" || pod.Labels[kube.LabelPhase] != "running" {
		t.Errorf("pod labels %v", pod.Labels)
	}
	sum := sha256.Sum256([]byte(sb.EnvdAccessToken))
	if pod.Annotations[kube.AnnotationTokenHash] != hex.EncodeToString(sum[:]) {
		t.Errorf("token hash annotation %q", pod.Annotations[kube.AnnotationTokenHash])
	}
	raw, _ := json.Marshal(pod)
	if strings.Contains(string(raw), sb.EnvdAccessToken) {
		t.Errorf("the pod object carries the envd token")
	}
	var md map[string]string
	if err := json.Unmarshal([]byte(pod.Annotations[kube.AnnotationMetadata]), &md); err != nil || md["with space"] != "a b/c" || md["suite"] != "kube" {
		t.Errorf("metadata annotation %q", pod.Annotations[kube.AnnotationMetadata])
	}
	sec, err := e.cs.CoreV1().Secrets(sandboxNamespace).Get(context.Background(), "sandbox-"+sb.SandboxID, metav1.GetOptions{})
	if err != nil || string(sec.Data[kube.TokenKey]) != sb.EnvdAccessToken {
		t.Errorf("token secret: %v", err)
	} else if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != pod.UID {
		t.Errorf("token secret owners %+v: want the pod", sec.OwnerReferences)
	}

	listed := listedByID(t, c)
	if got, ok := listed[sb.SandboxID]; !ok || got.Metadata["suite"] != "kube" || got.State != "running" {
		t.Errorf("listed: %+v", listed)
	}

	// Timeouts are the pod's end-at annotation, enforced by the reaper: expiry deletes pod and Secret.
	short, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 3})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the short sandbox to expire", func() bool { return !e.podExists(short.SandboxID) && !e.secretExists(short.SandboxID) })
	if _, ok := listedByID(t, c)[short.SandboxID]; ok {
		t.Errorf("expired sandbox still listed")
	}
	if n := countLogLines([]*managerharness.Manager{m}, `"sandbox expired"`, short.SandboxID); n != 1 {
		t.Errorf("sandbox %s expired %d times, want once", short.SandboxID, n)
	}

	if err := c.Kill(sb.SandboxID); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(sb.SandboxID); err == nil {
		t.Errorf("a second kill succeeded")
	}
	waitFor(t, "the killed sandbox's pod and secret to go", func() bool { return !e.podExists(sb.SandboxID) && !e.secretExists(sb.SandboxID) })
}

// TestKubePools: a pool is a SandboxPool object; it fills, serves creates from its warm pods and
// refills, resizes up and down (through the admin API and the scale subresource), and when deleted
// its warm pods go while the sandboxes claimed from it stay until killed.
func TestKubePools(t *testing.T) {
	e := startKubeEnv(t, kubenode.Config{Workers: 8})
	m := e.manager("pools")
	c := m.Client()
	ctx := context.Background()

	e.putPool(m, "warm", 3)
	obj, err := e.dyn.Resource(poolGVR).Namespace(sandboxNamespace).Get(ctx, "warm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the SandboxPool object: %v", err)
	}
	if tmpl, _, _ := unstructured.NestedString(obj.Object, "spec", "template"); tmpl != "base" {
		t.Errorf("SandboxPool spec %v", obj.Object["spec"])
	}
	waitFor(t, "the pool to fill to 3", func() bool { return e.poolReady(m, "warm") == 3 })
	waitFor(t, "the pool's status to say 3 ready", func() bool {
		obj, err := e.dyn.Resource(poolGVR).Namespace(sandboxNamespace).Get(ctx, "warm", metav1.GetOptions{})
		ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "ready")
		return err == nil && ready == 3
	})
	warm := map[string]bool{}
	for _, p := range e.poolPods("warm", "warm") {
		warm[p.Labels[kube.LabelID]] = true
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Name != "warm" {
			t.Errorf("warm pod %s owners %+v: want its pool", p.Name, p.OwnerReferences)
		}
	}

	var claimed []*managerharness.Sandbox
	for i := range 2 {
		sb, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 600, EnvVars: map[string]string{"N": fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if !warm[sb.SandboxID] || !createdFromPool(t, m, sb.SandboxID) {
			t.Errorf("create %d got %s, not one of the warm pods %v", i, sb.SandboxID, warm)
		}
		runOK(t, c, sb, `printf %s "$N"`, fmt.Sprint(i))
		claimed = append(claimed, sb)
	}
	waitFor(t, "the pool to refill to 3", func() bool { return e.poolReady(m, "warm") == 3 && len(e.poolPods("warm", "warm")) == 3 })

	e.putPool(m, "warm", 5)
	waitFor(t, "the pool to grow to 5", func() bool { return e.poolReady(m, "warm") == 5 })
	e.putPool(m, "warm", 1)
	waitFor(t, "the pool to shrink to 1", func() bool { return len(e.poolPods("warm", "warm")) == 1 && e.poolReady(m, "warm") == 1 })

	// kubectl scale sandboxpool warm --replicas 2
	scale, err := e.dyn.Resource(poolGVR).Namespace(sandboxNamespace).Get(ctx, "warm", metav1.GetOptions{}, "scale")
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if err := unstructured.SetNestedField(scale.Object, int64(2), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dyn.Resource(poolGVR).Namespace(sandboxNamespace).Update(ctx, scale, metav1.UpdateOptions{}, "scale"); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	waitFor(t, "the pool to follow the scale subresource to 2", func() bool { return e.poolReady(m, "warm") == 2 })

	// A pool's resources are its pods' requests and limits, and the SandboxPool's spec.resources.
	status, body := e.call(m, true, http.MethodPut, "/admin/pools/sized", map[string]any{
		"template": "base", "size": 1, "resources": map[string]int{"cpuMillis": 500, "memoryMB": 256}})
	if status != http.StatusOK {
		t.Fatalf("PUT pool sized: %d %s", status, body)
	}
	waitFor(t, "the sized pool to fill", func() bool { return e.poolReady(m, "sized") == 1 })
	for _, p := range e.poolPods("sized", "warm") {
		res := p.Spec.Containers[0].Resources
		if cpu, mem := res.Limits.Cpu().MilliValue(), res.Limits.Memory().Value(); cpu != 500 || mem != 256<<20 {
			t.Errorf("pod %s limits: %dm CPU, %d bytes: want 500m and 256Mi", p.Name, cpu, mem)
		}
	}
	obj, err = e.dyn.Resource(poolGVR).Namespace(sandboxNamespace).Get(ctx, "sized", metav1.GetOptions{})
	if cpu, _, _ := unstructured.NestedInt64(obj.Object, "spec", "resources", "cpuMillis"); err != nil || cpu != 500 {
		t.Errorf("SandboxPool sized spec %v (%v)", obj.Object["spec"], err)
	}
	if status, body := e.call(m, true, http.MethodDelete, "/admin/pools/sized", nil); status != http.StatusNoContent {
		t.Fatalf("delete pool sized: %d %s", status, body)
	}

	status, body = e.call(m, true, http.MethodDelete, "/admin/pools/warm", nil)
	if status != http.StatusNoContent {
		t.Fatalf("delete pool: %d %s", status, body)
	}
	waitFor(t, "the deleted pool's warm pods to go", func() bool { return len(e.poolPods("warm", "")) == len(claimed) })
	for _, sb := range claimed {
		runOK(t, c, sb, "echo still here", "still here\n")
		if err := c.Kill(sb.SandboxID); err != nil {
			t.Errorf("kill claimed %s: %v", sb.SandboxID, err)
		}
	}
	waitFor(t, "no sandbox pod left", func() bool { return len(e.pods("")) == 0 })
}

// TestKubeRestart: a manager killed with SIGKILL and started again finds every sandbox in the API:
// listed with the same record, reachable with the same tokens, timeouts still enforced, the pool
// still full.
func TestKubeRestart(t *testing.T) {
	e := startKubeEnv(t, kubenode.Config{})
	m := e.manager("restart")
	c := m.Client()
	e.putPool(m, "warm", 2)
	waitFor(t, "the pool to fill", func() bool { return e.poolReady(m, "warm") == 2 })
	cold, err := c.Create(managerharness.CreateOptions{Template: "code-interpreter-v1", Timeout: 600, Metadata: map[string]string{"kind": "cold"}})
	if err != nil {
		t.Fatal(err)
	}
	pooled, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 600, Metadata: map[string]string{"kind": "pooled"}})
	if err != nil {
		t.Fatal(err)
	}
	if !createdFromPool(t, m, pooled.SandboxID) {
		t.Errorf("the base create was not served from the pool")
	}
	short, err := c.Create(managerharness.CreateOptions{Template: "base", Timeout: 15, Metadata: map[string]string{"kind": "short"}})
	if err != nil {
		t.Fatal(err)
	}
	runOK(t, c, pooled, "echo before > /tmp/marker && echo ok", "ok\n")
	before := listedByID(t, c)

	m.Kill9()
	m.Restart()
	c = m.Client()

	after := listedByID(t, c)
	for _, sb := range []*managerharness.Sandbox{cold, pooled, short} {
		got, ok := after[sb.SandboxID]
		want := before[sb.SandboxID]
		if !ok || got.StartedAt != want.StartedAt || got.EndAt != want.EndAt || got.Alias != want.Alias ||
			got.TemplateID != want.TemplateID || got.Metadata["kind"] != want.Metadata["kind"] {
			t.Errorf("sandbox %s after the restart:\n got %+v\nwant %+v", sb.SandboxID, got, want)
		}
	}
	runOK(t, c, pooled, "cat /tmp/marker", "before\n")
	runOK(t, c, cold, "echo after", "after\n")
	// The pool's warm pods were claimed just before the crash: the restarted leader refills it.
	waitFor(t, "the pool to be full again after the restart", func() bool { return e.poolReady(m, "warm") == 2 })
	waitFor(t, "the short sandbox to expire after the restart", func() bool { return !e.podExists(short.SandboxID) })
	if n := countLogLines([]*managerharness.Manager{m}, `"sandbox expired"`, short.SandboxID); n != 1 {
		t.Errorf("sandbox %s expired %d times, want once", short.SandboxID, n)
	}
}

// TestKubeTwoReplicas: two manager replicas over one API server. 200 concurrent creates, half
// through each, from one pool: 200 distinct pods; one replica is killed with SIGKILL in the middle
// (a load balancer sends its failed requests to the other) and no sandbox is lost. An API key
// created on one replica works on the other. Then every sandbox expires exactly once across the
// replicas.
func TestKubeTwoReplicas(t *testing.T) {
	const creates = 200
	e := startKubeEnv(t, kubenode.Config{Workers: 16})
	a, b := e.manager("replica-a"), e.manager("replica-b")
	replicas := []*managerharness.Manager{a, b}

	// API keys are in the cluster: one created through a works on b.
	status, body := e.call(a, true, http.MethodPost, "/admin/keys", map[string]string{"name": "shared"})
	if status != http.StatusCreated {
		t.Fatalf("create api key on replica a: %d %s", status, body)
	}
	var key struct{ Key string }
	if err := json.Unmarshal(body, &key); err != nil || key.Key == "" {
		t.Fatalf("create api key answer %s", body)
	}
	waitFor(t, "replica b to accept the key created on a", func() bool {
		_, err := managerharness.NewClient(b.URL(), key.Key).List()
		return err == nil
	})

	e.putPool(a, "shared", 50)
	waitFor(t, "the pool to fill to 50", func() bool { return e.poolReady(b, "shared") == 50 })

	type result struct {
		sb  *managerharness.Sandbox
		via string
	}
	var (
		mu      sync.Mutex
		results []result
		failed  []error
		wg      sync.WaitGroup
		killed  sync.Once
		aDown   = make(chan struct{})
	)
	create := func(i int) {
		defer wg.Done()
		m, via := a, "a"
		if i%2 == 1 {
			m, via = b, "b"
		}
		for attempt := 0; attempt < 3; attempt++ {
			select {
			case <-aDown:
				if m == a {
					m, via = b, "b (after a died)"
				}
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			sb, err := managerharness.NewClient(m.URL(), m.APIKey).CreateContext(ctx, managerharness.CreateOptions{Template: "base", Timeout: 900})
			cancel()
			if err == nil {
				mu.Lock()
				results = append(results, result{sb, via})
				n := len(results)
				mu.Unlock()
				if n == creates/4 {
					killed.Do(func() {
						a.Kill9()
						close(aDown)
					})
				}
				return
			}
			if m != a {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
				return
			}
			<-aDown // a failed: it is being killed; retry on b
		}
	}
	wg.Add(creates)
	for i := range creates {
		go create(i)
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d creates failed on the surviving replica, first: %v", len(failed), failed[0])
	}
	if len(results) != creates {
		t.Fatalf("%d creates succeeded, want %d", len(results), creates)
	}

	// 200 distinct sandboxes, each its own pod, all listed by and reachable through the survivor.
	ids := map[string]bool{}
	for _, r := range results {
		if ids[r.sb.SandboxID] {
			t.Errorf("sandbox %s handed out twice", r.sb.SandboxID)
		}
		ids[r.sb.SandboxID] = true
	}
	uids := map[string]string{}
	for _, p := range e.pods("running") {
		if prev, ok := uids[string(p.UID)]; ok {
			t.Errorf("pod uid %s twice (%s, %s)", p.UID, prev, p.Name)
		}
		uids[string(p.UID)] = p.Name
	}
	running := map[string]bool{}
	for _, p := range e.pods("running") {
		running[p.Labels[kube.LabelID]] = true
	}
	fromPool := 0
	for _, r := range results {
		if !running[r.sb.SandboxID] {
			t.Errorf("sandbox %s (created via %s) has no running pod", r.sb.SandboxID, r.via)
		}
	}
	for _, m := range replicas {
		fromPool += countLogLines([]*managerharness.Manager{m}, `"sandbox created"`, `"fromPool":true`)
	}
	t.Logf("%d creates: %d from the pool, %d sandbox pods running (a create cut off by the kill may have left one more)", creates, fromPool, len(running))
	if fromPool == 0 {
		t.Errorf("no create was served from the pool")
	}
	listed := listedByID(t, b.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, r := range results {
		if _, ok := listed[r.sb.SandboxID]; !ok {
			t.Errorf("sandbox %s (via %s) not listed by replica b", r.sb.SandboxID, r.via)
			continue
		}
		if err := b.Client().EnvdHealth(ctx, r.sb.SandboxID, r.sb.EnvdAccessToken); err != nil {
			t.Errorf("sandbox %s (via %s) unreachable through replica b: %v", r.sb.SandboxID, r.via, err)
		}
	}
	if t.Failed() {
		return
	}
	// Ownership is on the pods: the key created on a (another team) sees none of these sandboxes
	// through b, and its kill of one is answered as for a missing sandbox and kills nothing.
	other := managerharness.NewClient(b.URL(), key.Key)
	if ids, err := other.ListIDs(); err != nil || len(ids) != 0 {
		t.Errorf("another key lists %d of the harness key's sandboxes (%v)", len(ids), err)
	}
	victim := results[0].sb.SandboxID
	if err := other.Kill(victim); !errors.Is(err, managerharness.ErrNotFound) {
		t.Errorf("another key's kill of %s: %v, want not found", victim, err)
	}
	if !e.podExists(victim) {
		t.Errorf("another key's kill removed %s", victim)
	}

	// Both replicas up again; every sandbox gets a short timeout and expires exactly once.
	a.Restart()
	e.putPool(b, "shared", 0)
	for _, r := range results {
		e.setTimeout(b, r.sb.SandboxID, 5)
	}
	waitFor(t, "every sandbox to expire", func() bool { return len(e.pods("running")) == 0 })
	// "sandbox expired" is logged once the runtime's stop returned, which may be after the pod is gone.
	waitFor(t, "every expiry to be logged", func() bool {
		var logs strings.Builder
		for _, m := range replicas {
			logs.WriteString(m.Logs(64 << 20))
		}
		for _, r := range results {
			if !strings.Contains(logs.String(), `"msg":"sandbox expired","part":"manager","id":"`+r.sb.SandboxID+`"`) {
				return false
			}
		}
		return true
	})
	for _, r := range results {
		if n := countLogLines(replicas, `"sandbox expired"`, r.sb.SandboxID); n != 1 {
			t.Errorf("sandbox %s expired %d times across the replicas, want once", r.sb.SandboxID, n)
		}
	}
	if len(listedByID(t, a.Client())) != 0 || len(listedByID(t, b.Client())) != 0 {
		t.Errorf("expired sandboxes still listed")
	}
}
