package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// limitedControllers are the controllers the runtime uses: one for each field of sandbox.Limits.
var limitedControllers = []string{"cpu", "memory", "pids"}

// cgroupDir is one per-sandbox cgroup directory. Controller names the v1 hierarchy it belongs to;
// it is empty for the cgroup v2 unified hierarchy, where one directory carries every controller.
type cgroupDir struct {
	Path       string `json:"path"`
	Controller string `json:"controller,omitempty"`
}

// cgroupParent is a directory under which the runtime may create per-sandbox cgroups.
type cgroupParent struct {
	path       string
	controller string // "" for v2
}

// cgroups says where per-sandbox cgroups go on this machine, or why there are none.
type cgroups struct {
	parents []cgroupParent // empty when limits cannot be applied
	reason  string         // why parents is empty
}

// detectCgroups finds the cgroup hierarchies this process sits in and prepares, under the process's
// own cgroup, a group directory for the runtime's sandboxes. Nesting under the manager's own cgroup
// keeps the manager's limits (and its supervisor's accounting) over its sandboxes. On hybrid machines
// the v1 controllers win, because the v2 hierarchy there carries no controllers.
//
// It never fails: when no hierarchy is writable it returns an empty set and the reason.
func detectCgroups(mountinfoPath, selfCgroupPath, group string) *cgroups {
	mounts, err := readCgroupMounts(mountinfoPath)
	if err != nil {
		return &cgroups{reason: err.Error()}
	}
	own, err := readSelfCgroups(selfCgroupPath)
	if err != nil {
		return &cgroups{reason: err.Error()}
	}
	var reasons []string
	var v1 []cgroupParent
	for _, ctrl := range limitedControllers {
		m, ok := mounts.v1[ctrl]
		if !ok {
			continue
		}
		parent := filepath.Join(m.point, relCgroup(own[ctrl], m.root), group)
		if err := probeCgroupParent(parent); err != nil {
			reasons = append(reasons, fmt.Sprintf("cgroup v1 %s: %v", ctrl, err))
			continue
		}
		v1 = append(v1, cgroupParent{path: parent, controller: ctrl})
	}
	if len(v1) > 0 {
		return &cgroups{parents: v1}
	}
	if mounts.v2 != nil {
		parent, err := prepareV2(mounts.v2, own[""], group)
		if err == nil {
			return &cgroups{parents: []cgroupParent{{path: parent}}}
		}
		reasons = append(reasons, fmt.Sprintf("cgroup v2: %v", err))
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "no cgroup hierarchy with the cpu, memory or pids controller is mounted")
	}
	return &cgroups{reason: strings.Join(reasons, "; ")}
}

// prepareV2 creates the group directory under the process's own v2 cgroup and delegates the
// controllers to it. The kernel refuses to enable controllers for the children of a cgroup that holds
// processes itself (other than the root), which is the usual case for a manager that was not given a
// delegated subtree: then there are no limits, and the error says why.
func prepareV2(m *cgroupMount, own, group string) (string, error) {
	base := filepath.Join(m.point, relCgroup(own, m.root))
	raw, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	if err != nil {
		return "", fmt.Errorf("read controllers of %s: %w", base, err)
	}
	var enable []string
	for _, c := range strings.Fields(string(raw)) {
		if slices.Contains(limitedControllers, c) {
			enable = append(enable, "+"+c)
		}
	}
	if len(enable) == 0 {
		return "", fmt.Errorf("%s offers none of cpu, memory, pids", base)
	}
	ctl := strings.Join(enable, " ")
	if err := os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte(ctl), 0); err != nil {
		return "", fmt.Errorf("enable %q for children of %s (run the manager in a delegated cgroup of its own): %w", ctl, base, err)
	}
	parent := filepath.Join(base, group)
	if err := probeCgroupParent(parent); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte(ctl), 0); err != nil {
		return "", fmt.Errorf("enable %q for children of %s: %w", ctl, parent, err)
	}
	return parent, nil
}

// probeCgroupParent creates parent and checks that a child cgroup can be made and removed in it.
func probeCgroupParent(parent string) error {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	probe := filepath.Join(parent, "probe-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", probe, err)
	}
	if err := syscall.Rmdir(probe); err != nil {
		return fmt.Errorf("remove %s: %w", probe, err)
	}
	return nil
}

// relCgroup turns a cgroup path from /proc/self/cgroup into a path under a mount whose root is
// mountRoot (containers without a cgroup namespace mount only their own subtree).
func relCgroup(own, mountRoot string) string {
	if mountRoot != "/" {
		if rest, ok := strings.CutPrefix(own, mountRoot); ok {
			return rest
		}
	}
	return own
}

