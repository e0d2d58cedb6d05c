package builtin

import (
	"strconv"
	"strings"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
)

// BrowserCDPPort is where Chrome's DevTools endpoint listens in a browser sandbox (GET
// /browser/{id}/json/version reads it there by default).
const BrowserCDPPort = 9222

// browserProfile is Chrome's user data directory. Every sandbox has its own copy-on-write root, so it is
// empty at every start; it is not the default profile, so a Chromium the user starts by hand does not
// hand its window to the running one.
const browserProfile = "/home/user/.config/chromium-cdp"

// ChromiumFlags are the flags of the browser template's Chromium, on every runtime
// (server/templates/browser/start-browser.sh starts the Kubernetes image's Chromium with the same ones,
// and a test keeps the two lists equal); --no-sandbox is added only where needed (see
// chromiumSandboxProbe). A sandbox's network is closed: everything Chromium would fetch by itself
// (updates, field trials, safe browsing lists, metrics, translation, search preconnects) is switched
// off, so that it neither waits on nor retries connections that cannot succeed.
var ChromiumFlags = []string{
	"--headless",
	"--disable-gpu",
	// Shared memory in /tmp, not /dev/shm: a pod's /dev/shm is 64 MiB unless its spec mounts a bigger
	// one, too little for large pages.
	"--disable-dev-shm-usage",
	"--no-first-run",
	"--no-default-browser-check",
	"--disable-quic",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-breakpad",
	"--disable-domain-reliability",
	"--disable-client-side-phishing-detection",
	"--disable-default-apps",
	"--disable-field-trial-config",
	"--metrics-recording-only",
	"--no-pings",
	"--password-store=basic",
	"--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,PreconnectToSearch,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
	"--remote-debugging-address=127.0.0.1",
	"--remote-debugging-port=" + strconv.Itoa(BrowserCDPPort),
	"--user-data-dir=" + browserProfile,
}

// chromiumSandboxProbe decides whether Chromium keeps its own sandbox (renderers in their own user, PID
// and network namespaces under seccomp-bpf): it needs the unprivileged user namespaces this command
// tries to create. Neither a local sandbox (its seccomp filter refuses new user namespaces, as a
// container runtime's default profile does) nor a pod under that default profile has them, nor do
// hosts that restrict user namespaces: there Chromium runs with --no-sandbox and the sandbox (or pod)
// is the only boundary, and the log says so. Started as root, Chromium refuses to run without
// --no-sandbox at all, one more reason it runs as the sandbox's user.
const chromiumSandboxProbe = "unshare --user --map-root-user --pid --net --fork true"

// chromiumLauncher is the /bin/sh script that starts Chromium, as the sandbox's user, and starts it
// again whenever it exits: the browser is the sandbox's service. Debian's Chromium 148 sometimes dies of
// a segfault while it starts on a loaded machine (about one start in twenty under a load of 10 on two
// cores, with or without its own sandbox, on the host as in a sandbox), and a CDP client may close it
// (Puppeteer's browser.close() sends Browser.close); either way the next client finds a browser, with
// the same profile.
func chromiumLauncher() string {
	return "if " + chromiumSandboxProbe + " 2>/dev/null; then nosandbox=; else nosandbox=--no-sandbox; " +
		`echo "chromium: no user namespaces here, so without its own sandbox (--no-sandbox)" >&2; fi; ` +
		"while :; do /usr/bin/chromium $nosandbox " + strings.Join(ChromiumFlags, " ") + " about:blank; " +
		`echo "chromium exited with status $?; starting it again in 1 s" >&2; sleep 1; done`
}

// browserTemplate is headless Chromium from Debian with its DevTools protocol (CDP) on 9222, for
// Playwright's connectOverCDP and Puppeteer through GET /browser/{id}/json/version.
func browserTemplate() local.Template {
	return local.Template{
		Name:     "browser",
		Requires: []string{"chromium", "runuser", "unshare"},
		// Debian's fonts-dejavu-core: without a font, pages render without text.
		RequiresPaths: []string{"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"},
		Services: []local.Service{{
			Name: "chromium",
			// As the sandbox's user, as in E2B's templates: pages, downloads and the profile belong to
			// `user`, Chromium can keep its own sandbox, and a compromised browser process is not root.
			Command:   "env HOME=/home/user USER=user LOGNAME=user runuser -u user -- /bin/sh -c " + shellQuote(chromiumLauncher()),
			ReadyPort: BrowserCDPPort,
			// Chromium accepts connections on 9222 a few hundred milliseconds before it answers them:
			// a sandbox is ready (and a warm one claimable) once CDP answers.
			ReadyPath: "/json/version",
		}},
	}
}

// MaskRequestHost is the Host header the gateway sends to a template's ports other than envd's instead
// of the client's ("" keeps the client's, E2B's default), with ${PORT} replaced by the port: E2B's
// network.maskRequestHost, as a template's default. Servers that answer only to a local name need it
// behind the gateway, where the client's Host is `<port>-<id>.<domain>` or the manager's own name:
// Chrome's DevTools endpoint refuses any Host but an IP address or localhost (a guard against DNS
// rebinding that the gateway, which routes only its own names into a sandbox, makes moot), and so do
// dev servers such as Vite's. In a browser sandbox every such port gets the mask, not only 9222, so a
// second Chrome on the port ?cdpPort= names works the same way. A desktop sandbox runs a headful
// Chromium for OSWorld-style tasks, so it gets the mask too (noVNC's websockify ignores the Host).
func MaskRequestHost(template string) string {
	switch template {
	case "browser", "desktop":
		return "localhost:${PORT}"
	}
	return ""
}

// shellQuote quotes s as one /bin/sh word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
