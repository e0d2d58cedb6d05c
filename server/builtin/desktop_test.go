package builtin

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// TestDesktopTemplateAvailability: over a root that lacks some of the desktop's programs and part of
// noVNC, the manager lists `desktop` as unavailable and names exactly what is missing (GET /templates
// shows the reason); once everything is there it is available.
func TestDesktopTemplateAvailability(t *testing.T) {
	root := t.TempDir()
	put := func(p string, mode os.FileMode) { t.Helper(); putFile(t, root, p, mode) }
	missingProgs := []string{"x11vnc", "xdotool", "startxfce4"}
	for _, prog := range desktopPrograms {
		if !slices.Contains(missingProgs, prog) {
			put("/usr/bin/"+prog, 0o755)
		}
	}
	put("/usr/bin/x11vnc", 0o644) // not executable: does not count
	missingPath := debianNoVNC + "/vendor"
	for _, p := range desktopTemplate().RequiresPaths {
		if p != missingPath {
			put(p, 0o644)
		}
	}

	st := desktopStatusOver(t, root)
	if st.Available {
		t.Fatalf("desktop available over a root without %v: %+v", missingProgs, st)
	}
	for _, want := range append(slices.Clone(missingProgs), missingPath) {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("reason %q does not name %s", st.Reason, want)
		}
	}
	for _, there := range []string{"Xvfb", "mousepad", "novnc_proxy", "websockify"} {
		if strings.Contains(st.Reason, there) {
			t.Errorf("reason %q names %s, which is there", st.Reason, there)
		}
	}

	for _, prog := range missingProgs {
		put("/usr/bin/"+prog, 0o755)
	}
	put(missingPath, 0o644)
	if st := desktopStatusOver(t, root); !st.Available || st.Reason != "" {
		t.Fatalf("desktop not available over a root with everything: %+v", st)
	}
}

// desktopStatusOver is the desktop template's status as the manager lists it, from a local runtime over
// root with every built-in template.
func desktopStatusOver(t *testing.T, root string) sandbox.Template {
	t.Helper()
	return templateStatus(t, newRuntimeOver(t, root, LocalTemplates(t.TempDir())...), "desktop")
}

// TestNoVNCLayout: /opt/noVNC has what the SDK runs and serves (utils/novnc_proxy, vnc.html and the
// client's modules), every link points into Debian's packages, and each target is required.
func TestNoVNCLayout(t *testing.T) {
	links := noVNCLayout()
	for _, p := range []string{"/opt/noVNC/utils/novnc_proxy", "/opt/noVNC/vnc.html", "/opt/noVNC/app", "/opt/noVNC/core", "/opt/noVNC/vendor", "/opt/noVNC/utils/websockify/run"} {
		if links[p] == "" {
			t.Errorf("no %s in %v", p, links)
		}
	}
	tmpl := desktopTemplate()
	for p, target := range links {
		switch {
		case !strings.HasPrefix(p, noVNCDir+"/"):
			t.Errorf("link %s outside %s", p, noVNCDir)
		case target == websockifyBin:
			if !slices.Contains(tmpl.Requires, "websockify") {
				t.Errorf("%s links to websockify, which the template does not require", p)
			}
		case !strings.HasPrefix(target, debianNoVNC+"/"):
			t.Errorf("link %s → %s points outside Debian's novnc", p, target)
		case !slices.Contains(tmpl.RequiresPaths, target):
			t.Errorf("link %s → %s: the target is not among RequiresPaths %v", p, target, tmpl.RequiresPaths)
		}
	}
	if tmpl.Links == nil || !maps.Equal(tmpl.Links, links) {
		t.Errorf("the template's links %v are not the noVNC layout", tmpl.Links)
	}
}

// TestDesktopDockerfileMatchesTemplate keeps the Kubernetes image (server/templates/desktop/Dockerfile)
// on the local template's environment: Debian bookworm, the same packages, the same /opt/noVNC links,
// the user `user`.
func TestDesktopDockerfileMatchesTemplate(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "templates", "desktop", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Instructions only: comments dropped, continuation lines joined.
	var b strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line + "\n")
	}
	df := strings.ReplaceAll(b.String(), "\\\n", " ")

	if !regexp.MustCompile(`(?m)^FROM debian:bookworm(-slim)?\s*$`).MatchString(df) {
		t.Error("the image is not built FROM debian:bookworm")
	}
	install := regexp.MustCompile(`apt-get install -y ([^&]+)`).FindStringSubmatch(df)
	if install == nil {
		t.Fatal("no apt-get install -y in the Dockerfile")
	}
	pkgs := slices.Sorted(slices.Values(strings.Fields(install[1])))
	want := slices.Sorted(slices.Values(desktopPackages))
	if !slices.Equal(pkgs, want) {
		t.Errorf("the Dockerfile installs %v, the local template's packages are %v", pkgs, want)
	}

	inImage := map[string]string{}
	for _, m := range regexp.MustCompile(`ln -s (\S+) (\S+)`).FindAllStringSubmatch(df, -1) {
		inImage[m[2]] = m[1]
	}
	if !maps.Equal(inImage, noVNCLayout()) {
		t.Errorf("the Dockerfile's links differ from the local template's:\n image: %v\n local: %v", inImage, noVNCLayout())
	}
	if !regexp.MustCompile(`useradd [^\n]*--create-home[^\n]* user\n`).MatchString(df) {
		t.Error("the Dockerfile does not create the user `user` with a home")
	}
}
