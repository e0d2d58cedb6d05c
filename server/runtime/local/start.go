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

	b := &box{l: layout{dir: filepath.Join(r.dir, id)}}
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
	st := &state{Phase: phaseCreating, Spec: spec, StartedAt: time.Now().UTC(), Mount: l.merged()}
	if r.cgroups.enabled() {
		st.Cgroups = r.cgroups.plan(spec.ID)
	}
	if err := r.save(b, st); err != nil {
		return nil, err
	}
	r.reached("state")
	for _, d := range []string{l.upper(), l.work(), l.merged(), l.run()} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
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
	fsys := rootfs{lower: r.lower, upper: l.upper()}
	if _, err := fsys.prepare(spec.ID, r.hidden); err != nil {
		return nil, fmt.Errorf("prepare root: %w", err)
	}
	if err := fsys.link(t.Links); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	if err := mountOverlay(r.lower, l.upper(), l.work(), l.merged()); err != nil {
		return nil, err
	}

	r.reached("mounted")
	logFile, err := os.OpenFile(l.log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sandbox log: %w", err)
	}
	// The unix socket is the manager's way in; 127.0.0.1:49983 is where programs inside expect envd,
	// as in an E2B sandbox (the code interpreter reads /envs there).
	envdArgs := []string{sandboxEnvd, "--listen", "unix:" + sandboxSocket + ",127.0.0.1:49983",
		"--default-user", sandboxUser, "--workdir", sandboxHome, "--access-token-fd", strconv.Itoa(tokenFD), "--loopback-envs"}
	token, err := tokenPipe(spec.AccessToken)
	if err != nil {
		logFile.Close()
		return nil, err
	}
	bw := bwrapSpec{
		bwrap:    r.cfg.Bwrap,
		id:       spec.ID,
		l:        l,
		envdBin:  r.cfg.EnvdBin,
		stateDir: r.visibleStateDir(),
		binaries: t.Binaries,
		command:  t.launcher(envdArgs),
		token:    token,
	}
	// bwrap passes its environment to envd: a clean one, never the manager's, and without the token.
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
	}
	sp, err := spawn(ctx, bw, env, logFile)
	logFile.Close()
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

// tokenFD is the descriptor on which envd reads its access token (after bwrap's 3 and 4).
const tokenFD = 5

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

// visibleStateDir is StateDir if sandboxes would otherwise see it in their root, so that it is
// covered by an empty tmpfs; "" if a hidden path or a separate root already keeps it out of sight.
func (r *Runtime) visibleStateDir() string {
	if r.lower != "/" {
		return ""
	}
	for _, h := range r.hidden {
		if strings.ContainsAny(h, "*?[") {
			continue
		}
		if r.cfg.StateDir == h || strings.HasPrefix(r.cfg.StateDir, strings.TrimSuffix(h, "/")+"/") {
			return ""
		}
	}
	return r.cfg.StateDir
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
