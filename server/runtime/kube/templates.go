package kube

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Template is a sandbox template as a pod: the image built from server/templates/<name>/Dockerfile
// and what runs in it beside envd.
type Template struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Entrypoint is the image's own program, a /bin/sh command line started in the background before
	// envd ("" = envd alone).
	Entrypoint string `json:"entrypoint,omitempty"`
	// Ports are the template's service ports (declared on the container; envd's 49983 always is).
	Ports []int32 `json:"ports,omitempty"`
	// ReadyPort, if not 0, must accept TCP connections on the pod IP before the sandbox counts as
	// started (a startup probe), as the local runtime's Service.ReadyPort.
	ReadyPort int32 `json:"readyPort,omitempty"`
	// ReadyCommand, if set, is the startup probe instead, run in the container: for a service that
	// listens on the pod's loopback only, where the kubelet's TCP probes cannot reach.
	ReadyCommand []string `json:"readyCommand,omitempty"`
	// CPUMillis and MemoryMB are the pod's requests and limits when the manager asks for none.
	CPUMillis int64 `json:"cpuMillis,omitempty"`
	MemoryMB  int64 `json:"memoryMB,omitempty"`
	// User is envd's default user (the SDK's "user"); "" means user.
	User string `json:"user,omitempty"`
	// Workdir is envd's default working directory; "" means /home/user.
	Workdir string `json:"workdir,omitempty"`
	// RunAsUser, if not 0, runs the whole pod (envd included) as this unprivileged uid with
	// runAsNonRoot: for images that need no other user. envd cannot then act as any other user (the
	// SDK's user "root" fails), and the sandbox's code, running as the same uid, is not kept from
	// envd's token file. 0 runs envd as root with a reduced capability set, so that it can act as the
	// sandbox's users while they cannot reach its token.
	RunAsUser int64 `json:"runAsUser,omitempty"`
}

// Ports of the built-in templates' services.
const (
	codeInterpreterPort = 49999
	noVNCPort           = 6080
	cdpPort             = 9222
)

// DefaultImageRegistry is where the release publishes the manager, envd and template images.
const DefaultImageRegistry = "ghcr.io/sandboxstack"

// EnvdImage is the envd image (server/templates/envd/Dockerfile) of a registry and tag: the image of
// the init container that injects envd into every sandbox pod, unless the manager is given another.
func EnvdImage(registry, tag string) string {
	return fmt.Sprintf("%s/envd:%s", strings.TrimSuffix(registry, "/"), tag)
}

// BuiltinTemplates are the built-in templates as pods of images named <registry>/sandbox-<name>:<tag>
// (server/templates/<name>/Dockerfile). Their services listen on the pod's loopback (reached through
// envd's port forwarding), so their startup probes run in the container.
func BuiltinTemplates(registry, tag string) []Template {
	image := func(name string) string {
		return fmt.Sprintf("%s/sandbox-%s:%s", strings.TrimSuffix(registry, "/"), name, tag)
	}
	return []Template{
		{Name: "base", Image: image("base"), CPUMillis: 1000, MemoryMB: 512},
		{
			Name:  "code-interpreter",
			Image: image("code-interpreter"),
			// As in the local template: the server pre-starts the default Python kernel and runs code as
			// the sandbox's user.
			Entrypoint: "env HOME=/home/user USER=user LOGNAME=user runuser -u user -- /usr/local/bin/code-interpreter" +
				" --listen 127.0.0.1:49999 --python /usr/bin/python3 --cwd /home/user --envd-url http://127.0.0.1:49983",
			Ports:        []int32{codeInterpreterPort},
			ReadyCommand: loopbackPortOpen(codeInterpreterPort),
			CPUMillis:    2000, MemoryMB: 2048,
		},
		{
			// @e2b/desktop starts Xvfb, the session, x11vnc and noVNC (6080) itself through envd, so the
			// image starts nothing (server/templates/desktop/Dockerfile).
			Name:      "desktop",
			Image:     image("desktop"),
			Ports:     []int32{noVNCPort},
			CPUMillis: 2000, MemoryMB: 4096,
		},
		{
			// Headless Chromium with CDP on 127.0.0.1:9222 (server/templates/browser).
			Name:         "browser",
			Image:        image("browser"),
			Entrypoint:   "/usr/local/bin/start-browser",
			Ports:        []int32{cdpPort},
			ReadyCommand: []string{"/usr/local/bin/cdp-ready"},
			CPUMillis:    2000, MemoryMB: 2048,
		},
	}
}

// LoadTemplates reads templates from a JSON file (a list of Template): for images of one's own, or
// other registries per template.
func LoadTemplates(path string) ([]Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("templates file: %w", err)
	}
	var ts []Template
	if err := json.Unmarshal(raw, &ts); err != nil {
		return nil, fmt.Errorf("templates file %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, t := range ts {
		if t.Name == "" || t.Image == "" {
			return nil, fmt.Errorf("templates file %s: entry %d needs a name and an image", path, i+1)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("templates file %s: template %q twice", path, t.Name)
		}
		seen[t.Name] = true
	}
	return ts, nil
}

// loopbackPortOpen is a probe command that succeeds once a port on the container's loopback accepts
// connections (bash's /dev/tcp: no tool beyond bash needed in the image).
func loopbackPortOpen(port int32) []string {
	return []string{"/bin/bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port)}
}