// enabled reports whether sandboxes get cgroups.
func (c *cgroups) enabled() bool { return len(c.parents) > 0 }

// plan names the cgroup directories of sandbox id. They are recorded before they are created, so a
// manager that dies in between leaves nothing that a later one cannot find.
func (c *cgroups) plan(id string) []cgroupDir {
	out := make([]cgroupDir, 0, len(c.parents))
	for _, p := range c.parents {
		out = append(out, cgroupDir{Path: filepath.Join(p.path, id), Controller: p.controller})
	}
	return out
}

// removeGroups removes the runtime's group directories if no sandbox cgroup is left in them.
func (c *cgroups) removeGroups() {
	for _, p := range c.parents {
		_ = syscall.Rmdir(p.path) // EBUSY while sandboxes of another runtime over the same state remain
	}
}

// A sandbox's cgroup has two children: envdCgroup holds bwrap, envd and slirp4netns, and
// workloadCgroup everything envd and the template's services start (they move themselves there, see
// workloadProcs). The workload gets the sandbox's limits; the sandbox's own cgroup adds envd's
// reserve on top, so a workload that exhausts its processes or memory never starves envd, which can
// still run commands (to kill the culprit, for one) and answer the manager.
const (
	envdCgroup     = "envd"
	workloadCgroup = "workload"
	envdPids       = 256
	envdMemoryMB   = 128
)

// createCgroups makes the directories and writes the limits. A limit the kernel refuses is reported,
// not fatal: the sandbox runs without it.
func createCgroups(dirs []cgroupDir, l sandbox.Limits) (warnings []error, err error) {
	outer, inner := l, l
	inner.CPUMillis = 0 // shared with envd, which uses little
	if outer.MemoryMB > 0 {
		outer.MemoryMB += envdMemoryMB
	}
	if outer.Pids > 0 {
		outer.Pids += envdPids
	}
	write := func(d cgroupDir, l sandbox.Limits) {
		for _, w := range limitWrites(d, l) {
			if err := os.WriteFile(filepath.Join(d.Path, w.file), []byte(w.value), 0); err != nil && !w.optional {
				warnings = append(warnings, fmt.Errorf("set %s=%s: %w", filepath.Join(d.Path, w.file), w.value, err))
			}
		}
	}
	for _, d := range dirs {
		if err := os.Mkdir(d.Path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create cgroup %s: %w", d.Path, err)
		}
		write(d, outer)
		if d.Controller == "" {
			// v2: the children get the controllers (the sandbox's cgroup itself holds no process).
			raw, err := os.ReadFile(filepath.Join(d.Path, "cgroup.controllers"))
			if err != nil {
				return nil, fmt.Errorf("read controllers of %s: %w", d.Path, err)
			}
			var enable []string
			for _, c := range strings.Fields(string(raw)) {
				if slices.Contains(limitedControllers, c) {
					enable = append(enable, "+"+c)
				}
			}
			if err := os.WriteFile(filepath.Join(d.Path, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0); err != nil {
				return nil, fmt.Errorf("enable controllers for the children of %s: %w", d.Path, err)
			}
		}
		for _, child := range []string{envdCgroup, workloadCgroup} {
			if err := os.Mkdir(filepath.Join(d.Path, child), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("create cgroup %s/%s: %w", d.Path, child, err)
			}
		}
		write(cgroupDir{Path: filepath.Join(d.Path, workloadCgroup), Controller: d.Controller}, inner)
		// Any process of the sandbox may move itself into the workload cgroup, the one place of lower
		// limits (v2 also asks for write access to the common parent's procs file); it sees no other
		// cgroup file.
		procs := []string{filepath.Join(d.Path, workloadCgroup, "cgroup.procs")}
		if d.Controller == "" {
			procs = append(procs, filepath.Join(d.Path, "cgroup.procs"))
		}
		for _, p := range procs {
			if err := os.Chmod(p, 0o666); err != nil {
				return nil, fmt.Errorf("open %s to the sandbox: %w", p, err)
			}
		}
	}
	return warnings, nil
}

// workloadProcs are the procs files of the sandbox's workload cgroups: host path → name under
// /run/sandbox/cgroup inside. A process joins them by writing 0.
func workloadProcs(dirs []cgroupDir) map[string]string {
	out := map[string]string{}
	for _, d := range dirs {
		name := d.Controller
		if name == "" {
			name = "unified"
		}
		out[filepath.Join(d.Path, workloadCgroup, "cgroup.procs")] = name + ".procs"
	}
	return out
}

type limitWrite struct {
	file, value string
	optional    bool // a file that only exists on some kernels or configurations
}

// cpuPeriodMicros is the CFS period the CPU quota is expressed in (the kernel's default).
const cpuPeriodMicros = 100000

func limitWrites(d cgroupDir, l sandbox.Limits) []limitWrite {
	var out []limitWrite
	quota := strconv.FormatInt(l.CPUMillis*cpuPeriodMicros/1000, 10)
	mem := strconv.FormatInt(l.MemoryMB<<20, 10)
	pids := strconv.FormatInt(l.Pids, 10)
	switch d.Controller {
	case "cpu":
		if l.CPUMillis > 0 {
			out = append(out, limitWrite{file: "cpu.cfs_period_us", value: strconv.Itoa(cpuPeriodMicros)},
				limitWrite{file: "cpu.cfs_quota_us", value: quota})
		}
	case "memory":
		if l.MemoryMB > 0 {
			// memsw (memory+swap) must not be below the memory limit, so it is written second; it exists
			// only when swap accounting is on.
			out = append(out, limitWrite{file: "memory.limit_in_bytes", value: mem},
				limitWrite{file: "memory.memsw.limit_in_bytes", value: mem, optional: true})
		}
	case "pids":
		if l.Pids > 0 {
			out = append(out, limitWrite{file: "pids.max", value: pids})
		}
	case "":
		if l.CPUMillis > 0 {
			out = append(out, limitWrite{file: "cpu.max", value: quota + " " + strconv.Itoa(cpuPeriodMicros)})
		}
		if l.MemoryMB > 0 {
			out = append(out, limitWrite{file: "memory.max", value: mem},
				limitWrite{file: "memory.swap.max", value: "0", optional: true})
		}
		if l.Pids > 0 {
			out = append(out, limitWrite{file: "pids.max", value: pids})
		}
	}
	return out
}

// addToCgroups moves pid into the envd cgroup of every directory.
func addToCgroups(dirs []cgroupDir, pid int) error {
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d.Path, envdCgroup, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("move pid %d into %s: %w", pid, d.Path, err)
		}
	}
	return nil
}

