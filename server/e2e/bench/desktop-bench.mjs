// Desktop template benchmark through the real @e2b/desktop SDK (pinned 2.4.0). No thresholds: it prints
// a table.
//   ENVD_BIN=/path/to/bin/envd MANAGER_BIN=/path/to/bin/sandbox-manager node bench/desktop-bench.mjs
// Knobs: BENCH_DESKTOP_N (create samples per row, default 10), BENCH_DESKTOP_POOL (warm pool size,
// default 2), BENCH_DESKTOP_IDLE (sandboxes measured idle, default 2).
//
// "Ready" is what Sandbox.create() waits for in @e2b/desktop: the sandbox, then Xvfb answering xdpyinfo
// and the XFCE session's xfce4-session, xfwm4 and xfdesktop running (spec §5.1); the first screenshot
// after it is timed too. A warm pool holds started sandboxes; the SDK still starts the display and the
// session in the one it gets, as it does on E2B.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Sandbox } from '@e2b/desktop'

import { latencyLine, line, now, sandboxMemory } from '../lib/bench.js'
import { startManager } from '../lib/manager.js'
import { sleep, waitFor } from '../lib/sdk.js'

const N = Number(process.env.BENCH_DESKTOP_N ?? 10)
const POOL = Number(process.env.BENCH_DESKTOP_POOL ?? 2)
const IDLE = Number(process.env.BENCH_DESKTOP_IDLE ?? 2)
const RESOLUTION = [1024, 768]

/** One desktop: Sandbox.create() (ready) and the first screenshot after it, in ms from the start. */
async function createDesktop() {
  const t0 = now()
  const sbx = await Sandbox.create({ resolution: RESOLUTION, timeoutMs: 300_000 })
  const ready = now() - t0
  await sbx.screenshot()
  return { sbx, ready, screenshot: now() - t0 }
}

async function main() {
  const mgr = await startManager()
  mgr.useSdkEnv()
  try {
    console.log(`desktop bench: ${mgr.bin}  @e2b/desktop  node ${process.version}  ${os.cpus().length} CPUs  ${os.cpus()[0]?.model ?? ''}  ${RESOLUTION.join('x')}`)
    const desktop = (await mgr.api('GET', '/templates')).body.find?.((t) => t.templateID === 'desktop')
    if (!desktop?.available) throw new Error(`the desktop template is unavailable: ${desktop?.reason ?? 'not listed'} (make deps installs its packages)`)

    // Warm up (page cache of Xvfb, XFCE and their libraries).
    await (await createDesktop()).sbx.kill()

    // 1. cold: the manager starts the sandbox on create.
    const cold = { ready: [], screenshot: [] }
    for (let i = 0; i < N; i++) {
      const r = await createDesktop()
      cold.ready.push(r.ready)
      cold.screenshot.push(r.screenshot)
      await r.sbx.kill()
    }
    latencyLine('desktop create → ready (Xvfb + XFCE up), cold', cold.ready)
    latencyLine('desktop create → first screenshot, cold', cold.screenshot)

    // 2. from a warm pool, refilled to full before every sample.
    const pool = 'bench-desktop'
    const put = await mgr.admin('PUT', `/admin/pools/${pool}`, { template: 'desktop', size: POOL })
    if (put.status !== 200) throw new Error(`PUT pool: ${put.status} ${JSON.stringify(put.body)}`)
    const ready = async () => (await mgr.admin('GET', `/admin/pools/${pool}`)).body.ready
    const warm = { ready: [], screenshot: [] }
    const logBefore = mgr.log().length
    for (let i = 0; i < N; i++) {
      await waitFor(`desktop pool ready = ${POOL}`, async () => (await ready()) === POOL, { timeoutMs: 60_000, intervalMs: 50 })
      const r = await createDesktop()
      warm.ready.push(r.ready)
      warm.screenshot.push(r.screenshot)
      await r.sbx.kill()
    }
    const pooled = (mgr.log().slice(logBefore).match(/"msg":"sandbox created","part":"manager"[^\n]*"fromPool":true/g) ?? []).length
    latencyLine(`desktop create → ready, warm pool (size ${POOL})`, warm.ready)
    latencyLine(`desktop create → first screenshot, warm pool (size ${POOL})`, warm.screenshot)
    line('  creates served from the pool (manager log)', `${pooled} of ${N}`)
    await mgr.admin('DELETE', `/admin/pools/${pool}`)
    await waitFor('pool sandboxes to go', () => fs.readdirSync(path.join(mgr.stateDir, 'runtime', 'sandboxes')).length === 0, { timeoutMs: 30_000, intervalMs: 100 })

    // 3. idle memory of a desktop sandbox: XFCE up, nothing else running.
    const idle = []
    for (let i = 0; i < IDLE; i++) idle.push((await createDesktop()).sbx)
    await sleep(5000)
    const mems = idle.map((s) => sandboxMemory(mgr.stateDir, s.sandboxId))
    const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
    line('idle memory per desktop sandbox: sum PSS of its processes', `${(avg(mems.map((m) => m.pssKiB)) / 1024).toFixed(1)} MiB avg over ${mems.length} (${mems.map((m) => m.procs).join('/')} processes)`)
    line('idle memory per desktop sandbox: sum RSS of its processes', `${(avg(mems.map((m) => m.rssKiB)) / 1024).toFixed(1)} MiB avg (RSS counts shared pages in every process)`)
    const cg = mems.map((m) => m.cgUsage).filter((x) => Number.isFinite(x))
    line('idle memory per desktop sandbox: memory cgroup usage', cg.length ? `${(avg(cg) / 1024 / 1024).toFixed(1)} MiB avg over ${cg.length} (includes page cache)` : 'n/a (no memory cgroup)')
    await Promise.all(idle.map((s) => s.kill()))
  } finally {
    const left = await mgr.stop()
    if (left.length) console.error(`sandbox directories left after stop: ${left.join(' ')}`)
  }
}

main().catch((err) => {
  console.error(`desktop bench failed: ${err.stack ?? err}`)
  process.exit(1)
})
