package local

import "golang.org/x/sys/unix"

const (
	auditArch = unix.AUDIT_ARCH_X86_64
	// x32SyscallBit marks the x32 ABI's syscall numbers, which the filter refuses as a whole.
	x32SyscallBit = 0x40000000
	// cloneFlagsArg is the argument of clone(2) that carries the flags.
	cloneFlagsArg = 0
)

var archDeniedSyscalls = []uintptr{
	unix.SYS_CREATE_MODULE, unix.SYS_GET_KERNEL_SYMS, unix.SYS_QUERY_MODULE, unix.SYS_SYSFS,
	unix.SYS__SYSCTL, unix.SYS_USELIB, unix.SYS_USTAT, unix.SYS_IOPL, unix.SYS_IOPERM,
}
