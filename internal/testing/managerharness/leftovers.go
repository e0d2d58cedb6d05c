package managerharness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"

	"github.com/sandboxstack/terraform-provider-sandbox/server/mountinfo"
)

// Report is what a manager's sandboxes left on the host.
type Report struct {
	// Processes whose command line names a path in the state dir (bwrap, the sandbox's pid 1): the
	// local runtime passes each sandbox's root on bwrap's command line.
	Processes []string
	// Mounts at or under the state dir.
	Mounts []string
	// CgroupGroups are the runtime's per-state-dir group cgroups (sandboxstack-<hash>) that still
	// exist; CgroupSandboxes are per-sandbox cgroups inside them.
	CgroupGroups    []string
	CgroupSandboxes []string
	// SandboxDirs are per-sandbox directories of the runtime (<state>/runtime/sandboxes/<id>).
	SandboxDirs []string
	// StateEntries are sandboxes recorded in the manager's sandboxes.json.
	StateEntries []string
	// StrayFiles are other files in the runtime's and manager's state directories that are not part
	// of an idle manager's state (temporary files of interrupted writes).
	StrayFiles []string
}

// Empty reports whether nothing was left.
func (r Report) Empty() bool {
	return len(r.Processes)+len(r.Mounts)+len(r.CgroupGroups)+len(r.CgroupSandboxes)+
		len(r.SandboxDirs)+len(r.StateEntries)+len(r.StrayFiles) == 0
}

// NoSandboxes reports whether no sandbox was left (the runtime's group cgroups may remain while a
// manager runs or after it was killed).
func (r Report) NoSandboxes() bool {
	return len(r.Processes)+len(r.Mounts)+len(r.CgroupSandboxes)+len(r.SandboxDirs)+len(r.StateEntries) == 0
}

func (r Report) String() string {
	var parts []string
	add := func(what string, items []string) {
		if len(items) > 0 {
			parts = append(parts, fmt.Sprintf("%s (%d): %s", what, len(items), strings.Join(items, "; ")))
		}
	}
	add("processes", r.Processes)
	add("mounts", r.Mounts)
	add("cgroup groups", r.CgroupGroups)
	add("sandbox cgroups", r.CgroupSandboxes)
	add("runtime sandbox dirs", r.SandboxDirs)
	add("manager state entries", r.StateEntries)
	add("stray files", r.StrayFiles)
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "\n")
}

// RuntimeDir is the local runtime's state dir inside a manager's state dir.
func RuntimeDir(stateDir string) string { return filepath.Join(stateDir, "runtime") }

// Leftovers inspects the host for what a manager over stateDir left: call it when the manager is not
// running (its own command line names the state dir), or pass its pid in exclude.
func Leftovers(stateDir string, exclude ...int) Report {
	var r Report
	// Sandboxes' processes name their portals (under /run), not the state dir.
	portals := local.PortalsDir(RuntimeDir(stateDir))
	seen := map[int]bool{}
	for _, p := range append(procsMentioning(stateDir, exclude), procsMentioning(portals, exclude)...) {
		if !seen[p.Pid] {
			seen[p.Pid] = true
			r.Processes = append(r.Processes, p.String())
		}
	}
	r.Mounts = append(mountsUnder(stateDir), mountsUnder(portals)...)
	r.CgroupGroups, r.CgroupSandboxes = cgroupsOf(local.GroupName(RuntimeDir(stateDir)))

	sandboxes := filepath.Join(RuntimeDir(stateDir), "sandboxes")
	if entries, err := os.ReadDir(sandboxes); err == nil {
		for _, e := range entries {
			r.SandboxDirs = append(r.SandboxDirs, filepath.Join(sandboxes, e.Name()))
		}
	}
	if entries, err := os.ReadDir(RuntimeDir(stateDir)); err == nil {
		for _, e := range entries {
			if n := e.Name(); n != "sandboxes" && n != "lock" {
				r.StrayFiles = append(r.StrayFiles, filepath.Join(RuntimeDir(stateDir), n))
			}
		}
	}
	mgrDir := filepath.Join(stateDir, "manager")
	r.StateEntries = stateEntries(stateDir)
	if entries, err := os.ReadDir(mgrDir); err == nil {
		for _, e := range entries {
			if n := e.Name(); n != "sandboxes.json" && n != "pools.json" {
				r.StrayFiles = append(r.StrayFiles, filepath.Join(mgrDir, n))
			}
		}
	}
	return r
}

// Proc is a process found on the host.
type Proc struct {
	Pid     int
	Cmdline string
}

func (p Proc) String() string { return fmt.Sprintf("%d %s", p.Pid, p.Cmdline) }

