// Package sandboxenv holds what envd knows about the sandbox it runs in: the default user, working
// directory and environment variables set by the orchestrator through /init, the access token, and the
// rules that turn a user name or a path from a request into something the operating system accepts.
package sandboxenv

import (
	"maps"
	"os"
	"sync"
)

// FallbackUser is the default user when the orchestrator never named one (E2B's envd does the same).
const FallbackUser = "root"

// Defaults is what /init may set. The zero value means: no token, no extra environment, user root,
// workdir = the user's home.
type Defaults struct {
	EnvVars        map[string]string
	AccessToken    string
	DefaultUser    string
	DefaultWorkdir string
}

// Env is the sandbox's mutable configuration, safe for concurrent use.
type Env struct {
	mu       sync.RWMutex
	defaults Defaults
}

// New returns an Env with the given initial defaults.
func New(d Defaults) *Env {
	e := &Env{}
	e.Set(d)
	return e
}

// Set replaces the defaults wholesale.
func (e *Env) Set(d Defaults) {
	d.EnvVars = maps.Clone(d.EnvVars)
	e.mu.Lock()
	e.defaults = d
	e.mu.Unlock()
}

// Update applies fn to a copy of the defaults and stores the result atomically.
func (e *Env) Update(fn func(*Defaults)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.defaults
	d.EnvVars = maps.Clone(d.EnvVars)
	fn(&d)
	e.defaults = d
}

// Snapshot returns a copy of the current defaults.
func (e *Env) Snapshot() Defaults {
	e.mu.RLock()
	defer e.mu.RUnlock()
	d := e.defaults
	d.EnvVars = maps.Clone(d.EnvVars)
	return d
}

// AccessToken returns the current token ("" = no token required).
func (e *Env) AccessToken() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.defaults.AccessToken
}

// EnvVars returns a copy of the sandbox default environment variables (create-time envVars plus the
// E2B_* variables the orchestrator passes).
func (e *Env) EnvVars() map[string]string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	m := maps.Clone(e.defaults.EnvVars)
	if m == nil {
		m = map[string]string{}
	}
	return m
}

// DefaultUserName is the user requests act as when they name none.
func (e *Env) DefaultUserName() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.defaults.DefaultUser != "" {
		return e.defaults.DefaultUser
	}
	return FallbackUser
}

// DefaultWorkdir is the directory an empty path or cwd resolves to ("" = the user's home).
func (e *Env) DefaultWorkdir() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.defaults.DefaultWorkdir
}

// ProcessEnv is the environment of a process started for u: PATH (envd's own), HOME, USER and
// LOGNAME of the user, then the sandbox defaults, then extra (last wins), as KEY=VALUE pairs.
func (e *Env) ProcessEnv(u *User, extra map[string]string) []string {
	merged := map[string]string{
		"PATH":    os.Getenv("PATH"),
		"HOME":    u.Home,
		"USER":    u.Name,
		"LOGNAME": u.Name,
	}
	if merged["PATH"] == "" {
		merged["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	maps.Copy(merged, e.EnvVars())
	maps.Copy(merged, extra)
	out := make([]string, 0, len(merged))
	for k, v := range merged {
		out = append(out, k+"="+v)
	}
	return out
}
