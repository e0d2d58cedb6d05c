package local

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

func TestReadCgroupMounts(t *testing.T) {
	m, err := readCgroupMounts("testdata/mountinfo-hybrid")
	if err != nil {
		t.Fatal(err)
	}
	for ctrl, want := range map[string]string{"cpu": "/sys/fs/cgroup/cpu", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"} {
		if m.v1[ctrl] == nil || m.v1[ctrl].point != want {
			t.Errorf("v1 %s mount: %+v, want %s", ctrl, m.v1[ctrl], want)
		}
	}
	if m.v2 == nil || m.v2.point != "/sys/fs/cgroup/unified" {
		t.Errorf("v2 mount: %+v", m.v2)
	}
	if got := mountinfo.Unescape(`/sys/fs/cgroup/my\040cgroup`); got != "/sys/fs/cgroup/my cgroup" {
		t.Errorf("unescape: %q", got)
	}
	if got := relCgroup("/docker/abc/x", "/docker/abc"); got != "/x" {
		t.Errorf("relCgroup: %q", got)
	}
}

// fakeCgroupFS writes a mountinfo and a /proc/self/cgroup describing hierarchies mounted in a temp
// dir, so that detection can be exercised on layouts this machine does not have.
type fakeCgroupFS struct {
	t                  *testing.T
	root               string
	mountinfo, selfCgr string
}

