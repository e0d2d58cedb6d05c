package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/sandboxstack/terraform-provider-sandbox/server/runtime/local"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// limitFlags are the local runtime's default per-sandbox limits and its network switch.
type limitFlags struct {
	cpuMillis, memoryMB, pids, diskMB int64
	noNetwork                         bool
}

// Defaults: one core, 2 GiB of memory (a desktop with Chromium fits), 1024 processes and threads,
// and a 2 GiB writable layer.
func (f *limitFlags) register(fs *flag.FlagSet) {
	num := func(p *int64, name, env string, def int64, help string) {
		*p = def
		if v := os.Getenv(env); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil && n >= 0 {
				*p = n
			} else {
				fmt.Fprintf(os.Stderr, "sandbox-manager: ignoring %s=%q: want a number >= 0\n", env, v)
			}
		}
		fs.Int64Var(p, name, *p, help+" (env "+env+"; 0 = unlimited)")
	}
	num(&f.cpuMillis, "sandbox-cpu-millis", "SANDBOX_CPU_MILLIS", 1000, "local runtime: default CPU limit per sandbox in thousandths of a core")
	num(&f.memoryMB, "sandbox-memory-mb", "SANDBOX_MEMORY_MB", 2048, "local runtime: default memory limit per sandbox in MiB (its tmpfs files count too)")
	num(&f.pids, "sandbox-pids", "SANDBOX_PIDS", 1024, "local runtime: default limit of processes and threads per sandbox")
	num(&f.diskMB, "sandbox-disk-mb", "SANDBOX_DISK_MB", 2048, "local runtime: size in MiB of each sandbox's writable layer, a tmpfs (0 = a directory in the state dir, unbounded)")
	noNet := os.Getenv("SANDBOX_NO_NETWORK") == "1"
	fs.BoolVar(&f.noNetwork, "sandbox-no-network", noNet, "local runtime: give sandboxes no outbound network even where slirp4netns is installed (env SANDBOX_NO_NETWORK=1)")
}

func (f limitFlags) limits() sandbox.Limits {
	return sandbox.Limits{CPUMillis: f.cpuMillis, MemoryMB: f.memoryMB, Pids: f.pids, DiskMB: f.diskMB}
}

// reported are the CPUs and memory the API reports for a sandbox whose template sets none: the
// default limits, or the machine's where a limit is off.
func (f limitFlags) reported() (cpus, memoryMB int) {
	cpus, memoryMB = local.HostResources()
	if f.cpuMillis > 0 {
		cpus = int(max(1, (f.cpuMillis+999)/1000))
	}
	if f.memoryMB > 0 {
		memoryMB = int(f.memoryMB)
	}
	return cpus, memoryMB
}
