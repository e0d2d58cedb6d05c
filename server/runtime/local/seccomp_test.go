package local

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func TestSeccompFilter(t *testing.T) {
	raw, err := seccompFilter()
	if err != nil {
		t.Fatal(err)
	}
	var prog []bpf.RawInstruction
	for i := 0; i+8 <= len(raw); i += 8 {
		prog = append(prog, bpf.RawInstruction{
			Op: binary.NativeEndian.Uint16(raw[i:]), Jt: raw[i+2], Jf: raw[i+3], K: binary.NativeEndian.Uint32(raw[i+4:]),
		})
	}
	insns, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatal("the program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	// call runs the program on a struct seccomp_data for syscall nr with its first argument. The
	// kernel loads its words in the machine's byte order, this VM in network byte order: the data is
	// laid out so that the VM sees what the kernel would (the low half of arg0 first, as on a
	// little-endian machine).
	call := func(arch uint32, nr uintptr, arg0 uint64) uint32 {
		data := make([]byte, 64)
		binary.BigEndian.PutUint32(data[seccompNr:], uint32(nr))
		binary.BigEndian.PutUint32(data[seccompArch:], arch)
		binary.BigEndian.PutUint32(data[seccompArg0:], uint32(arg0))
		binary.BigEndian.PutUint32(data[seccompArg0+4:], uint32(arg0>>32))
		out, err := vm.Run(data)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(out)
	}
	eperm := uint32(seccompRetErrno | uint32(unix.EPERM))
	for _, c := range []struct {
		name string
		arch uint32
		nr   uintptr
		arg0 uint64
		want uint32
	}{
		{"read", auditArch, unix.SYS_READ, 0, seccompRetAllow},
		{"mount", auditArch, unix.SYS_MOUNT, 0, eperm},
		{"keyctl", auditArch, unix.SYS_KEYCTL, 0, eperm},
		{"bpf", auditArch, unix.SYS_BPF, 0, eperm},
		{"open_by_handle_at", auditArch, unix.SYS_OPEN_BY_HANDLE_AT, 0, eperm},
		{"io_uring_setup", auditArch, unix.SYS_IO_URING_SETUP, 0, eperm},
		{"unshare user", auditArch, unix.SYS_UNSHARE, unix.CLONE_NEWUSER, eperm},
		{"unshare mount", auditArch, unix.SYS_UNSHARE, unix.CLONE_NEWNS, seccompRetAllow},
		{"clone thread", auditArch, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_THREAD, seccompRetAllow},
		{"clone user", auditArch, unix.SYS_CLONE, unix.CLONE_NEWUSER | uint64(unix.SIGCHLD), eperm},
		{"clone3", auditArch, unix.SYS_CLONE3, 0, seccompRetErrno | uint32(unix.ENOSYS)},
		{"another architecture", auditArch ^ 1, unix.SYS_READ, 0, seccompRetKillProcess},
	} {
		if got := call(c.arch, c.nr, c.arg0); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
		}
	}
}