// procsMentioning lists live processes (zombies excluded: they have no command line) with an
// argument that is dir or a path under it.
func procsMentioning(dir string, exclude []int) []Proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []Proc{{Cmdline: "scan /proc: " + err.Error()}}
	}
	var out []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || slices.Contains(exclude, pid) {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		for _, a := range args {
			if a == dir || strings.HasPrefix(a, dir+"/") {
				out = append(out, Proc{Pid: pid, Cmdline: strings.Join(args, " ")})
				break
			}
		}
	}
	return out
}

// ProcsOfSandbox lists the processes of one local-runtime sandbox: those with its root on their
// command line (bwrap outside, and its child, the sandbox's pid 1).
func ProcsOfSandbox(stateDir, id string) []Proc {
	root := filepath.Join(local.PortalsDir(RuntimeDir(stateDir)), id, "root")
	return procsMentioning(root, nil)
}

// mountsUnder lists mount points at or under dir in this process's mount namespace (which the
// manager, a child, shares).
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"read mountinfo: " + err.Error()}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			mp := mountinfo.Unescape(fields[4])
			if mp == dir || strings.HasPrefix(mp, dir+"/") {
				out = append(out, mp)
			}
		}
	}
	return out
}

// cgroupMountPoints lists where cgroup hierarchies (v1 and v2) are mounted.
func cgroupMountPoints() []string {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) >= 5 && len(b) >= 1 && (b[0] == "cgroup" || b[0] == "cgroup2") {
			out = append(out, mountinfo.Unescape(a[4]))
		}
	}
	return out
}

// cgroupsOf finds the cgroup directories named group in every mounted hierarchy (searched a few
// levels deep: the runtime nests them under the manager's own cgroup), and their subdirectories.
func cgroupsOf(group string) (groups, children []string) {
	const maxDepth = 8
	for _, mp := range cgroupMountPoints() {
		_ = filepath.WalkDir(mp, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(mp, p)
			if rel != "." && strings.Count(rel, "/") >= maxDepth {
				return filepath.SkipDir
			}
			if d.Name() != group {
				return nil
			}
			groups = append(groups, p)
			if entries, err := os.ReadDir(p); err == nil {
				for _, e := range entries {
					if e.IsDir() {
						children = append(children, filepath.Join(p, e.Name()))
					}
				}
			}
			return filepath.SkipDir
		})
	}
	return groups, children
}

// Scrub removes by force whatever a manager over stateDir left on the host (processes, mounts,
// cgroups, sandbox directories), so that a failed test does not leave sandboxes running. The manager
// must not be running.
func Scrub(stateDir string) {
	for range 50 {
		procs := procsMentioning(stateDir, nil)
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mounts := mountsUnder(stateDir)
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) }) // deepest first
	for _, mp := range mounts {
		_ = syscall.Unmount(mp, syscall.MNT_DETACH)
	}
	groups, children := cgroupsOf(local.GroupName(RuntimeDir(stateDir)))
	for _, dir := range append(children, groups...) {
		for range 50 {
			if raw, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
				for _, f := range bytes.Fields(raw) {
					if pid, err := strconv.Atoi(string(f)); err == nil {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			if err := syscall.Rmdir(dir); err == nil || err == syscall.ENOENT {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(mountsUnder(stateDir)) == 0 {
		_ = os.RemoveAll(filepath.Join(RuntimeDir(stateDir), "sandboxes"))
	}
}

// LeftoversOf lists what one sandbox left on the host: its processes, its runtime directory, its
// cgroups and its entry in the manager's sandboxes.json. Empty means nothing.
func LeftoversOf(stateDir, id string) []string {
	var out []string
	for _, p := range ProcsOfSandbox(stateDir, id) {
		out = append(out, "process "+p.String())
	}
	dir := filepath.Join(RuntimeDir(stateDir), "sandboxes", id)
	if _, err := os.Stat(dir); err == nil {
		out = append(out, "directory "+dir)
	}
	for _, m := range mountsUnder(dir) {
		out = append(out, "mount "+m)
	}
	_, children := cgroupsOf(local.GroupName(RuntimeDir(stateDir)))
	for _, c := range children {
		if filepath.Base(c) == id {
			out = append(out, "cgroup "+c)
		}
	}
	for _, e := range stateEntries(stateDir) {
		if e == id {
			out = append(out, "sandboxes.json entry "+id)
		}
	}
	return out
}

// stateEntries lists the sandbox IDs in the manager's sandboxes.json.
func stateEntries(stateDir string) []string {
	raw, err := os.ReadFile(filepath.Join(stateDir, "manager", "sandboxes.json"))
	if err != nil {
		return nil
	}
	var recs []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		return []string{fmt.Sprintf("unreadable sandboxes.json: %v", err)}
	}
	out := make([]string, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.ID)
	}
	return out
}
