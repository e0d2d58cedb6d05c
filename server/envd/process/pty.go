package process

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Default terminal size when a PTY request names none, the classic VT100 geometry shells assume.
const (
	defaultCols = 80
	defaultRows = 24
)

// openPTY allocates a pseudo-terminal pair. The master is opened through os.OpenFile so it lands in the
// runtime poller: reads can then be cut short with SetReadDeadline and a blocked write is released by
// Close, which the process lifecycle relies on.
func openPTY() (master, tty *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	var n uint32
	ctlErr := control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlock pty: %w", err)
		}
		var err error
		if n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN); err != nil {
			return fmt.Errorf("get pty number: %w", err)
		}
		return nil
	})
	if ctlErr != nil {
		_ = master.Close()
		return nil, nil, ctlErr
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	tty, err = os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		_ = master.Close()
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	return master, tty, nil
}

// setPTYSize resizes the terminal; the kernel then sends SIGWINCH to its foreground process group.
func setPTYSize(master *os.File, cols, rows uint32) error {
	ws := &unix.Winsize{Col: uint16(min(cols, 0xffff)), Row: uint16(min(rows, 0xffff))}
	return control(master, func(fd int) error {
		if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("set pty size %dx%d: %w", cols, rows, err)
		}
		return nil
	})
}

// control runs fn on f's descriptor without f.Fd(), which would switch the master to blocking mode and
// take it out of the poller.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return fnErr
}
