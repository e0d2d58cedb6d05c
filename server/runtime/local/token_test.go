package local

import (
	"strings"
	"testing"
)

// TestTokenOutOfReach: envd gets its token on a pipe it drains at start, so no process of the sandbox
// (a template service started beside envd, a command as user or as root) finds it in an environment,
// a command line, an open descriptor, envd's memory or a file.
func TestTokenOutOfReach(t *testing.T) {
	tmpl := Template{
		Name: "with-service",
		// A root service started before envd, as template services are: it must not inherit the
		// token's descriptor or find the token anywhere.
		Services: []Service{{Name: "idle", Command: "exec sleep 600"}},
	}
	rt, _ := newRuntime(t, Config{Templates: []Template{tmpl}})
	spec := newSpec(t)
	spec.Template = tmpl.Name
	start(t, rt, spec)

	// Every process's environment, command line and every descriptor's contents, and envd's memory.
	probe := `
for p in /proc/[0-9]*; do
  cat $p/environ $p/cmdline 2>/dev/null
  for fd in $p/fd/*; do timeout 0.2 cat $fd 2>/dev/null; done
  head -c 64M $p/mem 2>/dev/null
done
# The sandbox's own files (the rest of its root is the host's, read-only allowlist).
grep -rs -l "$TOKEN_PREFIX" /run /tmp /home /root /etc /var/tmp 2>/dev/null; true
`
	for _, user := range []string{"user", "root"} {
		out := mustRun(t, rt, spec, user, "TOKEN_PREFIX="+spec.AccessToken[:16]+"; "+probe)
		if strings.Contains(out, spec.AccessToken) {
			t.Errorf("as %s: the token is readable inside the sandbox", user)
		}
	}
	// The probe itself is not blind: it finds a secret the sandbox does hold.
	out := mustRun(t, rt, spec, "user", "export MARK=visible-marker; "+probe)
	if !strings.Contains(out, "visible-marker") {
		t.Error("the probe does not see environments: it proves nothing")
	}
}
