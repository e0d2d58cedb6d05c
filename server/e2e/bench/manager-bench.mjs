// Sandbox-manager benchmark through the real SDK (e2b 2.51.0). No thresholds: it prints a table.
//   ENVD_BIN=/path/to/bin/envd MANAGER_BIN=/path/to/bin/sandbox-manager node bench/manager-bench.mjs
// Knobs: BENCH_CREATE_N (create→first command samples, default 20), BENCH_N (round trips, default 50),
// BENCH_RATE_N (creates per concurrency level, default 32), BENCH_POOL (warm pool size, default 4).
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import { latencyLine as printLatency, line, now, rssKiB, sandboxMemory } from '../lib/bench.js'
import { envdSocket, sandboxState, startManager } from '../lib/manager.js'
import { sleep, versions, waitFor } from '../lib/sdk.js'
import { Sandbox as CodeInterpreter } from '@e2b/code-interpreter'

const CREATE_N = Number(process.env.BENCH_CREATE_N ?? 20)
const N = Number(process.env.BENCH_N ?? 50)
const RATE_N = Number(process.env.BENCH_RATE_N ?? 32)
const POOL = Number(process.env.BENCH_POOL ?? 4)
const [sdkLabel, sdk] = versions[0]

// latencyLine prints milliseconds with two decimals: these latencies are often a few ms.
const latencyLine = (label, samples) => printLatency(label, samples, 2)

async function timeN(n, fn) {
  const samples = []
  for (let i = 0; i < n; i++) {
    const t0 = now()
    await fn(i)
    samples.push(now() - t0)
  }
  return samples
}

function envelope(obj) {
  const json = Buffer.from(JSON.stringify(obj))
  const head = Buffer.alloc(5)
  head.writeUInt8(0, 0)
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}

/**
 * One raw Connect server-streaming process.Process/Start over node:http (the same client both ways):
 * `target` is {host, port, headers} for the gateway or {socketPath} for envd's unix socket.
 * Reads to the end-stream envelope and returns the exit code.
 */
