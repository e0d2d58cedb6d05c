// Package local runs sandboxes on the manager's own machine: each sandbox is envd started by
// bubblewrap in its own pid, mount, IPC, UTS and network namespaces, over a copy-on-write overlay of a
// root filesystem (the host's by default), in cgroups that carry its limits where the machine allows.
// Per-sandbox state lives in files under Config.StateDir, so a restarted manager adopts the sandboxes
// that still run and cleans up after the ones that do not.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Config configures a Runtime.
type Config struct {
	// StateDir holds one directory per sandbox (overlay layers, envd's socket, log, state file). It
	// must be on a filesystem that can be an overlayfs upper layer (not overlayfs itself).
	StateDir string
	// EnvdBin is the envd binary; it is bind-mounted read-only into every sandbox.
	EnvdBin string
	// Logger receives the runtime's logs; nil discards them.
	Logger *slog.Logger
	// RootDir is the root filesystem sandboxes see an allowlist of (its system trees such as /usr and
	// a selection of /etc); "" means the host's /.
	RootDir string
	// DefaultLimits apply to every sandbox field by field where its spec sets none (0).
	DefaultLimits sandbox.Limits
	// Slirp4netns is the slirp4netns binary that gives sandboxes outbound networking; "" looks it up
	// in PATH. Without it (or with DisableNetwork) sandboxes have a loopback interface only.
	Slirp4netns    string
	DisableNetwork bool
	// Bwrap is the bubblewrap binary; "" looks up bwrap in PATH.
	Bwrap string
	// Templates are offered beside the base template.
	Templates []Template
	// StartTimeout bounds a start whose context has no deadline; 0 means 30s.
	StartTimeout time.Duration
	// DisableCgroups runs sandboxes without cgroups (and limits) even where the machine has them.
	DisableCgroups bool
	// MaxLogBytes caps each sandbox's log file; 0 means DefaultMaxLogBytes.
	MaxLogBytes int64
}

// ErrNotFound is wrapped by operations on a sandbox the runtime does not run.
var ErrNotFound = errors.New("sandbox not found")

// ErrExists is wrapped by starts of an ID that is already running.
var ErrExists = errors.New("sandbox already exists")

// validID is the E2B sandbox ID shape; it also ends up as a host name, hence at most 63 characters.
var validID = regexp.MustCompile(`^[a-z0-9]{1,63}$`)

// teardownTimeout bounds the cleanup of a sandbox when the caller's context gives no deadline, or has
// already ended (a failed start still cleans up).
const teardownTimeout = 30 * time.Second

// Runtime is the local sandbox.Runtime.
type Runtime struct {
	cfg       Config
	log       *slog.Logger
	dir       string // StateDir/sandboxes
	portals   string // where sandboxes' portals go (see layout)
	lower     string
	base      *base
	cat       string // the program that holds a user namespace open (see holdIDMap)
	slirp     string // "" when sandboxes get no network
	seccomp   []byte
	cgroups   *cgroups
	templates map[string]Template
	lock      *os.File
	stopLogs  chan struct{} // closed by Close: ends the log capping

	mu    sync.Mutex
	boxes map[string]*box
	ids   map[uint32]string // id block base → sandbox

	// afterStep, when set (by tests), is called after each step of a start; a test kills the
	// process there to check that recovery cleans up after a manager that died mid-start.
	afterStep func(step string)
}

func (r *Runtime) reached(step string) {
	if r.afterStep != nil {
		r.afterStep(step)
	}
}

var _ sandbox.Runtime = (*Runtime)(nil)

// box is the runtime's handle on one sandbox.
type box struct {
	// op serializes Start and Stop of this sandbox: a Stop during a Start waits for it.
	op sync.Mutex
	l  layout
	// Fields below are guarded by Runtime.mu.
	st     *state        // nil until the state is first written
	ready  bool          // serving: listed and dialable
	exited chan struct{} // closed when the bwrap this process started exits; nil when adopted
}

