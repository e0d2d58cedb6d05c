package local

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// TestEscape attacks the sandbox boundary from inside, as root and as the sandbox's user: each attempt
// must fail, and the sandbox, its neighbour and the host must keep working.
func TestEscape(t *testing.T) {
	secret := "sandboxstack-escape-" + newID(t)
	var planted []string
	for _, dir := range []string{"/etc", "/var/lib", "/root"} {
		p := filepath.Join(dir, secret)
		if err := os.WriteFile(p, []byte(secret), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
		planted = append(planted, p)
	}
	rt, _ := newRuntime(t, Config{DefaultLimits: sandbox.Limits{CPUMillis: 500, MemoryMB: 128, Pids: 128, DiskMB: 64}})
	if !rt.networking() {
		t.Fatal("slirp4netns is missing: install it with `apt-get install -y slirp4netns`")
	}
	a, b := newSpec(t), newSpec(t)
	stA := start(t, rt, a)
	start(t, rt, b)
	users := []string{"root", "user"}

	t.Run("host files", func(t *testing.T) {
		for _, u := range users {
			for _, p := range planted {
				if r := run(t, rt, a, u, "cat "+p); r.exit == 0 || strings.Contains(r.stdout, secret) {
					t.Errorf("%s reads the host's %s: %q", u, p, r.stdout)
				}
			}
			if got := mustRun(t, rt, a, u, "grep -rl "+secret+" /etc /var /root /home /opt /tmp 2>/dev/null; true"); got != "" {
				t.Errorf("%s finds the planted secret at %q", u, got)
			}
		}
		// Only the allowlist: no private keys, no host's environment, no SSH host keys.
		for _, p := range []string{"/etc/ssl/private", "/etc/ssh", "/etc/shadow-", "/var/lib/dpkg", "/etc/cloud"} {
			if r := run(t, rt, a, "root", "ls -d "+p); r.exit == 0 {
				t.Errorf("%s exists inside", p)
			}
		}
		if got := mustRun(t, rt, a, "root", "cat /etc/environment"); got != "" {
			t.Errorf("/etc/environment inside is %q, want the sandbox's own empty file", got)
		}
	})

	t.Run("root is not host root", func(t *testing.T) {
		want := fmt.Sprintf("0 %d %d", stA.IDBase, idBlock)
		if got := strings.Join(strings.Fields(mustRun(t, rt, a, "root", "cat /proc/self/uid_map")), " "); got != want {
			t.Errorf("uid_map %q, want %q", got, want)
		}
		// Root may change the sandbox's /usr (copy-on-write), never the host's.
		marker := "/usr/bin/" + secret
		mustRun(t, rt, a, "root", "touch "+marker+" && chown user "+marker)
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("root inside created %s on the host", marker)
		}
		fi, err := os.Stat(filepath.Join(rt.layoutOf(a.ID).treeUpper("usr"), "bin", secret))
		if err != nil {
			t.Fatalf("the file is not in the sandbox's own layer: %v", err)
		}
		uid, err := strconv.Atoi(strings.TrimSpace(mustRun(t, rt, a, "root", "id -u user")))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != stA.IDBase+uint32(uid) {
			t.Errorf("the user's file belongs to host uid %d, want %d", st.Uid, stA.IDBase+uint32(uid))
		}
		// Capabilities: none of the ones that reach beyond the sandbox.
		status := mustRun(t, rt, a, "root", "cat /proc/self/status")
		eff := statusField(t, status, "CapEff")
		for _, c := range []uint{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SYS_PTRACE, unix.CAP_SYS_MODULE, unix.CAP_MKNOD, unix.CAP_SYS_RAWIO, unix.CAP_DAC_READ_SEARCH} {
			if eff&(1<<c) != 0 {
				t.Errorf("root inside has capability %d (CapEff %x)", c, eff)
			}
		}
	})

	t.Run("seccomp", func(t *testing.T) {
		for _, u := range users {
			if got := strings.TrimSpace(mustRun(t, rt, a, u, "grep ^Seccomp: /proc/self/status")); got != "Seccomp:\t2" {
				t.Errorf("%s: %q, want a seccomp filter", u, got)
			}
			for _, cmd := range []string{"unshare --user --map-root-user true", "unshare --mount true"} {
				if r := run(t, rt, a, u, cmd); r.exit == 0 {
					t.Errorf("%s runs %q", u, cmd)
				}
			}
		}
	})

	t.Run("network", func(t *testing.T) {
		// The host's loopback, directly and through slirp4netns's gateway.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Errorf("the host's loopback accepted a connection from %s", c.RemoteAddr())
				c.Close()
			}
		}()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		for _, host := range []string{"127.0.0.1", "10.0.2.2"} {
			if r := run(t, rt, a, "", "timeout 5 bash -c 'echo hi > /dev/tcp/"+host+"/"+port+"'"); r.exit == 0 {
				t.Errorf("%s:%s (the host's loopback) is reachable from inside", host, port)
			}
		}
		// Another sandbox's envd, at its loopback port: its own loopback is a different one.
		if r := run(t, rt, a, "", "timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/49983' && echo own"); r.stdout != "own\n" {
			t.Errorf("the sandbox's own envd port: %q", r.stdout)
		}
		// Outbound: a server in a network namespace of this test, reached through the host.
		addr := serveInNetns(t, "sandbox outbound ok")
		got := mustRun(t, rt, a, "", "timeout 10 bash -c 'exec 3<>/dev/tcp/"+addr.IP.String()+"/"+strconv.Itoa(addr.Port)+"; cat <&3'")
		if got != "sandbox outbound ok\n" {
			t.Errorf("outbound connection read %q", got)
		}
		// Cloud metadata's link-local range is routed nowhere.
		if r := run(t, rt, a, "", "timeout 5 bash -c 'echo > /dev/tcp/169.254.169.254/80'"); r.exit == 0 {
			t.Error("169.254.169.254:80 is reachable")
		}

		// The policies: no internet; the server denied; no internet but the server allowed.
		reach := "timeout 5 bash -c 'exec 3<>/dev/tcp/" + addr.IP.String() + "/" + strconv.Itoa(addr.Port) + "; cat <&3'"
		for _, c := range []struct {
			name  string
			n     sandbox.Network
			reach bool
		}{
			{"no internet", sandbox.Network{Disabled: true}, false},
			{"denied", sandbox.Network{DenyOut: []string{addr.IP.String()}}, false},
			{"denied all, allowed one", sandbox.Network{DenyOut: []string{"0.0.0.0/0"}, AllowOut: []string{addr.IP.String() + "/32"}}, true},
			{"no internet, allowed one", sandbox.Network{Disabled: true, AllowOut: []string{addr.IP.String()}}, true},
		} {
			spec := newSpec(t)
			spec.Network = c.n
			start(t, rt, spec)
			r := run(t, rt, spec, "", reach)
			if got := r.exit == 0 && r.stdout == "sandbox outbound ok\n"; got != c.reach {
				t.Errorf("%s: reached the server: %v, want %v (%q %q)", c.name, got, c.reach, r.stdout, r.stderr)
			}
			if err := rt.Stop(context.Background(), spec.ID); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		// Fork bomb: the workload hits its pids limit; envd, which has its own, keeps serving.
		// Bash retries a refused fork for 15 s, so the command that lights the bomb forks nothing once
		// it burns: its one fork is the bomb itself, and exec spares the login shell's ~/.bash_logout.
		run(t, rt, a, "user", "exec bash -c 'b(){ b|b& }; b &' >/dev/null 2>&1")
		for _, d := range stA.Cgroups {
			if d.Controller != "pids" && d.Controller != "" {
				continue
			}
			// The bomb outlives the command that lit it: its forks go on in the background, and on a
			// busy machine they reach the limit only after the command has returned.
			events := filepath.Join(d.Path, workloadCgroup, "pids.events")
			raw, err := os.ReadFile(events)
			for deadline := time.Now().Add(10 * time.Second); err == nil && !forkRejected(raw) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
				raw, err = os.ReadFile(events)
			}
			if err != nil || !forkRejected(raw) {
				t.Errorf("the fork bomb did not meet the workload's pids limit: %q %v", raw, err)
			}
		}
		if got := mustRun(t, rt, a, "root", "echo alive"); got != "alive\n" {
			t.Errorf("with a fork bomb at its limit: %q", got)
		}
		run(t, rt, a, "user", "kill -9 -1") // the bomb's leftovers, and this command itself
		// Memory hog: killed inside its sandbox.
		if r := run(t, rt, a, "user", "head -c 1G /dev/zero | tail > /dev/null"); r.exit == 0 {
			t.Error("a command holding 1 GiB ran to completion under a 128 MiB limit")
		}
		// Disk and /dev/shm: full at their sizes.
		for _, p := range []string{"/home/user/fill", "/tmp/fill", "/dev/shm/fill"} {
			r := run(t, rt, a, "user", "dd if=/dev/zero of="+p+" bs=1M count=1024 2>&1; rm -f "+p)
			if !strings.Contains(r.stdout, "No space left") && !strings.Contains(r.stdout, "Cannot allocate") {
				t.Errorf("writing 1 GiB to %s: %q", p, r.stdout)
			}
		}
		if got := mustRun(t, rt, a, "", "echo alive"); got != "alive\n" {
			t.Errorf("after the limits were hit: %q", got)
		}
	})

	if got := mustRun(t, rt, b, "", "echo neighbour"); got != "neighbour\n" {
		t.Errorf("the other sandbox: %q", got)
	}
}

