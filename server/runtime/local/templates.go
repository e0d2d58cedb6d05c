package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Template is what a local sandbox is started from. Every template shares the root filesystem (the
// host's, or Config.RootDir): a template declares which programs it needs from it and which services
// the sandbox runs beside envd.
type Template struct {
	Name string
	// Requires are programs that must exist in the root filesystem (looked up in the standard PATH
	// directories there); a template whose programs are missing is reported unavailable.
	Requires []string
	// RequiresPaths are other files or directories that must exist in the root filesystem, such as
	// the Python packages a template imports.
	RequiresPaths []string
	// Services start inside the sandbox, as root, before envd; Start returns once each is ready.
	Services []Service
	// Binaries are host programs of ours that the template runs (e.g. the code-interpreter server):
	// name → host path, bind-mounted read-only at /run/sandbox/<name>. A missing one makes the
	// template unavailable.
	Binaries map[string]string
	// Links are symbolic links every sandbox of the template gets in its root: absolute sandbox path →
	// target. They lay out files where clients expect them without copying them (the desktop
	// template's /opt/noVNC points into Debian's /usr/share/novnc), in the sandbox's own layer. Paths
	// under /proc, /dev, /run and /sys are rejected: bwrap mounts over them.
	Links map[string]string
}

// BinaryPath is where a template binary appears inside the sandbox.
func BinaryPath(name string) string { return "/run/sandbox/" + name }

// Service is a long-running program of a template (a Jupyter server, a VNC server, a browser).
type Service struct {
	Name string
	// Command is a /bin/sh command line. It runs in the background and its output goes to the
	// sandbox's log; envd's environment from /init is not set yet when it starts.
	Command string
	// ReadyPort, if not 0, is a port on the sandbox's loopback that accepts connections once the
	// service is ready.
	ReadyPort int
	// ReadyPath, if set, makes readiness stricter: GET http://127.0.0.1:<ReadyPort><ReadyPath> must
	// answer 200. For servers that accept connections before they can answer them (Chrome's DevTools
	// endpoint listens a few hundred milliseconds before /json/version answers).
	ReadyPath string
}

// BaseTemplate is the sandbox with the root filesystem's tools as they are.
func BaseTemplate() Template { return Template{Name: "base"} }

// ErrUnknownTemplate is wrapped by starts of a template the runtime does not have.
var ErrUnknownTemplate = errors.New("unknown template")

// ErrTemplateUnavailable is wrapped by starts of a template whose programs are missing.
var ErrTemplateUnavailable = errors.New("template unavailable")

// TemplateStatus says whether a template can be started here, and why not.
type TemplateStatus struct {
	Name      string
	Available bool
	Reason    string // why it is unavailable
}

// searchPath is where required programs are looked for inside the root filesystem.
var searchPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// check reports why t cannot run over the root filesystem at root ("" when it can).
func (t Template) check(root string) string {
	var missing []string
	for _, prog := range t.Requires {
		if !hasProgram(root, prog) {
			missing = append(missing, prog)
		}
	}
	for _, p := range t.RequiresPaths {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			missing = append(missing, p)
		}
	}
	for name, host := range t.Binaries {
		if fi, err := os.Stat(host); err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, name+" ("+host+")")
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("missing in %s: %s", root, strings.Join(missing, ", "))
}

func hasProgram(root, prog string) bool {
	candidates := []string{prog}
	if !strings.HasPrefix(prog, "/") {
		candidates = candidates[:0]
		for _, dir := range searchPath {
			candidates = append(candidates, filepath.Join(dir, prog))
		}
	}
	for _, c := range candidates {
		// Stat, not Lstat: Debian links many programs through /etc/alternatives; a link resolves on the
		// host the same way as inside when the root is the host's.
		if fi, err := os.Stat(filepath.Join(root, c)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

// launcher is the sandbox's first command: it starts the template's services in the background and
// then becomes envd, so that envd is the parent (and reaper) of everything in the sandbox.
func (t Template) launcher(envdArgs []string) []string {
	if len(t.Services) == 0 {
		return envdArgs
	}
	var b strings.Builder
	for _, s := range t.Services {
		// A service is workload: it counts against the sandbox's limits, not envd's reserve. Services
		// do not inherit envd's token descriptor.
		fmt.Fprintf(&b, "( %s; %s ) </dev/null %d<&- &\n", joinWorkload, s.Command, tokenFD)
	}
	b.WriteString("exec")
	for _, a := range envdArgs {
		b.WriteString(" " + shellQuote(a))
	}
	return []string{"/bin/sh", "-c", b.String()}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
