package local

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Seccomp return values (linux/seccomp.h).
const (
	seccompRetKillProcess = 0x80000000
	seccompRetErrno       = 0x00050000
	seccompRetAllow       = 0x7fff0000
)

// Offsets in struct seccomp_data.
const (
	seccompNr   = 0
	seccompArch = 4
	seccompArg0 = 16 // the low 32 bits on a little-endian machine
)

// deniedSyscalls are refused with EPERM inside a sandbox: what Docker's default seccomp profile leaves
// out, for the syscalls this architecture has. Most of them need capabilities a sandbox does not
// have anyway; the filter is the second wall, and it also closes what needs no capability at all
// (keyrings, bpf, perf events, userfaultfd, io_uring, the new mount API).
var deniedSyscalls = append([]uintptr{
	unix.SYS_ACCT, unix.SYS_ADD_KEY, unix.SYS_BPF, unix.SYS_CLOCK_ADJTIME, unix.SYS_CLOCK_SETTIME,
	unix.SYS_DELETE_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_INIT_MODULE, unix.SYS_FANOTIFY_INIT,
	unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSOPEN, unix.SYS_FSPICK, unix.SYS_KCMP,
	unix.SYS_KEXEC_FILE_LOAD, unix.SYS_KEXEC_LOAD, unix.SYS_KEYCTL, unix.SYS_LOOKUP_DCOOKIE,
	unix.SYS_MOUNT, unix.SYS_MOUNT_SETATTR, unix.SYS_MOVE_MOUNT, unix.SYS_NFSSERVCTL,
	unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_OPEN_TREE, unix.SYS_PERF_EVENT_OPEN, unix.SYS_PIVOT_ROOT,
	unix.SYS_QUOTACTL, unix.SYS_QUOTACTL_FD, unix.SYS_REBOOT, unix.SYS_REQUEST_KEY, unix.SYS_SETNS,
	unix.SYS_SETTIMEOFDAY, unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_SYSLOG, unix.SYS_UMOUNT2,
	unix.SYS_USERFAULTFD, unix.SYS_VHANGUP, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER,
	unix.SYS_IO_URING_REGISTER,
}, archDeniedSyscalls...)

// seccompFilter is the sandbox's seccomp program in the binary form bwrap's --seccomp reads (an
// array of struct sock_filter). Beside the denied syscalls, it refuses new user namespaces (clone and
// unshare with CLONE_NEWUSER: a user namespace hands its creator every capability over new kernel
// objects, the door to most container escapes) and answers clone3 with ENOSYS, as Docker does, so
// that the C library falls back to clone, whose flags the filter can read. Any other architecture
// (a 32-bit ABI on a 64-bit kernel) is killed.
func seccompFilter() ([]byte, error) {
	const (
		deny   = "deny"
		enosys = "enosys"
		flags  = "flags"
		allow  = "allow"
	)
	type jump struct {
		val    uint32
		target string
		set    bool // JumpIf with JumpBitsSet instead of JumpEqual
	}
	var prog []any // bpf.Instruction, or jump, or a label string
	prog = append(prog,
		bpf.LoadAbsolute{Off: seccompArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArch, SkipTrue: 1},
		bpf.RetConstant{Val: seccompRetKillProcess},
		bpf.LoadAbsolute{Off: seccompNr, Size: 4},
	)
	if x32SyscallBit != 0 {
		prog = append(prog, jump{val: x32SyscallBit, target: deny, set: true})
	}
	for _, nr := range deniedSyscalls {
		prog = append(prog, jump{val: uint32(nr), target: deny})
	}
	prog = append(prog,
		jump{val: unix.SYS_CLONE3, target: enosys},
		jump{val: unix.SYS_CLONE, target: flags},
		jump{val: unix.SYS_UNSHARE, target: flags},
		bpf.RetConstant{Val: seccompRetAllow},
		flags,
		bpf.LoadAbsolute{Off: seccompArg0 + cloneFlagsArg*8, Size: 4},
		jump{val: unix.CLONE_NEWUSER, target: deny, set: true},
		allow,
		bpf.RetConstant{Val: seccompRetAllow},
		deny,
		bpf.RetConstant{Val: seccompRetErrno | uint32(unix.EPERM)},
		enosys,
		bpf.RetConstant{Val: seccompRetErrno | uint32(unix.ENOSYS)},
	)

	labels := map[string]int{}
	n := 0
	for _, p := range prog {
		if l, ok := p.(string); ok {
			labels[l] = n
			continue
		}
		n++
	}
	var insns []bpf.Instruction
	for _, p := range prog {
		switch p := p.(type) {
		case string:
		case jump:
			skip := labels[p.target] - len(insns) - 1
			if skip < 0 || skip > 255 {
				return nil, fmt.Errorf("seccomp filter: jump to %s out of range (%d)", p.target, skip)
			}
			cond := bpf.JumpEqual
			if p.set {
				cond = bpf.JumpBitsSet
			}
			insns = append(insns, bpf.JumpIf{Cond: cond, Val: p.val, SkipTrue: uint8(skip)})
		case bpf.Instruction:
			insns = append(insns, p)
		}
	}
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	out := make([]byte, 0, 8*len(raw))
	for _, r := range raw {
		out = binary.NativeEndian.AppendUint16(out, r.Op)
		out = append(out, r.Jt, r.Jf)
		out = binary.NativeEndian.AppendUint32(out, r.K)
	}
	return out, nil
}