function rawStart(target, token, processConfig, agent) {
  const body = envelope({ process: processConfig, stdin: false })
  return new Promise((resolve, reject) => {
    const req = http.request({
      ...target,
      agent,
      method: 'POST',
      path: '/process.Process/Start',
      headers: {
        'Content-Type': 'application/connect+json',
        'Connect-Protocol-Version': '1',
        'Connect-Timeout-Ms': '60000',
        'X-Access-Token': token,
        'Content-Length': body.length,
        Host: target.socketPath ? 'localhost' : `${target.host}:${target.port}`,
        ...target.headers,
      },
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const buf = Buffer.concat(chunks)
        if (res.statusCode !== 200) return reject(new Error(`raw Start: HTTP ${res.statusCode}: ${buf}`))
        let exitCode
        let endStream = false
        for (let off = 0; off + 5 <= buf.length;) {
          const flags = buf.readUInt8(off)
          const len = buf.readUInt32BE(off + 1)
          const msg = JSON.parse(buf.subarray(off + 5, off + 5 + len).toString() || '{}')
          off += 5 + len
          if (flags & 0x02) {
            endStream = true
            if (msg.error) return reject(new Error(`raw Start: end-stream error ${JSON.stringify(msg.error)}`))
          } else if (msg.event?.end) {
            exitCode = msg.event.end.exitCode ?? 0
          }
        }
        if (!endStream || exitCode === undefined) return reject(new Error('raw Start: no end event / end-stream envelope'))
        resolve(exitCode)
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const CI_N = 8

async function main() {
  const mgr = await startManager()
  mgr.useSdkEnv()
  const out = []
  try {
    console.log(`manager bench: ${mgr.bin}  sdk ${sdkLabel}  node ${process.version}  ${os.cpus().length} CPUs  ${os.cpus()[0]?.model ?? ''}`)

    // Warm up (page cache, first overlay mount).
    for (let i = 0; i < 2; i++) await (await sdk.Sandbox.create()).kill()

    // 1. create → first commands.run('true'), cold.
    const cold = []
    for (let i = 0; i < CREATE_N; i++) {
      const t0 = now()
      const sbx = await sdk.Sandbox.create()
      await sbx.commands.run('true')
      cold.push(now() - t0)
      await sbx.kill()
    }
    out.push(latencyLine("create → first run('true'), cold", cold))

    // 2. the same from a warm pool (refilled to full before every sample).
    const pool = 'bench'
    const put = await mgr.admin('PUT', `/admin/pools/${pool}`, { template: 'base', size: POOL })
    if (put.status !== 200) throw new Error(`PUT pool: ${put.status} ${JSON.stringify(put.body)}`)
    const ready = async () => (await mgr.admin('GET', `/admin/pools/${pool}`)).body.ready
    const warm = []
    const warmCreateOnly = []
    for (let i = 0; i < CREATE_N; i++) {
      await waitFor(`pool ready = ${POOL}`, async () => (await ready()) === POOL, { timeoutMs: 30_000, intervalMs: 50 })
      const t0 = now()
      const sbx = await sdk.Sandbox.create()
      warmCreateOnly.push(now() - t0)
      await sbx.commands.run('true')
      warm.push(now() - t0)
      await sbx.kill()
    }
    const pooled = (mgr.log().match(/"msg":"sandbox created","part":"manager"[^\n]*"fromPool":true/g) ?? []).length
    out.push(latencyLine(`create → first run('true'), warm pool (size ${POOL})`, warm))
    latencyLine('  of which Sandbox.create() alone, warm pool', warmCreateOnly)
    line('  creates served from the pool (manager log)', `${pooled} of ${CREATE_N}`)
    await mgr.admin('DELETE', `/admin/pools/${pool}`)
    await waitFor('pool sandboxes to go', () => fs.readdirSync(path.join(mgr.stateDir, 'runtime', 'sandboxes')).length === 0, { timeoutMs: 30_000, intervalMs: 100 })

    // 3. command round trips: SDK through the gateway; raw Start through the gateway vs envd's socket.
    const sbx = await sdk.Sandbox.create()
    const token = sandboxState(mgr.stateDir, sbx.sandboxId).spec.AccessToken
    const gw = { host: '127.0.0.1', port: mgr.port, headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983' } }
    const direct = { socketPath: envdSocket(mgr.stateDir, sbx.sandboxId) }
    const agentTcp = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const agentUnix = new http.Agent({ keepAlive: true, maxSockets: 1 })
    for (let i = 0; i < 3; i++) await sbx.commands.run('true')
    out.push(latencyLine("SDK commands.run('true') through the gateway", await timeN(N, () => sbx.commands.run('true'))))
    for (const [label, cfg] of [['/bin/bash -l -c true', { cmd: '/bin/bash', args: ['-l', '-c', 'true'] }], ['/bin/true', { cmd: '/bin/true', args: [] }]]) {
      await rawStart(gw, token, cfg, agentTcp)
      await rawStart(direct, token, cfg, agentUnix)
      // Interleaved so that both see the same machine state.
      const viaGw = []
      const viaSock = []
      for (let i = 0; i < N; i++) {
        let t0 = now()
        await rawStart(gw, token, cfg, agentTcp)
        viaGw.push(now() - t0)
        t0 = now()
        await rawStart(direct, token, cfg, agentUnix)
        viaSock.push(now() - t0)
      }
      const a = latencyLine(`raw Connect Start ${label}, gateway`, viaGw)
      const b = latencyLine(`raw Connect Start ${label}, envd unix socket`, viaSock)
      line(`  gateway overhead (${label})`, `p50 +${(a.p50 - b.p50).toFixed(2)} ms  mean +${(a.mean - b.mean).toFixed(2)} ms`)
    }
    agentTcp.destroy()
    agentUnix.destroy()
    await sbx.kill()

    // 4. creates/s (create + kill) at concurrency 1, 8, 32.
    for (const conc of [1, 8, 32]) {
      let next = 0
      let failed = 0
      const errors = new Set()
      const t0 = now()
      await Promise.all(Array.from({ length: Math.min(conc, RATE_N) }, async () => {
        while (next < RATE_N) {
          next++
          try {
            const s = await sdk.Sandbox.create()
            await s.kill()
          } catch (err) {
            failed++
            errors.add(`${err.constructor.name}: ${err.message}`.slice(0, 160))
          }
        }
      }))
      const secs = (now() - t0) / 1000
      line(`creates/s (create+kill), concurrency ${conc}`, `${((RATE_N - failed) / secs).toFixed(2)}/s  (${RATE_N} creates in ${secs.toFixed(2)} s${failed ? `, ${failed} failed: ${[...errors].join(' | ')}` : ''})`)
    }

    // 5. idle memory per sandbox.
    const idle = await Promise.all(Array.from({ length: 4 }, () => sdk.Sandbox.create()))
    await sleep(2000)
    const mems = idle.map((s) => sandboxMemory(mgr.stateDir, s.sandboxId))
    const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
    line('idle memory per sandbox: sum RSS of its processes', `${(avg(mems.map((m) => m.rssKiB)) / 1024).toFixed(1)} MiB avg over ${mems.length} (${mems.map((m) => m.procs).join('/')} processes; RSS double-counts shared pages)`)
    const cg = mems.map((m) => m.cgUsage).filter((x) => Number.isFinite(x))
    line('idle memory per sandbox: memory cgroup usage', cg.length ? `${(avg(cg) / 1024 / 1024).toFixed(1)} MiB avg over ${cg.length} (includes page cache)` : 'n/a (no memory cgroup)')
    line('manager RSS with 4 idle sandboxes', `${(rssKiB(mgr.child.pid) / 1024).toFixed(1)} MiB`)
    await Promise.all(idle.map((s) => s.kill()))

    // 4. code interpreter (@e2b/code-interpreter): runCode round trip, and create → first runCode
    // cold and from a warm pool.
    const ciCold = []
    for (let i = 0; i < CI_N; i++) {
      const t0 = now()
      const s = await CodeInterpreter.create()
      await s.runCode('1+1')
      ciCold.push(now() - t0)
      await s.kill()
    }
    out.push(latencyLine("code-interpreter create → first runCode('1+1'), cold", ciCold))
    const ciPool = 'bench-ci'
    await mgr.admin('PUT', `/admin/pools/${ciPool}`, { template: 'code-interpreter', size: 2 })
    const ciReady = async () => (await mgr.admin('GET', `/admin/pools/${ciPool}`)).body.ready
    const ciWarm = []
    for (let i = 0; i < CI_N; i++) {
      await waitFor('code-interpreter pool ready = 2', async () => (await ciReady()) === 2, { timeoutMs: 60_000, intervalMs: 50 })
      const t0 = now()
      const s = await CodeInterpreter.create()
      await s.runCode('1+1')
      ciWarm.push(now() - t0)
      await s.kill()
    }
    out.push(latencyLine("code-interpreter create → first runCode('1+1'), warm pool", ciWarm))
    await mgr.admin('DELETE', `/admin/pools/${ciPool}`)
    const ci = await CodeInterpreter.create()
    for (let i = 0; i < 3; i++) await ci.runCode('1+1')
    out.push(latencyLine("runCode('1+1') round trip, warm sandbox", await timeN(N, () => ci.runCode('1+1'))))
    await ci.kill()
  } finally {
    const left = await mgr.stop()
    if (left.length) console.error(`sandbox directories left after stop: ${left.join(' ')}`)
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err.stack ?? err}`)
  process.exit(1)
})
