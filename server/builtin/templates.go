// Package builtin holds the templates every sandbox manager offers on the local runtime (base comes from
// the runtime itself): what each needs from the host and which services it runs beside envd. The
// Kubernetes runtime's test node runs pods with the same templates.
package builtin

import (
	"path/filepath"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// CodeInterpreterPort is where @e2b/code-interpreter finds its server in a sandbox.
const CodeInterpreterPort = 49999

// LocalTemplates are the built-in templates beside base; binDir holds our own binaries they run (the
// code-interpreter server). Each declares what it needs from the host; GET /templates says which are
// available and why not.
func LocalTemplates(binDir string) []local.Template {
	return []local.Template{{
		Name:     "code-interpreter",
		Requires: []string{"python3", "runuser"},
		// Debian's python3-ipykernel, python3-numpy, python3-pandas and python3-matplotlib.
		RequiresPaths: []string{
			"/usr/lib/python3/dist-packages/ipykernel",
			"/usr/lib/python3/dist-packages/numpy",
			"/usr/lib/python3/dist-packages/pandas",
			"/usr/lib/python3/dist-packages/matplotlib",
		},
		Binaries: map[string]string{"code-interpreter": filepath.Join(binDir, "code-interpreter")},
		Services: []local.Service{{
			Name: "code-interpreter",
			// The server pre-starts the default Python kernel, so a sandbox from a warm pool runs code at once.
			// Code runs as the sandbox's user, as in E2B's template, not as root.
			Command: "env HOME=/home/user USER=user LOGNAME=user runuser -u user -- " + local.BinaryPath("code-interpreter") +
				" --listen 127.0.0.1:49999 --python /usr/bin/python3 --cwd /home/user --envd-url http://127.0.0.1:49983",
			ReadyPort: CodeInterpreterPort,
		}},
	},
		desktopTemplate(),
		browserTemplate(),
	}
}

// Aliases are the other names clients use for a template (the SDKs' defaults).
func Aliases(template string) []string {
	switch template {
	case "code-interpreter":
		return []string{"code-interpreter-v1"}
	}
	return nil
}

// Of reports the local runtime's templates as the manager lists them.
func Of(rt *local.Runtime) []sandbox.Template {
	var out []sandbox.Template
	for _, t := range rt.Templates() {
		out = append(out, sandbox.Template{Name: t.Name, Aliases: Aliases(t.Name), Available: t.Available, Reason: t.Reason})
	}
	return out
}
