// Package safefs does envd's filesystem work on behalf of a sandbox user without letting another
// process of the sandbox redirect it. envd runs as root; a request names the user it acts for. Two
// rules keep a racing process from turning envd's root into its own:
//
//   - The work runs with the user's filesystem credentials (fsuid, fsgid, groups) on a locked OS
//     thread, so the kernel checks every open, create, rename and unlink as it would for the user:
//     a user's upload cannot land in a root-owned file and a user's download cannot read one, however
//     the path is made to resolve.
//   - Paths are resolved one component at a time with openat2 (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
//     from the directory reached so far), and a symbolic link is followed only if root or the acting
//     user owns it. Root never follows a link that a user planted, and the last component is opened
//     relative to its directory's descriptor, so nothing can be swapped in between check and use.
package safefs

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Creds are the filesystem credentials a request acts with.
type Creds struct {
	UID    uint32
	GID    uint32
	Groups []uint32
}

// AsUser runs fn with c as the calling thread's filesystem credentials. fn must do its work on the
// calling goroutine (no goroutines of its own): only this OS thread carries the credentials. When envd
// is not root it cannot switch, and fn runs with envd's own credentials, which are then the limit.
func AsUser(c Creds, fn func() error) error {
	if os.Geteuid() != 0 || c.UID == 0 && c.GID == 0 && len(c.Groups) == 0 {
		return fn()
	}
	processGroups() // read before any thread switches its own
	runtime.LockOSThread()
	if err := switchTo(c); err != nil {
		// A half-switched thread must not run other goroutines: keep it locked so that it exits
		// with this one.
		if rerr := restore(); rerr == nil {
			runtime.UnlockOSThread()
		}
		return fmt.Errorf("act as uid %d: %w", c.UID, err)
	}
	defer func() {
		if err := restore(); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}

// processGroups are the supplementary groups envd started with, which a thread gets back after acting
// as a user.
var processGroups = sync.OnceValue(func() []uint32 {
	gs, _ := unix.Getgroups()
	out := make([]uint32, 0, len(gs))
	for _, g := range gs {
		out = append(out, uint32(g))
	}
	return out
})

func restore() error {
	return switchTo(Creds{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Groups: processGroups()})
}

// switchTo sets this thread's groups, fsgid and fsuid. The raw system calls act on the calling thread
// only (Go's syscall.Setgroups would change every thread). Changing the fsuid from 0 drops the
// filesystem capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER, …) from the thread, and back to 0 restores
// them.
func switchTo(c Creds) error {
	groups := c.Groups
	if len(groups) == 0 {
		groups = []uint32{c.GID}
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&groups[0])), 0); errno != 0 {
		return fmt.Errorf("setgroups: %w", errno)
	}
	// setfsuid/setfsgid report no errors: read the value back to know that it took.
	unix.RawSyscall(unix.SYS_SETFSGID, uintptr(c.GID), 0, 0)
	if got, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ^uintptr(0), 0, 0); uint32(got) != c.GID {
		return errors.New("setfsgid did not take")
	}
	unix.RawSyscall(unix.SYS_SETFSUID, uintptr(c.UID), 0, 0)
	if got, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ^uintptr(0), 0, 0); uint32(got) != c.UID {
		return errors.New("setfsuid did not take")
	}
	return nil
}