func newFakeCgroupFS(t *testing.T, own string) *fakeCgroupFS {
	root := t.TempDir()
	f := &fakeCgroupFS{t: t, root: root, mountinfo: filepath.Join(root, "mountinfo"), selfCgr: filepath.Join(root, "cgroup")}
	if err := os.WriteFile(f.selfCgr, []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeCgroupFS) mount(fstype, name, opts string) string {
	point := filepath.Join(f.root, name)
	line := "40 30 0:40 / " + point + " rw,relatime - " + fstype + " " + fstype + " rw," + opts + "\n"
	mi, _ := os.ReadFile(f.mountinfo)
	if err := os.WriteFile(f.mountinfo, append(mi, line...), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return point
}

func TestDetectCgroupsV1(t *testing.T) {
	fs := newFakeCgroupFS(t, "8:pids:/\n4:memory:/svc/x\n1:cpu,cpuacct:/\n0::/\n")
	for _, c := range []string{"cpu", "memory", "pids"} {
		if err := os.MkdirAll(fs.mount("cgroup", c, c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cg := detectCgroups(fs.mountinfo, fs.selfCgr, "grp")
	if !cg.enabled() {
		t.Fatalf("not enabled: %s", cg.reason)
	}
	dirs := cg.plan("sbx")
	want := map[string]string{
		"cpu":    filepath.Join(fs.root, "cpu", "grp", "sbx"),
		"memory": filepath.Join(fs.root, "memory", "svc", "x", "grp", "sbx"),
		"pids":   filepath.Join(fs.root, "pids", "grp", "sbx"),
	}
	if len(dirs) != 3 {
		t.Fatalf("plan: %+v", dirs)
	}
	for _, d := range dirs {
		if d.Path != want[d.Controller] {
			t.Errorf("%s cgroup at %s, want %s", d.Controller, d.Path, want[d.Controller])
		}
	}
	for _, d := range dirs { // what the kernel makes in every new cgroup
		writeFile(t, filepath.Join(d.Path, workloadCgroup, "cgroup.procs"), "")
	}
	if _, err := createCgroups(dirs, sandbox.Limits{CPUMillis: 1500, MemoryMB: 64, Pids: 32}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(want["cpu"], "cpu.cfs_quota_us"), "150000")
	assertFile(t, filepath.Join(want["cpu"], "cpu.cfs_period_us"), "100000")
	assertFile(t, filepath.Join(want["memory"], "memory.limit_in_bytes"), strconv.Itoa((64+envdMemoryMB)<<20))
	assertFile(t, filepath.Join(want["pids"], "pids.max"), strconv.Itoa(32+envdPids))
	assertFile(t, filepath.Join(want["memory"], workloadCgroup, "memory.limit_in_bytes"), strconv.Itoa(64<<20))
	assertFile(t, filepath.Join(want["pids"], workloadCgroup, "pids.max"), "32")
}

func TestDetectCgroupsV2(t *testing.T) {
	fs := newFakeCgroupFS(t, "0::/manager\n")
	point := fs.mount("cgroup2", "unified", "nsdelegate")
	base := filepath.Join(point, "manager")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(base, "cgroup.controllers"), "cpuset cpu io memory pids")
	cg := detectCgroups(fs.mountinfo, fs.selfCgr, "grp")
	if !cg.enabled() {
		t.Fatalf("not enabled: %s", cg.reason)
	}
	assertFile(t, filepath.Join(base, "cgroup.subtree_control"), "+cpu +memory +pids")
	assertFile(t, filepath.Join(base, "grp", "cgroup.subtree_control"), "+cpu +memory +pids")
	dirs := cg.plan("sbx")
	if len(dirs) != 1 || dirs[0].Path != filepath.Join(base, "grp", "sbx") || dirs[0].Controller != "" {
		t.Fatalf("plan: %+v", dirs)
	}
	// What the kernel makes in every new cgroup.
	writeFile(t, filepath.Join(dirs[0].Path, "cgroup.controllers"), "cpu memory pids")
	writeFile(t, filepath.Join(dirs[0].Path, "cgroup.procs"), "")
	writeFile(t, filepath.Join(dirs[0].Path, workloadCgroup, "cgroup.procs"), "")
	if _, err := createCgroups(dirs, sandbox.Limits{CPUMillis: 250, MemoryMB: 100, Pids: 10}); err != nil {
		t.Fatal(err)
	}
	// The sandbox's cgroup: its limits plus envd's reserve; the workload's: its limits.
	assertFile(t, filepath.Join(dirs[0].Path, "cpu.max"), "25000 100000")
	assertFile(t, filepath.Join(dirs[0].Path, "memory.max"), strconv.Itoa((100+envdMemoryMB)<<20))
	assertFile(t, filepath.Join(dirs[0].Path, "pids.max"), strconv.Itoa(10+envdPids))
	assertFile(t, filepath.Join(dirs[0].Path, "cgroup.subtree_control"), "+cpu +memory +pids")
	assertFile(t, filepath.Join(dirs[0].Path, workloadCgroup, "memory.max"), strconv.Itoa(100<<20))
	assertFile(t, filepath.Join(dirs[0].Path, workloadCgroup, "pids.max"), "10")
}

func TestDetectCgroupsUnusable(t *testing.T) {
	t.Run("v1 not writable", func(t *testing.T) {
		fs := newFakeCgroupFS(t, "4:memory:/\n")
		// A file where the hierarchy should be: creating the group fails as on a read-only cgroupfs.
		writeFile(t, fs.mount("cgroup", "memory", "memory"), "")
		cg := detectCgroups(fs.mountinfo, fs.selfCgr, "grp")
		if cg.enabled() || !strings.Contains(cg.reason, "cgroup v1 memory") {
			t.Fatalf("enabled=%v reason=%q", cg.enabled(), cg.reason)
		}
	})
	t.Run("v2 without delegation", func(t *testing.T) {
		fs := newFakeCgroupFS(t, "0::/service\n")
		base := filepath.Join(fs.mount("cgroup2", "unified", "nsdelegate"), "service")
		if err := os.MkdirAll(filepath.Join(base, "cgroup.subtree_control"), 0o755); err != nil { // unwritable
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(base, "cgroup.controllers"), "memory pids")
		cg := detectCgroups(fs.mountinfo, fs.selfCgr, "grp")
		if cg.enabled() || !strings.Contains(cg.reason, "delegated cgroup") {
			t.Fatalf("enabled=%v reason=%q", cg.enabled(), cg.reason)
		}
	})
	t.Run("none mounted", func(t *testing.T) {
		fs := newFakeCgroupFS(t, "0::/\n")
		writeFile(t, fs.mountinfo, "")
		cg := detectCgroups(fs.mountinfo, fs.selfCgr, "grp")
		if cg.enabled() || !strings.Contains(cg.reason, "no cgroup hierarchy") {
			t.Fatalf("enabled=%v reason=%q", cg.enabled(), cg.reason)
		}
	})
}

func TestLimits(t *testing.T) {
	rt, logs := newRuntime(t, Config{})
	spec := newSpec(t)
	spec.Limits = sandbox.Limits{CPUMillis: 500, MemoryMB: 256, Pids: 64}
	st := start(t, rt, spec)
	if !rt.cgroups.enabled() {
		// This machine gives no writable cgroups: the sandbox runs, and the log says why.
		if !strings.Contains(logs.String(), "without cgroup limits") || rt.cgroups.reason == "" {
			t.Fatalf("no logged reason for running without limits:\n%s", logs)
		}
		return
	}
	if len(st.Cgroups) == 0 {
		t.Fatalf("no cgroups for the sandbox:\n%s", logs)
	}
	// The sandbox's cgroup carries its limits plus envd's reserve; the workload cgroup its limits.
	outer, inner := spec.Limits, spec.Limits
	outer.MemoryMB += envdMemoryMB
	outer.Pids += envdPids
	inner.CPUMillis = 0
	for _, d := range st.Cgroups {
		workload := cgroupDir{Path: filepath.Join(d.Path, workloadCgroup), Controller: d.Controller}
		for _, c := range []struct {
			d cgroupDir
			l sandbox.Limits
		}{{d, outer}, {workload, inner}} {
			for _, w := range limitWrites(c.d, c.l) {
				if !w.optional {
					assertFile(t, filepath.Join(c.d.Path, w.file), w.value)
				}
			}
		}
		pids, err := cgroupPids(filepath.Join(d.Path, envdCgroup))
		if err != nil || !containsInt(pids, st.Init.Pid) || len(pids) < 3 { // bwrap, its child and envd
			t.Errorf("processes in %s/%s: %v %v, want bwrap's and envd's", d.Path, envdCgroup, pids, err)
		}
	}
	// Commands join the workload cgroups before they run.
	out := mustRun(t, rt, spec, "", "cat /proc/self/cgroup")
	if n := strings.Count(out, "/"+spec.ID+"/"+workloadCgroup+"\n"); n != len(st.Cgroups) {
		t.Errorf("a command is in %d of the sandbox's %d workload cgroups:\n%s", n, len(st.Cgroups), out)
	}
	if err := rt.Stop(context.Background(), spec.ID); err != nil {
		t.Fatal(err)
	}
	assertGone(t, st, rt.layoutOf(st.Spec.ID).dir)
}

func TestCgroupsDisabled(t *testing.T) {
	rt, logs := newRuntime(t, Config{DisableCgroups: true})
	spec := newSpec(t)
	spec.Limits = sandbox.Limits{MemoryMB: 128}
	st := start(t, rt, spec)
	if len(st.Cgroups) != 0 {
		t.Fatalf("cgroups despite DisableCgroups: %+v", st.Cgroups)
	}
	if !strings.Contains(logs.String(), "without cgroup limits") || !strings.Contains(logs.String(), "disabled by configuration") {
		t.Fatalf("no logged reason:\n%s", logs)
	}
	mustRun(t, rt, spec, "", "true")
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	if got := strings.TrimSpace(string(raw)); got != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}
