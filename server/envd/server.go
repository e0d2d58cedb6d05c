// Package envd assembles the in-sandbox agent: the Process and Filesystem Connect services, the /files
// transfer routes, and the small plain-HTTP routes (/health, /envs, /metrics, /init), behind the
// access-token check.
package envd

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"connectrpc.com/connect"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/files"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/filesystem"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/process"
	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/filesystem/filesystemconnect"
	"github.com/sandboxstack/terraform-provider-sandbox/server/proto/process/processconnect"
)

// Version is the envd protocol version this agent implements: the SDKs gate features on it, and
// every gate up to it is implemented.
const Version = "0.6.4"

// Server is one envd instance.
type Server struct {
	env       *sandboxenv.Env
	log       *slog.Logger
	processes *process.Service
	files     *filesystem.Service
	handler   http.Handler

	loopbackEnvs bool
}

// JoinCgroupsOnStart makes every process envd starts join these cgroups (their procs files) first.
func (s *Server) JoinCgroupsOnStart(procsFiles []string) { s.processes.JoinCgroupsOnStart(procsFiles) }

// Option adjusts a Server.
type Option func(*Server)

// WithLoopbackEnvs lets requests from the loopback read GET /envs without the token, for an envd
// inside a sandbox, whose loopback only the sandbox's own programs use (the code interpreter reads the
// default environment there). The token then never has to reach those programs; the variables are in
// every sandbox process's environment anyway. Not for an envd on a host, whose loopback is the host's.
func WithLoopbackEnvs() Option { return func(s *Server) { s.loopbackEnvs = true } }

// New builds the agent around env.
func New(env *sandboxenv.Env, log *slog.Logger, opts ...Option) *Server {
	s := &Server{env: env, log: log, processes: process.NewService(env, log), files: filesystem.NewService(env, log)}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.Handle(processconnect.NewProcessHandler(s.processes))
	mux.Handle(filesystemconnect.NewFilesystemHandler(s.files))
	mux.Handle("/files", files.NewHandler(env, log))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /envs", s.serveEnvs)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("POST /init", s.serveInit)
	s.handler = s.authenticate(mux)
	return s
}

// ServeHTTP serves every envd route. CONNECT requests open a tunnel to a port inside the sandbox.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		if !s.tokenOK(r) {
			writeUnauthorized(w)
			return
		}
		s.serveForward(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Close stops every process the agent started and every polling watcher.
func (s *Server) Close() {
	s.processes.Close()
	s.files.Close()
}

// authenticate enforces X-Access-Token on every route except the ones the protocol exempts:
// /health, /files (token or URL signature, checked by the files handler) and /init (which checks the
// token it may rotate itself).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health", r.URL.Path == "/files", r.URL.Path == "/init":
			next.ServeHTTP(w, r)
			return
		case s.loopbackEnvs && r.URL.Path == "/envs" && r.Method == http.MethodGet &&
			r.Header.Get("X-Access-Token") == "" && fromLoopback(r):
			// See WithLoopbackEnvs. A wrong token is still refused.
			next.ServeHTTP(w, r)
			return
		}
		if !s.tokenOK(r) {
			if isConnectRPC(r) {
				writeConnectError(w, connect.CodeUnauthenticated, unauthorizedMessage)
				return
			}
			writeUnauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(r *http.Request) bool {
	want := s.env.AccessToken()
	if want == "" {
		return true
	}
	got := r.Header.Get("X-Access-Token")
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// fromLoopback reports whether r came over TCP from the loopback. The manager reaches envd over a
// unix socket (local runtime) or the pod IP (kube), never this way.
func fromLoopback(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok || !local.IP.IsLoopback() {
		return false
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && remote.Addr().IsLoopback()
}

func isConnectRPC(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/"+processconnect.ProcessName+"/") ||
		strings.HasPrefix(r.URL.Path, "/"+filesystemconnect.FilesystemName+"/")
}

const unauthorizedMessage = "unauthorized access, please provide a valid access token or method signing if supported"

func writeUnauthorized(w http.ResponseWriter) {
	WriteJSONError(w, http.StatusUnauthorized, unauthorizedMessage)
}

// WriteJSONError writes envd's REST error body: {"code": <status>, "message": "…"}.
func WriteJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": msg})
}

// writeConnectError answers an RPC with a Connect error, whose code the SDK needs as a string.
func writeConnectError(w http.ResponseWriter, code connect.Code, msg string) {
	status := http.StatusUnauthorized
	if code != connect.CodeUnauthenticated {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code.String(), "message": msg})
}
