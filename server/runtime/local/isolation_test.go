package local

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestIsolation(t *testing.T) {
	// A state dir where a manager's would be: outside every tree a sandbox sees.
	stateDir, err := os.MkdirTemp("/var/lib", "sandboxstack-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stateDir) })
	rt, _ := newRuntime(t, Config{StateDir: stateDir})
	a, b := newSpec(t), newSpec(t)
	start(t, rt, a)
	start(t, rt, b)

	t.Run("processes", func(t *testing.T) {
		// Only the sandbox's own processes: bwrap's reaper as pid 1, envd, and the command's shell and ps.
		out := mustRun(t, rt, a, "root", "ps -e -o pid=,comm=")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				t.Fatalf("ps line %q", line)
			}
			switch f[1] {
			case "bwrap", "envd", "bash", "ps":
			default:
				t.Errorf("sandbox sees process %q: %q", f[1], out)
			}
		}
		if n := len(strings.Split(strings.TrimSpace(out), "\n")); n > 4 {
			t.Errorf("sandbox sees %d processes:\n%s", n, out)
		}
		// The host's processes (this test's, bwrap's) do not exist under their host pids inside.
		host := os.Getpid()
		if out := mustRun(t, rt, a, "root", "cat /proc/"+strconv.Itoa(host)+"/cmdline 2>/dev/null | tr '\\0' ' '; true"); strings.Contains(out, os.Args[0]) {
			t.Errorf("sandbox sees the host's test process %d", host)
		}
		if got := mustRun(t, rt, a, "", "hostname"); got != a.ID+"\n" {
			t.Errorf("hostname %q, want %s", got, a.ID)
		}
	})

	t.Run("files", func(t *testing.T) {
		mustRun(t, rt, a, "root", "echo secret > /etc/foo && echo mine > /home/user/a-only && echo t > /tmp/a-tmp")
		if _, err := os.Stat("/etc/foo"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a write to /etc/foo inside reached the host (%v)", err)
		}
		if _, err := os.Stat(filepath.Join(rt.layoutOf(a.ID).upper(), "etc", "foo")); err != nil {
			t.Errorf("the write is not in the sandbox's upper layer: %v", err)
		}
		if got := mustRun(t, rt, b, "root", "ls /etc/foo /home/user/a-only /tmp/a-tmp 2>&1; true"); strings.Count(got, "No such file") != 3 {
			t.Errorf("sandbox b sees a's files: %q", got)
		}
		// The manager's state (other sandboxes' layers, sockets and tokens) is not visible.
		if got := mustRun(t, rt, b, "root", "ls -A "+rt.cfg.StateDir+" 2>/dev/null; ls -A /run/envd"); got != "envd.sock\n" {
			t.Errorf("sandbox sees the state dir or other sockets: %q", got)
		}
		// The host's homes, temporary files and password hashes are hidden.
		if got := mustRun(t, rt, a, "root", "ls -A /root /home; ls -A /tmp"); got != "/home:\nuser\n\n/root:\n.bashrc\n.profile\na-tmp\n" {
			t.Errorf("homes and /tmp inside: %q", got)
		}
		shadow := mustRun(t, rt, a, "root", "cat /etc/shadow")
		for _, line := range strings.Split(strings.TrimSpace(shadow), "\n") {
			if f := strings.Split(line, ":"); len(f) < 2 || f[1] != "*" {
				t.Errorf("/etc/shadow line with a password field: %q", line)
			}
		}
		// The user owns its home and can write there, and /tmp and /dev/shm.
		mustRun(t, rt, a, "", "touch ~/x /tmp/x /dev/shm/x && test ! -w /etc/passwd")
	})

	t.Run("network", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan struct{}, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Close()
				accepted <- struct{}{}
			}
		}()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		r := run(t, rt, a, "", "timeout 5 bash -c 'echo hi > /dev/tcp/127.0.0.1/"+port+"'")
		if r.exit == 0 {
			t.Errorf("the host's 127.0.0.1:%s is reachable from inside", port)
		}
		// slirp4netns's tap device, and nothing of the host's.
		if ifaces := mustRun(t, rt, a, "", "awk 'NR>2{print $1}' /proc/net/dev | sort"); strings.TrimSpace(ifaces) != "lo:\ntap0:" {
			t.Errorf("network interfaces inside: %q, want lo and tap0", ifaces)
		}
		select {
		case <-accepted:
			t.Error("the host listener accepted a connection from the sandbox")
		case <-time.After(50 * time.Millisecond):
		}
	})

	t.Run("lean profile", func(t *testing.T) {
		// The host root's profile sets PYENV_ROOT and more on this kind of machine; a login shell
		// inside must read only the sandbox's own files.
		for _, user := range []string{"", "root"} {
			trace := run(t, rt, a, user, "bash -l -x -c true").stderr
			for _, line := range strings.Split(trace, "\n") {
				if strings.Contains(line, " . ") && !strings.Contains(line, "/.bashrc") && !strings.Contains(line, "/etc/bash.bashrc") {
					t.Errorf("login shell of %q sources %q", user, line)
				}
			}
			for _, bad := range []string{"pyenv", "cargo"} {
				if strings.Contains(trace, bad) {
					t.Errorf("login shell of %q runs %q:\n%s", user, bad, trace)
				}
			}
		}
		for _, f := range []string{"/etc/profile", "/etc/bash.bashrc", "/root/.bashrc", "/root/.profile", "/home/user/.profile", "/home/user/.bashrc"} {
			if got := mustRun(t, rt, a, "root", "cat "+f); !strings.Contains(got, profileMarker) {
				t.Errorf("%s inside is not the sandbox's lean file: %q", f, got)
			}
		}
		if got := mustRun(t, rt, a, "root", `echo "${PYENV_ROOT-unset}"`); got != "unset\n" {
			t.Errorf("PYENV_ROOT=%q inside a root login shell: the host's profile leaked in", got)
		}
	})

	t.Run("socket symlink", func(t *testing.T) {
		// Root inside may replace envd's socket; the manager must not follow a link to a host socket.
		hostSock := filepath.Join(t.TempDir(), "host.sock")
		ln, err := net.Listen("unix", hostSock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		victim := newSpec(t)
		start(t, rt, victim)
		mustRun(t, rt, victim, "root", "(sleep 0.2; ln -sf "+hostSock+" /run/envd/envd.sock.new && mv -f /run/envd/envd.sock.new /run/envd/envd.sock) >/dev/null 2>&1 &")
		deadline := time.Now().Add(5 * time.Second)
		for {
			fi, err := os.Lstat(rt.layoutOf(victim.ID).socket())
			if err == nil && fi.Mode()&os.ModeSymlink != 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the socket was not replaced")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if conn, err := rt.DialEnvd(context.Background(), victim.ID); err == nil {
			conn.Close()
			t.Fatal("DialEnvd followed a symbolic link planted by the sandbox")
		}
		if err := rt.Stop(context.Background(), victim.ID); err != nil {
			t.Fatal(err)
		}
	})
}
