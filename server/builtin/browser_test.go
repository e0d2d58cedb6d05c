package builtin

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestBrowserTemplateAvailability: over a root without Chromium the manager lists `browser` as
// unavailable and names what is missing (GET /templates shows the reason); once Chromium and the
// font are there it is available.
func TestBrowserTemplateAvailability(t *testing.T) {
	root := t.TempDir()
	put := func(p string, mode os.FileMode) { t.Helper(); putFile(t, root, p, mode) }
	put("/usr/sbin/runuser", 0o755)
	put("/usr/bin/unshare", 0o755)
	rt := newRuntimeOver(t, root, browserTemplate())

	st := templateStatus(t, rt, "browser")
	if st.Available {
		t.Fatalf("browser available over a root without chromium: %+v", st)
	}
	for _, want := range []string{"chromium", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("reason %q does not name %s", st.Reason, want)
		}
	}
	for _, there := range []string{"runuser", "unshare"} {
		if strings.Contains(st.Reason, there) {
			t.Errorf("reason %q names %s, which is there", st.Reason, there)
		}
	}

	put("/usr/bin/chromium", 0o755)
	put("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0o644)
	if st := templateStatus(t, rt, "browser"); !st.Available || st.Reason != "" {
		t.Fatalf("browser not available over a root with chromium, runuser, unshare and the font: %+v", st)
	}
}

// TestBrowserTemplateIsListed: the manager offers `browser` among its built-in templates.
func TestBrowserTemplateIsListed(t *testing.T) {
	var names []string
	for _, tmpl := range LocalTemplates(t.TempDir()) {
		names = append(names, tmpl.Name)
	}
	if !slices.Contains(names, "browser") {
		t.Fatalf("LocalTemplates = %v, no browser", names)
	}
}

// TestBrowserService: Chromium runs as the sandbox's user with CDP on 9222, on loopback only, and
// the sandbox is ready once /json/version answers.
func TestBrowserService(t *testing.T) {
	svc := browserTemplate().Services
	if len(svc) != 1 {
		t.Fatalf("services = %+v, want one", svc)
	}
	s := svc[0]
	if s.ReadyPort != BrowserCDPPort || s.ReadyPath != "/json/version" {
		t.Errorf("ready on %d%s, want %d/json/version", s.ReadyPort, s.ReadyPath, BrowserCDPPort)
	}
	if !strings.Contains(s.Command, "runuser -u user -- /bin/sh -c ") {
		t.Errorf("Chromium does not run as user: %s", s.Command)
	}
	// Chromium's own sandbox stays on unless user namespaces are missing.
	if !strings.Contains(s.Command, "if "+chromiumSandboxProbe+" 2>/dev/null; then nosandbox=; else nosandbox=--no-sandbox;") ||
		!strings.Contains(s.Command, "while :; do /usr/bin/chromium $nosandbox --headless ") {
		t.Errorf("--no-sandbox is not conditional on the user namespace probe: %s", s.Command)
	}
	if slices.Contains(ChromiumFlags, "--no-sandbox") {
		t.Error("ChromiumFlags always turn Chromium's sandbox off")
	}
	for _, flag := range []string{"--headless", "--remote-debugging-port=9222", "--remote-debugging-address=127.0.0.1", "--user-data-dir="} {
		if !strings.Contains(s.Command, flag) {
			t.Errorf("command lacks %s: %s", flag, s.Command)
		}
	}
	if strings.Contains(s.Command, "--remote-allow-origins") {
		t.Errorf("command allows cross-origin websockets (web pages could drive the browser): %s", s.Command)
	}
}

// TestChromiumFlagsMatchTheImage keeps the Kubernetes image's Chromium (start-browser.sh) on the same
// flags as the local template's.
func TestChromiumFlagsMatchTheImage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "templates", "browser", "start-browser.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var inScript []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(--[a-z0-9-]+(?:=\S*)?)\s*\\?$`).FindAllStringSubmatch(string(raw), -1) {
		inScript = append(inScript, m[1])
	}
	want := slices.Clone(ChromiumFlags)
	slices.Sort(want)
	slices.Sort(inScript)
	if !slices.Equal(inScript, want) {
		t.Fatalf("start-browser.sh flags differ from ChromiumFlags:\n script: %v\n go:     %v", inScript, want)
	}
	if !strings.Contains(string(raw), "if ! "+chromiumSandboxProbe+" 2>/dev/null; then\n  nosandbox=--no-sandbox") {
		t.Errorf("start-browser.sh does not decide on --no-sandbox with %q", chromiumSandboxProbe)
	}
	if !strings.Contains(string(raw), "while :; do\n  /usr/bin/chromium $nosandbox \\\n") {
		t.Error("start-browser.sh does not start Chromium again when it exits")
	}
}

// TestMaskRequestHost: browser and desktop sandboxes get a local Host on their ports (Chrome refuses
// public names), other templates keep the client's.
func TestMaskRequestHost(t *testing.T) {
	for _, name := range []string{"browser", "desktop"} {
		if got := MaskRequestHost(name); got != "localhost:${PORT}" {
			t.Errorf("%s mask = %q", name, got)
		}
	}
	for _, name := range []string{"base", "code-interpreter", ""} {
		if got := MaskRequestHost(name); got != "" {
			t.Errorf("%s mask = %q, want none", name, got)
		}
	}
}