// forkRejected reports whether a pids.events file counts a fork its limit refused.
func forkRejected(events []byte) bool {
	n, ok := strings.CutPrefix(strings.TrimSpace(string(events)), "max ")
	return ok && n != "0"
}

func statusField(t *testing.T, status, name string) uint64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %q", name, status)
	return 0
}

// serveInNetns serves greeting on a TCP port in a network namespace of its own, joined to the host by
// a veth pair: an address the host routes to, not on its loopback. Test traffic stays on this machine.
// The namespace is a sleeping process's, not a named one: a named namespace is a bind mount under
// /run/netns, and with other test packages running at once the veth's creation into one failed with
// EINVAL; a process's namespace needs no mount.
func serveInNetns(t *testing.T, greeting string) *net.TCPAddr {
	t.Helper()
	id := newID(t)[:9]
	hostIf, nsIf := "sbh"+id, "sbn"+id
	n := 1 + int(id[len(id)-1])%200
	hostIP, nsIP := fmt.Sprintf("198.18.%d.1", n), fmt.Sprintf("198.18.%d.2", n)
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	holder := exec.Command("unshare", "--net", "sleep", "infinity")
	if err := holder.Start(); err != nil {
		t.Fatalf("unshare --net: %v", err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() }) // the namespace and its veth end go with it
	pid := strconv.Itoa(holder.Process.Pid)
	netns := "/proc/" + pid + "/ns/net"
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if ns, err := os.Readlink(netns); err == nil && ns != own {
			break // unshare has made the namespace (it execs sleep next)
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare --net made no network namespace within 10 s")
		}
	}
	run("ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", pid)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	run("ip", "addr", "add", hostIP+"/30", "dev", hostIf)
	run("ip", "link", "set", hostIf, "up")
	run("nsenter", "--net="+netns, "ip", "addr", "add", nsIP+"/30", "dev", nsIf)
	run("nsenter", "--net="+netns, "ip", "link", "set", nsIf, "up")

	// A listener created by a thread inside the namespace stays there; the thread is dropped with
	// its goroutine (never unlocked), so no other goroutine runs in the namespace.
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(netns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		ln, err := net.Listen("tcp", nsIP+":0")
		ch <- result{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen in %s: %v", netns, r.err)
	}
	t.Cleanup(func() { r.ln.Close() })
	go func() {
		for {
			c, err := r.ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintln(c, greeting)
			c.Close()
		}
	}()
	return r.ln.Addr().(*net.TCPAddr)
}
