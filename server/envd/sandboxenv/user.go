package sandboxenv

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/safefs"
)

// User is an operating-system account that envd acts as.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
	Home   string
}

// ErrUnknownUser is wrapped by lookups of users that do not exist.
var ErrUnknownUser = errors.New("unknown user")

// LookupUser resolves a user name ("" = the default user).
func (e *Env) LookupUser(name string) (*User, error) {
	if name == "" {
		name = e.DefaultUserName()
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("invalid username: '%s': %w", name, ErrUnknownUser)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	out := &User{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				out.Groups = append(out.Groups, uint32(n))
			}
		}
	}
	if out.Home == "" {
		out.Home = "/"
	}
	return out, nil
}

// UserFromHeader resolves the user named by HTTP Basic auth (`Authorization: Basic base64("<user>:")`),
// or the default user when the header is absent.
func (e *Env) UserFromHeader(h http.Header) (*User, error) {
	name, err := BasicAuthUser(h)
	if err != nil {
		return nil, err
	}
	return e.LookupUser(name)
}

// BasicAuthUser extracts the user name from a Basic Authorization header ("" when absent).
func BasicAuthUser(h http.Header) (string, error) {
	auth := h.Get("Authorization")
	if auth == "" {
		return "", nil
	}
	scheme, payload, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", fmt.Errorf("authorization header: expected Basic scheme: %w", ErrUnknownUser)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", fmt.Errorf("authorization header: bad base64: %w", ErrUnknownUser)
	}
	name, _, _ := strings.Cut(string(raw), ":")
	return name, nil
}

// ResolvePath turns a path from a request into an absolute, cleaned path for user u: empty means the
// default workdir (or the home), `~` and `~/x` are the user's home, relative paths are joined to the
// home, absolute paths are kept. `..` is resolved lexically, so `/home/user/../../etc` is `/etc`: envd
// is the sandbox's own agent, and confinement is the sandbox's job, not the path resolver's.
func (e *Env) ResolvePath(p string, u *User) (string, error) {
	switch {
	case p == "":
		if wd := e.DefaultWorkdir(); wd != "" {
			return filepath.Clean(wd), nil
		}
		return filepath.Clean(u.Home), nil
	case p == "~":
		return filepath.Clean(u.Home), nil
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(u.Home, p[2:]), nil
	case strings.HasPrefix(p, "~"):
		return "", fmt.Errorf("path %q: only ~ of the current user is supported", p)
	case filepath.IsAbs(p):
		return filepath.Clean(p), nil
	default:
		return filepath.Join(u.Home, p), nil
	}
}

// Creds are the filesystem credentials that envd's file work for u runs with.
func (u *User) Creds() safefs.Creds {
	return safefs.Creds{UID: u.UID, GID: u.GID, Groups: u.Groups}
}
