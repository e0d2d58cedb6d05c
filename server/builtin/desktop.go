package builtin

import (
	"maps"
	"slices"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
)

// desktopPackages are the Debian packages that give the desktop template everything it runs: what
// @e2b/desktop calls (spec §5.4), a text editor, a terminal and a browser for OSWorld-style tasks.
// server/templates/desktop/Dockerfile installs the same list.
var desktopPackages = []string{
	"xvfb", "x11-utils", "x11-xserver-utils", "xfce4", "xfce4-terminal", "dbus-x11",
	"xdotool", "scrot", "x11vnc", "novnc", "websockify",
	"net-tools", "procps", "xdg-utils", "libgtk-3-bin",
	"mousepad", "chromium", "fonts-dejavu-core",
}

// desktopPrograms are the programs @e2b/desktop runs inside the sandbox (spec §5.1-5.3) or that the
// XFCE session it starts needs (dbus-launch: startxfce4 starts a session bus with it), and the
// applications the template promises.
var desktopPrograms = []string{
	"Xvfb", "xdpyinfo", "xrandr", // display: start, wait for, size
	"startxfce4", "xfce4-session", "xfwm4", "xfdesktop", "xfce4-panel", "dbus-launch", // session
	"xdotool", "scrot", // input, screenshots
	"x11vnc", "websockify", "netstat", // stream
	"pgrep", "pkill", "ps", "bash", "sleep", // process control
	"xdg-open", "gtk-launch", // open, launch
	"mousepad", "xfce4-terminal", "chromium", // applications
}

// noVNCDir is where the SDK looks for noVNC: `cd /opt/noVNC/utils && ./novnc_proxy … --web /opt/noVNC`.
const noVNCDir = "/opt/noVNC"

// Where Debian's novnc package installs the web client and its proxy script, and websockify its
// program.
const (
	debianNoVNC   = "/usr/share/novnc"
	websockifyBin = "/usr/bin/websockify"
)

// noVNCLayout lays out /opt/noVNC the way the SDK expects it (E2B's image has a noVNC checkout there,
// with websockify cloned into utils/ and index.html beside vnc.html), from Debian's novnc and
// websockify: sandbox path → link target. novnc_proxy resolves its own link to /usr/share/novnc/utils,
// finds no websockify checkout there and runs Debian's /usr/bin/websockify.
func noVNCLayout() map[string]string {
	links := map[string]string{
		noVNCDir + "/index.html":           debianNoVNC + "/vnc.html",
		noVNCDir + "/utils/novnc_proxy":    debianNoVNC + "/utils/novnc_proxy",
		noVNCDir + "/utils/websockify/run": websockifyBin,
	}
	for _, entry := range []string{"vnc.html", "vnc_lite.html", "app", "core", "include", "vendor"} {
		links[noVNCDir+"/"+entry] = debianNoVNC + "/" + entry
	}
	return links
}

// desktopTemplate is the sandbox @e2b/desktop drives. It runs no service of its own: the SDK starts
// Xvfb (at the resolution it was asked for), the XFCE session and, on stream.start, x11vnc and noVNC,
// all through envd. Each sandbox has its own network namespace, so the display's abstract socket
// (@/tmp/.X11-unix/X0, as Xvfb listens with -nolisten unix) and its ports are its own, and its own
// /tmp holds the display's lock file: desktops side by side never see each other.
func desktopTemplate() local.Template {
	links := noVNCLayout()
	// What the links point at must exist, or the template is reported unavailable (websockify is
	// among the programs already).
	var paths []string
	for _, target := range slices.Sorted(maps.Values(links)) {
		if target != websockifyBin {
			paths = append(paths, target)
		}
	}
	return local.Template{
		Name:          "desktop",
		Requires:      desktopPrograms,
		RequiresPaths: slices.Compact(paths),
		Links:         links,
	}
}