// cgroupPids lists the processes in a cgroup directory (none when it does not exist).
func cgroupPids(dir string) ([]int, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(raw)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}

// removeCgroups kills whatever is left in the directories and removes them, retrying until the kernel
// has let the last process go or ctx ends.
func removeCgroups(ctx context.Context, dirs []cgroupDir) error {
	var errs []error
	for _, d := range dirs {
		if err := removeCgroup(ctx, d.Path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroup(ctx context.Context, dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, child := range []string{envdCgroup, workloadCgroup} {
		if err := removeCgroup(ctx, filepath.Join(dir, child)); err != nil {
			return err
		}
	}
	// cgroup.kill (v2, Linux 5.14+) kills atomically, including processes forking meanwhile.
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		pids, err := cgroupPids(dir)
		if err != nil {
			return fmt.Errorf("list processes of cgroup %s: %w", dir, err)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		err = syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove cgroup %s: still busy (%d processes): %w", dir, len(pids), ctx.Err())
		case <-time.After(delay):
		}
	}
}

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	point string // where it is mounted
	root  string // which cgroup of the hierarchy is mounted there
}

type cgroupMounts struct {
	v1 map[string]*cgroupMount // by controller
	v2 *cgroupMount
}

// readCgroupMounts parses mountinfo (proc(5)) for cgroup and cgroup2 mounts.
func readCgroupMounts(path string) (*cgroupMounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	out := &cgroupMounts{v1: map[string]*cgroupMount{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// ID parentID major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		m := &cgroupMount{point: mountinfo.Unescape(a[4]), root: mountinfo.Unescape(a[3])}
		switch b[0] {
		case "cgroup2":
			if out.v2 == nil {
				out.v2 = m
			}
		case "cgroup":
			for _, opt := range strings.Split(b[2], ",") {
				if slices.Contains(limitedControllers, opt) && out.v1[opt] == nil {
					out.v1[opt] = m
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return out, nil
}

// readSelfCgroups parses /proc/self/cgroup: controller → cgroup path; "" is the v2 hierarchy.
func readSelfCgroups(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			out[ctrl] = parts[2]
		}
	}
	return out, nil
}
