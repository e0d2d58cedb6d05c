package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// slirp4netns's fixed addresses in a sandbox (its defaults with --configure): the sandbox is
// 10.0.2.100 behind the gateway 10.0.2.2, and 10.0.2.3 answers DNS with the host's resolver.
const slirpDNS = "10.0.2.3"

// startSlirp gives the network namespace of pid a tap device whose traffic slirp4netns sends out
// through the host's own sockets, as an unprivileged program would: the sandbox reaches what the host
// reaches, from the host's addresses. --disable-host-loopback keeps the host's 127.0.0.0/8 (the
// manager, other sandboxes' forwarded ports, anything listening on loopback) out of reach; slirp4netns
// runs in a sandbox and under a seccomp filter of its own. It outlives a manager restart with the
// sandbox; teardown kills it.
func startSlirp(ctx context.Context, bin string, pid int, logFile *os.File) (proc, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return proc{}, fmt.Errorf("slirp4netns ready pipe: %w", err)
	}
	defer readyR.Close()
	cmd := exec.Command(bin, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--enable-sandbox", "--enable-seccomp", "--ready-fd=3", strconv.Itoa(pid), "tap0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return proc{}, fmt.Errorf("run %s: %w", bin, err)
	}
	// Reaped by this process while it lives; after a manager restart init reaps it.
	go func() { _ = cmd.Wait() }()
	p, perr := procOf(cmd.Process.Pid)
	if deadline, ok := ctx.Deadline(); ok {
		_ = readyR.SetReadDeadline(deadline)
	} else {
		_ = readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	buf := make([]byte, 1)
	if _, err := readyR.Read(buf); err != nil {
		_ = cmd.Process.Kill()
		return proc{}, fmt.Errorf("slirp4netns did not get ready (see the sandbox log): %w", err)
	}
	if perr != nil {
		return proc{}, fmt.Errorf("slirp4netns: %w", perr)
	}
	return p, nil
}
