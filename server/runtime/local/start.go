package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Start starts the sandbox and returns once its envd answers /health and has taken /init (and the
// template's services are ready). A start that fails leaves nothing behind.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (*sandbox.Instance, error) {
	id := spec.ID
	if !validID.MatchString(id) {
		return nil, fmt.Errorf("start sandbox %q: the ID must be 1-63 characters of [a-z0-9]", id)
	}
	if spec.Template == "" {
		spec.Template = BaseTemplate().Name
	}
	t, ok := r.templates[spec.Template]
	if !ok {
		return nil, fmt.Errorf("start sandbox %q: template %q: %w", id, spec.Template, ErrUnknownTemplate)
	}
	if reason := t.check(r.lower); reason != "" {
		return nil, fmt.Errorf("start sandbox %q: template %q: %w: %s", id, t.Name, ErrTemplateUnavailable, reason)
	}
	spec.Limits = r.withDefaults(spec.Limits)
	network, err := r.EffectiveNetwork(spec.Network)
	if err != nil {
		return nil, fmt.Errorf("start sandbox %q: %w", id, err)
	}
	spec.Network = network

	b := &box{l: r.layoutOf(id)}
	b.op.Lock()
	defer b.op.Unlock()
	r.mu.Lock()
	if _, ok := r.boxes[id]; ok {
		r.mu.Unlock()
		return nil, fmt.Errorf("start sandbox %q: %w", id, ErrExists)
	}
	r.boxes[id] = b
	r.mu.Unlock()
	// Mkdir, not MkdirAll: a directory that exists belongs to something this start must not clean up.
	if err := os.Mkdir(b.l.dir, 0o700); err != nil {
		r.forget(id, b)
		if errors.Is(err, fs.ErrExist) {
			err = ErrExists
		}
		return nil, fmt.Errorf("start sandbox %q: %w", id, err)
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.StartTimeout)
		defer cancel()
	}
	began := time.Now()
	st, err := r.start(ctx, b, spec, t)
	if err != nil {
		err = fmt.Errorf("start sandbox %q: %w%s", id, err, logTail(b.l.log()))
		r.mu.Lock()
		partial, exited := b.st, b.exited
		r.mu.Unlock()
		if terr := r.teardown(ctx, b.l, partial, exited); terr != nil {
			// Kept (not ready) so that a later Stop retries the cleanup.
			r.log.Error("local runtime: clean up after failed start", "id", id, "err", terr)
			return nil, errors.Join(err, terr)
		}
		r.forget(id, b)
		if partial != nil {
			r.freeIDs(partial.IDBase, id)
		}
		return nil, err
	}
	r.log.Info("local runtime: sandbox started", "id", id, "template", t.Name, "pid", st.Init.Pid,
		"took", time.Since(began).Round(time.Millisecond))
	inst := st.instance()
	return &inst, nil
}

