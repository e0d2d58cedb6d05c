// What the benchmark scripts share: latency distributions printed as table lines, and the memory of one
// local-runtime sandbox. The numbers are only printed, never compared with thresholds.
import fs from 'node:fs'
import path from 'node:path'

import { sandboxState } from './manager.js'

/** Milliseconds on a monotonic clock. */
export const now = () => Number(process.hrtime.bigint()) / 1e6

/** n, p50, p99 (nearest rank), mean, min and max of samples. */
export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b)
  const q = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
  const mean = s.reduce((a, b) => a + b, 0) / s.length
  return { n: s.length, p50: q(50), p99: q(99), mean, min: s[0], max: s[s.length - 1] }
}

/** One table line: the label padded to a column, then the value. */
export const line = (label, value) => console.log(`${label.padEnd(58)} ${value}`)

/** Prints the distribution of samples (ms) as one line and returns its stats. */
export function latencyLine(label, samples, digits = 0) {
  const st = stats(samples)
  const ms = (v) => `${v.toFixed(digits)} ms`
  line(label, `n=${st.n}  p50=${ms(st.p50)}  p99=${ms(st.p99)}  mean=${ms(st.mean)}  min=${ms(st.min)}  max=${ms(st.max)}`)
  return st
}

/** Resident set size of a process in KiB (0 when it is gone). */
export function rssKiB(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m)
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/**
 * Proportional set size of a process in KiB (0 when it is gone): its private pages plus its share of
 * each page it shares, so that the PSS of many processes adds up (RSS counts a shared page in each).
 */
export function pssKiB(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+)\s+kB/m)
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/**
 * Memory of one sandbox of the local runtime: the sums of its processes' RSS and PSS (found through its
 * memory cgroup, else as the descendants of its bwrap process) and the memory cgroup's usage when it has
 * one (which includes page cache and tmpfs).
 */
export function sandboxMemory(stateDir, id) {
  const st = sandboxState(stateDir, id)
  const memCg = (st.cgroups ?? []).find((c) => c.controller === 'memory')
  let pids = []
  let cgUsage
  if (memCg) {
    try { pids = fs.readFileSync(path.join(memCg.path, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number) } catch {}
    for (const f of ['memory.usage_in_bytes', 'memory.current']) {
      try { cgUsage = Number(fs.readFileSync(path.join(memCg.path, f), 'utf8')); break } catch {}
    }
  }
  if (pids.length === 0) {
    const children = new Map()
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue
      try {
        const ppid = Number(fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1].split(' ')[1])
        if (!children.has(ppid)) children.set(ppid, [])
        children.get(ppid).push(Number(e))
      } catch {}
    }
    const todo = [st.bwrap.pid]
    while (todo.length) {
      const p = todo.pop()
      pids.push(p)
      todo.push(...(children.get(p) ?? []))
    }
  } else if (!pids.includes(st.bwrap.pid)) {
    pids.push(st.bwrap.pid) // the outer bwrap may stay in the manager's cgroup
  }
  const sum = (f) => pids.reduce((a, p) => a + f(p), 0)
  return { rssKiB: sum(rssKiB), pssKiB: sum(pssKiB), procs: pids.length, cgUsage }
}
