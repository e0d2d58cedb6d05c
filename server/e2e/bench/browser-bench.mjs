// Browser template benchmark through the real SDK (e2b 2.51.0) and playwright-core's connectOverCDP
// (pinned 1.65.1). No thresholds: it prints a table.
//   ENVD_BIN=/path/to/bin/envd MANAGER_BIN=/path/to/bin/sandbox-manager node bench/browser-bench.mjs
// Knobs: BENCH_BROWSER_N (samples per row, default 10), BENCH_BROWSER_POOL (warm pool size, default 2),
// BENCH_BROWSER_IDLE (sandboxes measured idle, default 2).
//
// "Ready" is what a user waits for before driving the browser: Sandbox.create('browser') (which returns
// once Chromium's /json/version answers) and connectOverCDP at <manager>/browser/<id> (which fetches
// /json/version and dials the websocket it names). The first page (a data: URL, its title read back) is
// timed too.
import os from 'node:os'
import { Sandbox } from 'e2b'
import { chromium } from 'playwright-core'

import { latencyLine, line, now, rssKiB, sandboxMemory } from '../lib/bench.js'
import { startManager } from '../lib/manager.js'
import { sleep, waitFor } from '../lib/sdk.js'

const N = Number(process.env.BENCH_BROWSER_N ?? 10)
const POOL = Number(process.env.BENCH_BROWSER_POOL ?? 2)
const IDLE = Number(process.env.BENCH_BROWSER_IDLE ?? 2)

/** connectOverCDP to a browser sandbox through the manager, as a user does: the URL alone. */
async function connect(mgr, sbx) {
  return chromium.connectOverCDP(`${mgr.url}/browser/${sbx.sandboxId}`, { timeout: 60_000 })
}

/** One sample: ms from the start to create() returning, to CDP connected, and to the first page. */
async function createAndDrive(mgr) {
  const t0 = now()
  const sbx = await Sandbox.create('browser', { timeoutMs: 300_000 })
  const created = now() - t0
  const browser = await connect(mgr, sbx)
  const connected = now() - t0
  const page = await browser.contexts()[0].newPage()
  await page.goto('data:text/html,<title>bench</title>')
  if ((await page.title()) !== 'bench') throw new Error('the first page has the wrong title')
  const firstPage = now() - t0
  await browser.close()
  await sbx.kill()
  return { id: sbx.sandboxId, created, connected, firstPage }
}

function report(label, samples) {
  latencyLine(`browser create → CDP connected, ${label}`, samples.map((s) => s.connected))
  latencyLine('  of which Sandbox.create() alone', samples.map((s) => s.created))
  latencyLine('  create → first page (data: URL, title read)', samples.map((s) => s.firstPage))
}

async function main() {
  const mgr = await startManager()
  mgr.useSdkEnv()
  try {
    console.log(`browser bench: ${mgr.bin}  node ${process.version}  ${os.cpus().length} CPUs  ${os.cpus()[0]?.model ?? ''}`)
    const templates = await mgr.api('GET', '/templates')
    const tmpl = templates.body.find?.((t) => t.templateID === 'browser')
    if (!tmpl?.available) {
      throw new Error(`the browser template is unavailable (${tmpl?.reason ?? 'not listed'}): install it with \`apt-get install -y --no-install-recommends chromium fonts-dejavu-core\``)
    }

    // Warm up (Chromium's binary and libraries into the page cache, the first overlay mount).
    await createAndDrive(mgr)

    // 1. cold: every sample starts Chromium.
    const cold = []
    for (let i = 0; i < N; i++) cold.push(await createAndDrive(mgr))
    report('cold', cold)

    // 2. from a warm pool (refilled to full before every sample): Chromium already answers at claim.
    const pool = 'bench-browser'
    const put = await mgr.admin('PUT', `/admin/pools/${pool}`, { template: 'browser', size: POOL })
    if (put.status !== 200) throw new Error(`PUT pool: ${put.status} ${JSON.stringify(put.body)}`)
    const ready = async () => (await mgr.admin('GET', `/admin/pools/${pool}`)).body.ready
    const warm = []
    let pooled = 0
    for (let i = 0; i < N; i++) {
      await waitFor(`browser pool ready = ${POOL}`, async () => (await ready()) === POOL, { timeoutMs: 120_000, intervalMs: 50 })
      const sample = await createAndDrive(mgr)
      warm.push(sample)
      if (new RegExp(`"msg":"sandbox created","part":"manager","id":"${sample.id}"[^\n]*"fromPool":true`).test(mgr.log())) pooled++
    }
    report(`warm pool (size ${POOL})`, warm)
    line('  creates served from the pool (manager log)', `${pooled} of ${N}`)
    await mgr.admin('DELETE', `/admin/pools/${pool}`)

    // 3. idle memory: browser sandboxes created and left alone (Chromium with its about:blank tab),
    // beside a base sandbox for comparison.
    const idle = await Promise.all(Array.from({ length: IDLE }, () => Sandbox.create('browser', { timeoutMs: 300_000 })))
    const base = await Sandbox.create('base', { timeoutMs: 300_000 })
    await sleep(3000)
    const mems = idle.map((s) => sandboxMemory(mgr.stateDir, s.sandboxId))
    const baseMem = sandboxMemory(mgr.stateDir, base.sandboxId)
    const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
    const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`
    line('idle memory per browser sandbox: sum RSS of its processes', `${mib(avg(mems.map((m) => m.rssKiB)))} avg over ${mems.length} (${mems.map((m) => m.procs).join('/')} processes; RSS double-counts shared pages)`)
    line('idle memory per browser sandbox: sum PSS of its processes', `${mib(avg(mems.map((m) => m.pssKiB)))} avg over ${mems.length} (shared pages split among their users)`)
    const cg = mems.map((m) => m.cgUsage).filter((x) => Number.isFinite(x))
    line('idle memory per browser sandbox: memory cgroup usage', cg.length ? `${mib(avg(cg) / 1024)} avg over ${cg.length} (includes page cache)` : 'n/a (no memory cgroup)')
    line('  a base sandbox, for comparison: sum RSS / PSS / cgroup', `${mib(baseMem.rssKiB)} / ${mib(baseMem.pssKiB)} / ${Number.isFinite(baseMem.cgUsage) ? mib(baseMem.cgUsage / 1024) : 'n/a'}`)
    line('manager RSS with these sandboxes', mib(rssKiB(mgr.child.pid)))
    await Promise.all([...idle, base].map((s) => s.kill()))
  } finally {
    const left = await mgr.stop()
    if (left.length) console.error(`sandbox directories left after stop: ${left.join(' ')}`)
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err.stack ?? err}`)
  process.exit(1)
})
