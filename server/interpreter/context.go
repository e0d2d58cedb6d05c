package interpreter

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/sandboxstack/terraform-provider-sandbox/server/interpreter/kernel"
)

// Context is the JSON form of an execution context.
type Context struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// execContext is one long-lived kernel. Executions on it are serialised.
type execContext struct {
	Context
	lang   language
	kernel *kernel.Kernel
	log    *slog.Logger

	// lock is a one-slot semaphore so that waiting for it can be cancelled.
	lock chan struct{}
	// appliedEnv is envd's environment as last set in the current kernel process ("" = none yet):
	// envd's defaults change after the kernel started (/init at create, or at a warm pool claim).
	appliedEnv atomic.Pointer[string]
}

func newExecContext(ctx context.Context, c Context, lang language, cfg kernel.Config) (*execContext, error) {
	cfg.Dir = c.Cwd
	cfg.InitCode = lang.setup()
	k, err := kernel.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start %s context: %w", c.Language, err)
	}
	return &execContext{
		Context: c,
		lang:    lang,
		kernel:  k,
		log:     cfg.Logger.With("context", c.ID, "language", c.Language),
		lock:    make(chan struct{}, 1),
	}, nil
}

// acquire takes the context's execution lock or gives up when ctx ends.
func (c *execContext) acquire(ctx context.Context) error {
	select {
	case c.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *execContext) release() { <-c.lock }

// silent runs helper code without output or history; an exception is an error.
func (c *execContext) silent(ctx context.Context, code string) error {
	reply, err := c.kernel.Execute(ctx, kernel.Request{Code: code, Silent: true}, kernel.Callbacks{})
	if err != nil {
		return err
	}
	if reply.Status == "error" && reply.Error != nil {
		return fmt.Errorf("%s: %s", reply.Error.Name, reply.Error.Value)
	}
	if reply.Status != "ok" {
		return fmt.Errorf("execution %s", reply.Status)
	}
	return nil
}

// restart replaces the kernel process: state is cleared, id and cwd are
// kept. A running execution ends with kernel.ErrRestarted.
func (c *execContext) restart(ctx context.Context) error {
	c.appliedEnv.Store(nil)
	if err := c.kernel.Restart(ctx); err != nil {
		return fmt.Errorf("restart context %s: %w", c.ID, err)
	}
	c.appliedEnv.Store(nil)
	return nil
}

// ensureAlive restarts a kernel whose process died.
func (c *execContext) ensureAlive(ctx context.Context) error {
	select {
	case <-c.kernel.Done():
	default:
		return nil
	}
	c.log.Warn("kernel process exited; restarting it")
	return c.restart(ctx)
}

func (c *execContext) close() error {
	if err := c.kernel.Close(); err != nil {
		return fmt.Errorf("close context %s: %w", c.ID, err)
	}
	return nil
}
