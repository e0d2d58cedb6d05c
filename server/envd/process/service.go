// Package process implements the envd Process service: commands and PTYs started, attached to,
// listed, fed input, signalled and resized.
package process

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process/processconnect"
)

const (
	// defaultOutputGrace is how long output is still read after a process exits while descendants
	// keep its stdout, stderr or terminal open.
	defaultOutputGrace = 2 * time.Second
	// reapWait bounds how long a killed process is waited for before answering or shutting down.
	reapWait = 5 * time.Second
)

var _ processconnect.ProcessHandler = (*Service)(nil)

// Service is the Process RPC handler.
type Service struct {
	env *sandboxenv.Env
	log *slog.Logger
	reg *registry

	outputGrace time.Duration
	retention   time.Duration
	// workload are cgroup procs files every started process joins before it runs its command.
	workload []string
}

// JoinCgroupsOnStart makes every process started from now on join the cgroups whose procs files
// are given before it runs its command: the runtime gives envd a cgroup of its own and the
// sandbox's workload another, with the sandbox's limits.
func (s *Service) JoinCgroupsOnStart(procsFiles []string) { s.workload = procsFiles }

// NewService returns a Process service acting in env.
func NewService(env *sandboxenv.Env, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		env:         env,
		log:         log,
		reg:         newRegistry(),
		outputGrace: defaultOutputGrace,
		retention:   endRetention,
	}
}

// Close kills every process the service started.
func (s *Service) Close() {
	procs := s.reg.shutdown()
	for _, p := range procs {
		if err := p.signal(unix.SIGKILL); err != nil && !errors.Is(err, errExited) {
			s.log.Warn("killing process on shutdown", "pid", p.pid, "err", err)
		}
	}
	deadline := time.NewTimer(reapWait)
	defer deadline.Stop()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline.C:
			s.log.Warn("processes still running after shutdown", "pid", p.pid)
			return
		}
	}
}

// user resolves the acting user from Basic auth, answering unknown users the way E2B's envd does.
func (s *Service) user(h http.Header) (*sandboxenv.User, error) {
	u, err := s.env.UserFromHeader(h)
	switch {
	case errors.Is(err, sandboxenv.ErrUnknownUser):
		msg := strings.TrimSuffix(err.Error(), ": "+sandboxenv.ErrUnknownUser.Error())
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New(msg))
	case err != nil:
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("resolve user: %w", err))
	}
	return u, nil
}

// find returns the process sel names, running or recently finished.
func (s *Service) find(sel *rpc.ProcessSelector) (*proc, error) {
	switch v := sel.GetSelector().(type) {
	case *rpc.ProcessSelector_Pid:
		if p := s.reg.byPID(v.Pid); p != nil {
			return p, nil
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("process with pid %d not found", v.Pid))
	case *rpc.ProcessSelector_Tag:
		if p := s.reg.byTag(v.Tag); p != nil {
			return p, nil
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("process with tag '%s' not found", v.Tag))
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("process selector (pid or tag) is required"))
	}
}

// findRunning is find for operations on live processes: a finished one is as good as unknown.
func (s *Service) findRunning(sel *rpc.ProcessSelector) (*proc, error) {
	p, err := s.find(sel)
	if err != nil {
		return nil, err
	}
	if p.ended() {
		return nil, notFound(p)
	}
	return p, nil
}

func notFound(p *proc) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf("process with pid %d not found", p.pid))
}