// start does the steps of Start; the state file is updated before each one that leaves something
// on the host.
func (r *Runtime) start(ctx context.Context, b *box, spec sandbox.Spec, t Template) (*state, error) {
	l := b.l
	st := &state{Phase: phaseCreating, Spec: spec, StartedAt: time.Now().UTC(), Mount: l.merged(), Base: r.base.dir}
	var err error
	if st.IDBase, err = r.allocIDs(spec.ID); err != nil {
		return nil, err
	}
	if r.cgroups.enabled() {
		st.Cgroups = r.cgroups.plan(spec.ID)
	}
	if err := r.save(b, st); err != nil {
		return nil, err
	}
	r.reached("state")
	if err := r.makePortal(l, st.IDBase, t); err != nil {
		return nil, err
	}

	if len(st.Cgroups) > 0 {
		warnings, err := createCgroups(st.Cgroups, spec.Limits)
		for _, w := range warnings {
			r.log.Warn("local runtime: limit not applied", "id", spec.ID, "err", w)
		}
		if err != nil {
			// Limits are best effort: the sandbox runs without cgroups rather than not at all.
			r.log.Warn("local runtime: sandbox runs without cgroup limits", "id", spec.ID, "reason", err)
			if rerr := removeCgroups(ctx, st.Cgroups); rerr != nil {
				return nil, rerr
			}
			st.Cgroups = nil
			if err := r.save(b, st); err != nil {
				return nil, err
			}
		}
	}

	r.reached("cgroups")
	holder, err := holdIDMap(r.cat, st.IDBase)
	if err != nil {
		return nil, err
	}
	defer holder.close()
	mounts := rootMounts{l: l, base: r.base, lower: r.lower, ids: int(st.IDBase), diskMB: spec.Limits.DiskMB}
	if err := mounts.mountDisk(); err != nil {
		return nil, err
	}
	fsys := rootfs{lower: r.lower, base: r.base.dir, upper: l.upper(), ids: int(st.IDBase)}
	files := sandboxFiles{id: spec.ID}
	if withSlirp(spec.Network) && !spec.Network.Disabled {
		files.resolvConf = "nameserver " + slirpDNS + "\n"
	}
	if _, err := fsys.prepare(files); err != nil {
		return nil, fmt.Errorf("prepare root: %w", err)
	}
	if err := fsys.link(t.Links); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	if err := mounts.mountTrees(holder); err != nil {
		return nil, err
	}

	r.reached("mounted")
	logFile, err := os.OpenFile(l.log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sandbox log: %w", err)
	}
	defer logFile.Close()
	seccomp, err := r.seccompFile(l)
	if err != nil {
		return nil, err
	}
	defer seccomp.Close()
	// The unix socket is the manager's way in; 127.0.0.1:49983 is where programs inside expect envd,
	// as in an E2B sandbox (the code interpreter reads /envs there).
	envdArgs := []string{sandboxEnvd, "--listen", "unix:" + sandboxSocket + ",127.0.0.1:49983",
		"--default-user", sandboxUser, "--workdir", sandboxHome, "--access-token-fd", strconv.Itoa(tokenFD), "--loopback-envs"}
	if len(st.Cgroups) > 0 {
		envdArgs = append(envdArgs, "--workload-cgroup", workloadDir)
	}
	token, err := tokenPipe(spec.AccessToken)
	if err != nil {
		return nil, err
	}
	bw := bwrapSpec{
		bwrap:    r.cfg.Bwrap,
		id:       spec.ID,
		l:        l,
		trees:    r.base.trees,
		stateDir: r.visibleStateDir(),
		binaries: t.Binaries,
		command:  t.launcher(envdArgs),
		shmMB:    shmSize(spec.Limits.MemoryMB),
		workload: workloadProcs(st.Cgroups),
		idBase:   st.IDBase,
		token:    token,
	}
	// bwrap passes its environment to envd: a clean one, never the manager's, and without the token.
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
	}
	sp, err := spawn(ctx, bw, env, logFile, seccomp)
	token.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	b.exited = sp.exited
	r.mu.Unlock()
	r.reached("spawned")
	st.Bwrap, _ = procOf(sp.cmd.Process.Pid)
	if st.Init, err = procOf(sp.status.ChildPid); err != nil {
		sp.abort()
		return nil, fmt.Errorf("sandbox init process: %w", err)
	}
	st.PidNS = sp.status.PidNamespace
	if err := r.save(b, st); err != nil {
		sp.abort()
		return nil, err
	}
	r.reached("recorded")
	// bwrap holds the sandbox's command back until released, so nothing forks outside the cgroups.
	for _, pid := range []int{st.Bwrap.Pid, st.Init.Pid} {
		if err := addToCgroups(st.Cgroups, pid); err != nil {
			r.log.Warn("local runtime: sandbox runs without cgroup limits", "id", spec.ID, "reason", err)
			break
		}
	}
	if err := sp.release(); err != nil {
		return nil, err
	}
	r.reached("released")
	client := newEnvdClient(l.socket(), spec.AccessToken)
	if err := client.waitHealthy(ctx, sp.exited); err != nil {
		return nil, err
	}
	r.reached("healthy")
	// The network comes once bwrap has finished setting up the sandbox, which it has once envd
	// answers: bwrap configures the loopback interface itself after the release, and slirp4netns
	// configuring it at the same time makes bwrap fail. The denied prefixes are routed away before
	// the sandbox has a way out; the default route and the allowed prefixes need slirp4netns's device.
	if r.networking() && withSlirp(spec.Network) {
		before, after := splitRoutes(routeCommands(spec.Network))
		if err := applyRoutes(ctx, st.Init.Pid, before); err != nil {
			return nil, err
		}
		if st.Slirp, err = startSlirp(ctx, r.slirp, st.Init.Pid, logFile); err != nil {
			return nil, err
		}
		if err := r.save(b, st); err != nil {
			return nil, err
		}
		if err := applyRoutes(ctx, st.Init.Pid, after); err != nil {
			return nil, err
		}
		// The network helper works for the sandbox and is counted with it (in envd's share).
		_ = addToCgroups(st.Cgroups, st.Slirp.Pid)
	}
	if err := client.init(ctx, initRequest{EnvVars: spec.EnvVars, DefaultUser: sandboxUser, DefaultWorkdir: sandboxHome}); err != nil {
		return nil, err
	}
	for _, s := range t.Services {
		if s.ReadyPort == 0 {
			continue
		}
		if err := client.waitPort(ctx, s.ReadyPort, sp.exited); err != nil {
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		}
		if s.ReadyPath != "" {
			if err := client.waitHTTP(ctx, s.ReadyPort, s.ReadyPath, sp.exited); err != nil {
				return nil, fmt.Errorf("service %s: %w", s.Name, err)
			}
		}
	}

	st.Phase = phaseRunning
	if err := r.save(b, st); err != nil {
		return nil, err
	}
	r.mu.Lock()
	b.ready = true
	r.mu.Unlock()
	return st, nil
}

