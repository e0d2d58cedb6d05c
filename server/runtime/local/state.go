package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// phase is how far a sandbox's start got. The state file is written before each step that leaves
// something behind on the host, so that a manager killed at any point can be cleaned up after.
type phase string

const (
	phaseCreating phase = "creating" // dirs, cgroups, mount, process may exist; not yet serving
	phaseRunning  phase = "running"  // envd answered /health and took /init
)

// stateVersion changes when the state file's meaning changes incompatibly.
const stateVersion = 2

// state is what the runtime keeps on disk for one sandbox. It holds the access token (the sandbox must
// keep serving after a manager restart), so it is written 0600 into a directory only root can enter.
type state struct {
	Version   int          `json:"version"`
	Phase     phase        `json:"phase"`
	Spec      sandbox.Spec `json:"spec"`
	StartedAt time.Time    `json:"startedAt"`
	// Mount is the merged overlay root, also the argument that marks the sandbox's bwrap processes.
	Mount   string      `json:"mount"`
	Cgroups []cgroupDir `json:"cgroups,omitempty"`
	// Bwrap is the bwrap process the runtime started (outside the sandbox); Init is its child, pid 1
	// of the sandbox's pid namespace: when Init dies, the kernel kills everything in the sandbox.
	Bwrap proc `json:"bwrap"`
	Init  proc `json:"init"`
	// PidNS is the inode of the sandbox's pid namespace (/proc/<pid>/ns/pid).
	PidNS uint64 `json:"pidns,omitempty"`
	// IDBase is the host uid (and gid) of the sandbox's root; its ids are the idBlock from there.
	IDBase uint32 `json:"idBase"`
	// Base is the read-only base its / is a copy-on-write view of.
	Base string `json:"base"`
	// Slirp is the user-mode network stack that gives the sandbox its outbound network, if any.
	Slirp proc `json:"slirp,omitzero"`
}

// alive reports whether the sandbox's processes still run.
func (s *state) alive() bool { return s.Init.alive() }

// instance is the sandbox as the Runtime interface reports it.
func (s *state) instance() sandbox.Instance {
	return sandbox.Instance{Spec: s.Spec, StartedAt: s.StartedAt}
}

// writeState replaces the state file atomically: a reader (or a manager recovering after a crash)
// sees the old or the new state, never half of one.
func writeState(path string, s *state) error {
	s.Version = stateVersion
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func readState(path string) (*state, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode state %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state %s: version %d, want %d", path, s.Version, stateVersion)
	}
	return &s, nil
}

// layout names the host paths of one sandbox. Its state, log and layers live in one directory of the
// state dir (root's alone); what bwrap binds into the sandbox lives in its portal, a directory that
// the sandbox's own host uid can reach (bwrap runs as that uid and resolves every path it binds).
// Removing both removes every file the sandbox left.
type layout struct {
	dir    string
	portal string
}

func (l layout) state() string   { return filepath.Join(l.dir, "state.json") }
func (l layout) log() string     { return filepath.Join(l.dir, "sandbox.log") }
func (l layout) seccomp() string { return filepath.Join(l.dir, "seccomp.bpf") }

// disk holds the upper and work directories of every copy-on-write tree of the sandbox.
func (l layout) disk() string                 { return filepath.Join(l.dir, "disk") }
func (l layout) treeUpper(tree string) string { return filepath.Join(l.disk(), tree, "upper") }
func (l layout) treeWork(tree string) string  { return filepath.Join(l.disk(), tree, "work") }

// upper is the upper layer of the sandbox's /.
func (l layout) upper() string { return l.treeUpper(rootTree) }

// merged is the sandbox's / on the host.
func (l layout) merged() string { return filepath.Join(l.portal, "root") }

// treeMount is where a tree is mounted on the host before bwrap binds it into the sandbox.
func (l layout) treeMount(tree string) string {
	if tree == rootTree {
		return l.merged()
	}
	return filepath.Join(l.portal, "trees", tree)
}

// binary is where a host program the sandbox runs (envd, a template's) is bound for bwrap.
func (l layout) binary(name string) string { return filepath.Join(l.portal, "bin", name) }

// run is the host side of the sandbox's /run/envd: envd's socket is the only thing in it.
func (l layout) run() string    { return filepath.Join(l.portal, "run") }
func (l layout) socket() string { return filepath.Join(l.run(), envdSocketName) }
