package local

import (
	"os"
	"strings"
	"testing"
)

func TestTemplateLinks(t *testing.T) {
	// A layout like the desktop template's /opt/noVNC: links into the root filesystem under a
	// directory the root does not have, a relative link, and a link inside a hidden directory.
	tmpl := Template{Name: "linked", Links: map[string]string{
		"/opt/links-test/utils/hostname": "/etc/hostname",
		"/opt/links-test/index.html":     "utils/hostname",
		"/tmp/links-test-tool":           "/bin/true",
	}}
	if _, err := os.Lstat("/opt/links-test"); err == nil {
		t.Fatal("/opt/links-test exists on the host: the test cannot tell the sandbox's links from it")
	}
	rt, _ := newRuntime(t, Config{Templates: []Template{tmpl}})
	a, b := newSpec(t), newSpec(t)
	a.Template, b.Template = tmpl.Name, tmpl.Name
	start(t, rt, a)
	start(t, rt, b)

	out := mustRun(t, rt, a, "", `cat /opt/links-test/utils/hostname /opt/links-test/index.html; readlink /opt/links-test/index.html; /tmp/links-test-tool && echo ran; stat -c '%U %a' /opt/links-test/utils`)
	if want := a.ID + "\n" + a.ID + "\nutils/hostname\nran\nroot 755\n"; out != want {
		t.Fatalf("inside the sandbox:\n%s\nwant:\n%s", out, want)
	}
	// A sandbox owns its links: root inside replaces one, the other sandbox and the host are untouched.
	mustRun(t, rt, a, "root", `rm /opt/links-test/index.html && echo mine > /opt/links-test/index.html`)
	if out := mustRun(t, rt, b, "", `readlink /opt/links-test/index.html`); out != "utils/hostname\n" {
		t.Fatalf("the other sandbox's link: %q", out)
	}
	if _, err := os.Lstat("/opt/links-test"); err == nil {
		t.Fatal("a sandbox's link appeared on the host")
	}
}

func TestTemplateLinksRejected(t *testing.T) {
	requireHost(t)
	for path, want := range map[string]string{
		"opt/relative":       "clean absolute path",
		"/opt/../etc/passwd": "clean absolute path",
		"/":                  "clean absolute path",
		"/run/sandbox/x":     "/run is mounted over",
		"/proc/x":            "/proc is mounted over",
		"/dev":               "/dev is mounted over",
	} {
		_, err := New(Config{
			StateDir:       t.TempDir(),
			EnvdBin:        envdBinary(t),
			DisableCgroups: true,
			Templates:      []Template{{Name: "bad", Links: map[string]string{path: "/bin/true"}}},
		})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `template "bad"`) {
			t.Errorf("link %q: New: %v, want an error naming the template and %q", path, err, want)
		}
	}
	_, err := New(Config{
		StateDir:       t.TempDir(),
		EnvdBin:        envdBinary(t),
		DisableCgroups: true,
		Templates:      []Template{{Name: "bad", Links: map[string]string{"/opt/x": ""}}},
	})
	if err == nil || !strings.Contains(err.Error(), "empty target") {
		t.Errorf("empty target: New: %v", err)
	}
}
