package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// proc identifies one host process across PID reuse: a pid alone may name a different process after
// the original exits, so every pid the runtime keeps is paired with the process's start time
// (clock ticks since boot, field 22 of /proc/<pid>/stat).
type proc struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// procStat returns a process's state letter and start time.
func procStat(pid int) (state byte, start uint64, err error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(raw[i+1:]))
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields))
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat start time: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// procOf records a running process.
func procOf(pid int) (proc, error) {
	_, start, err := procStat(pid)
	if err != nil {
		return proc{}, err
	}
	return proc{Pid: pid, Start: start}, nil
}

// alive reports whether p still runs. A zombie counts as dead: it has exited and only waits for its
// parent to reap it.
func (p proc) alive() bool {
	if p.Pid <= 0 {
		return false
	}
	state, start, err := procStat(p.Pid)
	return err == nil && start == p.Start && state != 'Z' && state != 'X'
}

// kill sends SIGKILL to p if it is still the process that was recorded. The signal goes through a
// pidfd opened before the identity check, so that it cannot hit a new process that took the pid
// between the check and the signal.
func (p proc) kill() {
	if p.Pid <= 0 {
		return
	}
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) && p.alive() { // kernels before 5.3
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
		return
	}
	defer unix.Close(fd)
	if p.alive() {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// pidNamespace returns the inode of a process's pid namespace.
func pidNamespace(pid int) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/pid", &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// procsWithArg lists the processes whose command line contains arg as a whole argument. The runtime
// names every sandbox's merged root on bwrap's command line, so this finds a sandbox's bwrap processes
// even when the manager died before it could record their pids.
func procsWithArg(arg string) ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan /proc: %w", err)
	}
	want := []byte(arg)
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue // exited meanwhile, or a kernel thread
		}
		for _, a := range bytes.Split(cmdline, []byte{0}) {
			if bytes.Equal(a, want) {
				if p, err := procOf(pid); err == nil {
					out = append(out, p)
				}
				break
			}
		}
	}
	return out, nil
}