// New opens (or creates) StateDir, adopts the sandboxes that still run there and cleans up after the
// ones that do not. Only one Runtime may use a StateDir at a time.
func New(cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("local runtime: StateDir is required")
	}
	if cfg.EnvdBin == "" {
		return nil, errors.New("local runtime: EnvdBin is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.MaxLogBytes <= 0 {
		cfg.MaxLogBytes = DefaultMaxLogBytes
	}
	var err error
	if cfg.StateDir, err = filepath.Abs(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("local runtime: StateDir: %w", err)
	}
	if cfg.EnvdBin, err = filepath.Abs(cfg.EnvdBin); err != nil {
		return nil, fmt.Errorf("local runtime: EnvdBin: %w", err)
	}
	if fi, err := os.Stat(cfg.EnvdBin); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("local runtime: envd binary %s: not a regular file (build it with `go build -o bin/envd ./server/cmd/envd`): %v", cfg.EnvdBin, err)
	}
	if cfg.Bwrap == "" {
		if cfg.Bwrap, err = exec.LookPath("bwrap"); err != nil {
			return nil, fmt.Errorf("local runtime: bubblewrap not found (install it with `apt-get install -y bubblewrap`): %w", err)
		}
	}
	lower := cfg.RootDir
	if lower == "" {
		lower = "/"
	}
	if lower, err = filepath.Abs(lower); err != nil {
		return nil, fmt.Errorf("local runtime: RootDir: %w", err)
	}
	for what, p := range map[string]string{"StateDir": cfg.StateDir, "RootDir": lower} {
		if err := checkMountPath(what, p); err != nil {
			return nil, fmt.Errorf("local runtime: %w", err)
		}
	}

	r := &Runtime{
		cfg:       cfg,
		log:       cfg.Logger,
		dir:       filepath.Join(cfg.StateDir, "sandboxes"),
		portals:   PortalsDir(cfg.StateDir),
		lower:     lower,
		templates: map[string]Template{},
		boxes:     map[string]*box{},
		ids:       map[uint32]string{},
	}
	if r.cat, err = exec.LookPath("cat"); err != nil {
		return nil, fmt.Errorf("local runtime: cat not found in PATH: %w", err)
	}
	if r.seccomp, err = seccompFilter(); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	if !cfg.DisableNetwork {
		bin := cfg.Slirp4netns
		if bin == "" {
			bin, err = exec.LookPath("slirp4netns")
		}
		if err != nil {
			cfg.Logger.Warn("local runtime: sandboxes get no outbound network: slirp4netns not found (install it with `apt-get install -y slirp4netns`)")
		} else {
			r.slirp = bin
		}
	}
	for _, t := range append([]Template{BaseTemplate()}, cfg.Templates...) {
		if err := checkLinks(t.Links); err != nil {
			return nil, fmt.Errorf("local runtime: template %q: %w", t.Name, err)
		}
		r.templates[t.Name] = t
	}
	// Only root may enter: the state files hold access tokens, and the upper layers hold whatever
	// sandboxes wrote, set-uid files included.
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("local runtime: create %s: %w", r.dir, err)
	}
	if err := os.Chmod(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	if r.lock, err = lockStateDir(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	// Searchable by every uid (sandboxes' roots must walk through), readable by root alone.
	for _, d := range []string{portalRoot, r.portals} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			r.Close()
			return nil, fmt.Errorf("local runtime: create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o711); err != nil {
			r.Close()
			return nil, fmt.Errorf("local runtime: %w", err)
		}
	}
	if r.base, err = buildBase(lower, filepath.Join(cfg.StateDir, "base")); err != nil {
		r.Close()
		return nil, fmt.Errorf("local runtime: %w", err)
	}

	if cfg.DisableCgroups {
		r.cgroups = &cgroups{reason: "disabled by configuration"}
	} else {
		r.cgroups = detectCgroups("/proc/self/mountinfo", "/proc/self/cgroup", GroupName(cfg.StateDir))
	}
	if r.cgroups.enabled() {
		paths := make([]string, 0, len(r.cgroups.parents))
		for _, p := range r.cgroups.parents {
			paths = append(paths, p.path)
		}
		r.log.Info("local runtime: sandboxes get cgroups", "parents", paths)
	} else {
		r.log.Warn("local runtime: sandboxes run without cgroup limits", "reason", r.cgroups.reason)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*teardownTimeout)
	defer cancel()
	if err := r.recover(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("local runtime: recover %s: %w", r.dir, err)
	}
	// Bases of sandboxes that are gone: the adopted ones keep theirs.
	keep := map[string]bool{r.base.dir: true}
	for _, b := range r.boxes {
		if b.st != nil {
			keep[b.st.Base] = true
		}
	}
	removeBasesExcept(filepath.Join(cfg.StateDir, "base"), keep)
	r.stopLogs = make(chan struct{})
	go r.capLogs(r.stopLogs)
	return r, nil
}

// portalRoot holds the portals of every runtime on the machine, one directory per state dir.
const portalRoot = "/run/sandboxstack"

// layoutOf names the paths of sandbox id.
func (r *Runtime) layoutOf(id string) layout { return layoutFor(r.cfg.StateDir, id) }

// layoutFor names the paths of sandbox id of the runtime over stateDir.
func layoutFor(stateDir, id string) layout {
	return layout{
		dir:    filepath.Join(stateDir, "sandboxes", id),
		portal: filepath.Join(PortalsDir(stateDir), id),
	}
}

// PortalsDir is the host directory that holds the portals of the runtime over stateDir: per sandbox
// what bwrap binds into it (<id>/root is its root filesystem, <id>/run/envd.sock envd's socket).
// Tools that look for a sandbox's processes find this path on their command lines.
func PortalsDir(stateDir string) string {
	return filepath.Join(portalRoot, GroupName(stateDir))
}

// networking reports whether sandboxes get outbound networking.
func (r *Runtime) networking() bool { return r.slirp != "" }

// Networking reports whether sandboxes get outbound networking (through slirp4netns); without it a
// sandbox has a loopback interface only.
func (r *Runtime) Networking() bool { return r.networking() }