// tokenFD is the descriptor on which envd reads its access token (after bwrap's 3 and 4 and the
// seccomp program on 5).
const tokenFD = 6

// tokenPipe returns the read end of a pipe that holds token and nothing more. envd reads it empty at
// start: the token never appears in an environment, a command line or a file of the sandbox, and a
// process that got hold of the descriptor later would read nothing.
func tokenPipe(token string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("token pipe: %w", err)
	}
	defer w.Close()
	// A token is far smaller than a pipe's buffer: the write does not wait for the reader.
	if _, err := w.WriteString(token); err != nil {
		r.Close()
		return nil, fmt.Errorf("write token pipe: %w", err)
	}
	return r, nil
}

// save writes the state file and publishes a copy of st to the runtime (start goes on changing st,
// while List and Stop read what was published).
func (r *Runtime) save(b *box, st *state) error {
	if err := writeState(b.l.state(), st); err != nil {
		return err
	}
	published := *st
	r.mu.Lock()
	b.st = &published
	r.mu.Unlock()
	return nil
}

// forget drops b from the runtime (if it is still the box registered under id).
func (r *Runtime) forget(id string, b *box) {
	r.mu.Lock()
	if r.boxes[id] == b {
		delete(r.boxes, id)
	}
	r.mu.Unlock()
}

// visibleStateDir is StateDir if sandboxes would otherwise see it (it lies in a system tree such as
// /usr), so that it is covered by an empty tmpfs; "" if it is out of their sight anyway.
func (r *Runtime) visibleStateDir() string {
	for _, t := range r.base.trees {
		top := filepath.Join(r.lower, t)
		if r.cfg.StateDir == top || strings.HasPrefix(r.cfg.StateDir, top+"/") {
			rel, _ := filepath.Rel(r.lower, r.cfg.StateDir)
			return "/" + rel
		}
	}
	return ""
}

// makePortal creates the sandbox's portal (see layout): its mount points for / and the system trees,
// envd's socket directory, and the host programs it runs, bound in read-only.
func (r *Runtime) makePortal(l layout, ids uint32, t Template) error {
	if err := os.Mkdir(l.portal, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", l.portal, err)
	}
	if err := os.Chown(l.portal, int(ids), int(ids)); err != nil {
		return fmt.Errorf("chown %s: %w", l.portal, err)
	}
	dirs := []string{l.merged(), l.run(), filepath.Dir(l.binary("envd"))}
	for _, tr := range r.base.trees {
		dirs = append(dirs, l.treeMount(tr))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	// envd, root inside, creates its socket here.
	if err := os.Chown(l.run(), int(ids), int(ids)); err != nil {
		return fmt.Errorf("chown %s: %w", l.run(), err)
	}
	bins := map[string]string{"envd": r.cfg.EnvdBin}
	for name, host := range t.Binaries {
		bins["template-"+name] = host
	}
	for name, host := range bins {
		dst := l.binary(name)
		if err := os.WriteFile(dst, nil, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dst, err)
		}
		if err := unix.Mount(host, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s to %s: %w", host, dst, err)
		}
		if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", dst, err)
		}
	}
	return nil
}

// seccompFile writes the sandbox's seccomp program next to its state and opens it for bwrap.
func (r *Runtime) seccompFile(l layout) (*os.File, error) {
	if err := os.WriteFile(l.seccomp(), r.seccomp, 0o600); err != nil {
		return nil, fmt.Errorf("write seccomp filter: %w", err)
	}
	f, err := os.Open(l.seccomp())
	if err != nil {
		return nil, fmt.Errorf("open seccomp filter: %w", err)
	}
	return f, nil
}

// shmSize is the size of a sandbox's /dev/shm: a quarter of its memory, at least 64 MiB; 256 MiB when
// its memory is unlimited. What it holds counts against the sandbox's memory as well.
func shmSize(memoryMB int64) int64 {
	if memoryMB <= 0 {
		return 256
	}
	return max(memoryMB/4, 64)
}

// logTail returns the end of the sandbox log, for error messages.
func logTail(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) == 0 {
		return ""
	}
	const max = 2048
	if len(raw) > max {
		raw = raw[len(raw)-max:]
	}
	return "; sandbox log: " + strings.TrimSpace(string(raw))
}
