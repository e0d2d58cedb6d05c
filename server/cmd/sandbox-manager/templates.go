package main

import (
	"path/filepath"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// codeInterpreterPort is where @e2b/code-interpreter finds its server in a sandbox.
const codeInterpreterPort = 49999

// localTemplates are the built-in templates beside base. Each declares what it needs from the host;
// GET /templates says which are available and why not.
func localTemplates(binDir string) []local.Template {
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
			ReadyPort: codeInterpreterPort,
		}},
	}}
}

// templateAliases are the other names clients use for a template: the SDK's defaults.
var templateAliases = map[string][]string{
	"code-interpreter": {"code-interpreter-v1"},
}

func templatesOf(rt *local.Runtime) []sandbox.Template {
	var out []sandbox.Template
	for _, t := range rt.Templates() {
		out = append(out, sandbox.Template{Name: t.Name, Aliases: templateAliases[t.Name], Available: t.Available, Reason: t.Reason})
	}
	return out
}