// allocIDs reserves a host id block for sandbox id.
func (r *Runtime) allocIDs(id string) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for slot := range uint32(idSlots) {
		base := firstIDBase + slot*idBlock
		if _, used := r.ids[base]; !used {
			r.ids[base] = id
			return base, nil
		}
	}
	return 0, fmt.Errorf("all %d host id blocks are in use", idSlots)
}

// freeIDs releases the id block of sandbox id.
func (r *Runtime) freeIDs(base uint32, id string) {
	r.mu.Lock()
	if r.ids[base] == id {
		delete(r.ids, base)
	}
	r.mu.Unlock()
}

// withDefaults fills the limits l does not set from the runtime's defaults.
func (r *Runtime) withDefaults(l sandbox.Limits) sandbox.Limits {
	d := r.cfg.DefaultLimits
	if l.CPUMillis == 0 {
		l.CPUMillis = d.CPUMillis
	}
	if l.MemoryMB == 0 {
		l.MemoryMB = d.MemoryMB
	}
	if l.Pids == 0 {
		l.Pids = d.Pids
	}
	if l.DiskMB == 0 {
		l.DiskMB = d.DiskMB
	}
	return l
}

// GroupName names what one StateDir's sandboxes share on the host (their parent cgroup, their portals
// directory), distinct per StateDir so that two runtimes (two test runs, two managers) never share them.
func GroupName(stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return "sandboxstack-" + hex.EncodeToString(sum[:4])
}

// Close releases the StateDir. Sandboxes keep running; a later New over the same StateDir adopts them.
func (r *Runtime) Close() error {
	if r.stopLogs != nil {
		close(r.stopLogs)
		r.stopLogs = nil
	}
	r.cgroups.removeGroups()
	r.mu.Lock()
	idle := len(r.boxes) == 0
	r.mu.Unlock()
	if idle && r.lock != nil {
		// No sandbox needs a base or a portal any more; a later New builds them again.
		_ = os.RemoveAll(filepath.Join(r.cfg.StateDir, "base"))
		_ = os.Remove(r.portals)
	}
	if r.lock == nil {
		return nil
	}
	err := r.lock.Close() // closing the descriptor drops the lock
	r.lock = nil
	return err
}

// Templates reports which templates this runtime can start.
func (r *Runtime) Templates() []TemplateStatus {
	out := make([]TemplateStatus, 0, len(r.templates))
	for _, t := range r.templates {
		reason := t.check(r.lower)
		out = append(out, TemplateStatus{Name: t.Name, Available: reason == "", Reason: reason})
	}
	slices.SortFunc(out, func(a, b TemplateStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// List returns the sandboxes that run. Sandboxes whose processes died (killed from outside, or out of
// memory) are cleaned up here instead.
func (r *Runtime) List(ctx context.Context) ([]sandbox.Instance, error) {
	r.mu.Lock()
	var ready []*state
	var ids []string
	for id, b := range r.boxes {
		if b.ready {
			ready = append(ready, b.st)
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	out := make([]sandbox.Instance, 0, len(ready))
	for i, st := range ready {
		if st.alive() {
			out = append(out, st.instance())
			continue
		}
		r.log.Warn("local runtime: sandbox died; cleaning up", "id", ids[i])
		if err := r.Stop(ctx, ids[i]); err != nil {
			r.log.Error("local runtime: clean up dead sandbox", "id", ids[i], "err", err)
		}
	}
	return out, nil
}

// DialEnvd connects to the sandbox's envd over its unix socket.
func (r *Runtime) DialEnvd(ctx context.Context, id string) (net.Conn, error) {
	r.mu.Lock()
	b, ok := r.boxes[id]
	ready := ok && b.ready
	r.mu.Unlock()
	if !ready {
		return nil, fmt.Errorf("dial envd of sandbox %q: %w", id, ErrNotFound)
	}
	conn, err := dialSocket(ctx, b.l.socket())
	if err != nil {
		return nil, fmt.Errorf("dial envd of sandbox %q: %w", id, err)
	}
	return conn, nil
}

// Stop kills the sandbox and removes everything it left. Stopping an unknown sandbox is not an error.
func (r *Runtime) Stop(ctx context.Context, id string) error {
	r.mu.Lock()
	b, ok := r.boxes[id]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	b.op.Lock()
	defer b.op.Unlock()
	r.mu.Lock()
	if r.boxes[id] != b { // stopped meanwhile
		r.mu.Unlock()
		return nil
	}
	b.ready = false
	st, exited := b.st, b.exited
	r.mu.Unlock()

	if err := r.teardown(ctx, b.l, st, exited); err != nil {
		return fmt.Errorf("stop sandbox %q: %w", id, err)
	}
	r.mu.Lock()
	delete(r.boxes, id)
	r.mu.Unlock()
	if st != nil {
		r.freeIDs(st.IDBase, id)
	}
	r.log.Info("local runtime: sandbox stopped", "id", id)
	return nil
}

// lockStateDir takes an exclusive lock on StateDir for the life of the Runtime: two managers cleaning
// up after each other's sandboxes mid-start would destroy them.
func lockStateDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("state dir %s is in use by another runtime", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
