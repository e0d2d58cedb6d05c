package local

import (
	"runtime"
	"syscall"
)

// HostResources are what a sandbox without limits can use: the machine's CPUs and memory. The manager
// reports them for sandboxes whose template and pool set no resources.
func HostResources() (cpus int, memoryMB int) {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err == nil {
		memoryMB = int(uint64(si.Totalram) * uint64(si.Unit) >> 20)
	}
	return runtime.NumCPU(), memoryMB
}
