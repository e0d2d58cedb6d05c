// envd micro-benchmark through the real SDK (debug mode, envd on :49983). No thresholds: it prints.
//   ENVD_BIN=/path/to/bin/envd node bench/envd-bench.mjs
// Knobs: BENCH_N (command round trips, default 50), BENCH_FILE_MIB (transfer size, default 256).
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { startEnvd } from '../lib/envd.js'
import { makeTempDir, removeTempDir, sleep, versions } from '../lib/sdk.js'

const N = Number(process.env.BENCH_N ?? 50)
const FILE_MIB = Number(process.env.BENCH_FILE_MIB ?? 256)
const [sdkLabel, sdk] = versions[0]

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b)
  const q = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
  const mean = s.reduce((a, b) => a + b, 0) / s.length
  return { n: s.length, p50: q(50), p99: q(99), mean, min: s[0], max: s[s.length - 1] }
}

function line(label, value) {
  console.log(`${label.padEnd(50)} ${value}`)
}

function latencyLine(label, samples) {
  const st = stats(samples)
  line(label, `n=${st.n}  p50=${st.p50.toFixed(2)} ms  p99=${st.p99.toFixed(2)} ms  mean=${st.mean.toFixed(2)} ms  min=${st.min.toFixed(2)} ms  max=${st.max.toFixed(2)} ms`)
}

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m)
  return m ? Number(m[1]) : NaN
}

function envelope(obj) {
  const json = Buffer.from(JSON.stringify(obj))
  const head = Buffer.alloc(5)
  head.writeUInt8(0, 0)
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}

/** One raw Connect server-streaming Start call, read to the end-stream envelope; returns the exit code. */
async function rawStart(baseUrl, processConfig) {
  const res = await fetch(`${baseUrl}/process.Process/Start`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/connect+json',
      'Connect-Protocol-Version': '1',
      'Connect-Timeout-Ms': '60000',
      'Keepalive-Ping-Interval': '50',
    },
    body: envelope({ process: processConfig, stdin: false }),
  })
  if (res.status !== 200) throw new Error(`raw Start: HTTP ${res.status}: ${await res.text()}`)
  const buf = Buffer.from(await res.arrayBuffer())
  let exitCode
  let endStream = false
  for (let off = 0; off + 5 <= buf.length;) {
    const flags = buf.readUInt8(off)
    const len = buf.readUInt32BE(off + 1)
    const msg = JSON.parse(buf.subarray(off + 5, off + 5 + len).toString() || '{}')
    off += 5 + len
    if (flags & 0x02) {
      endStream = true
      if (msg.error) throw new Error(`raw Start: end-stream error ${JSON.stringify(msg.error)}`)
    } else if (msg.event?.end) {
      exitCode = msg.event.end.exitCode ?? 0
    }
  }
  if (!endStream || exitCode === undefined) throw new Error('raw Start: stream ended without end event or end-stream envelope')
  return exitCode
}

async function timeN(n, fn) {
  const samples = []
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await fn()
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return samples
}

function dataStream(totalBytes, block) {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close()
      const n = Math.min(block.length, totalBytes - sent)
      controller.enqueue(n === block.length ? new Uint8Array(block) : new Uint8Array(block.subarray(0, n)))
      sent += n
    },
  })
}

async function main() {
  const dir = makeTempDir('bench')
  const envd = await startEnvd({ workdir: dir })
  try {
    const sbx = await sdk.Sandbox.create()
    await sleep(1000)
    const rssFresh = rssKiB(envd.pid)

    console.log(`envd bench: ${process.env.ENVD_BIN}  sdk ${sdkLabel}  node ${process.version}  ${os.cpus().length} CPUs  ${os.cpus()[0]?.model ?? ''}`)
    line('envd idle RSS (fresh, 1 s idle)', `${(rssFresh / 1024).toFixed(1)} MiB`)

    // Command round trips. Warm up first (bash, login profile and page cache).
    for (let i = 0; i < 3; i++) await sbx.commands.run('true')
    latencyLine("SDK commands.run('true')", await timeN(N, () => sbx.commands.run('true')))
    const loginTrue = { cmd: '/bin/bash', args: ['-l', '-c', 'true'] }
    await rawStart(envd.url, loginTrue)
    latencyLine('raw Connect Start /bin/bash -l -c true', await timeN(N, () => rawStart(envd.url, loginTrue)))
    const bareTrue = { cmd: '/bin/true', args: [] }
    await rawStart(envd.url, bareTrue)
    latencyLine('raw Connect Start /bin/true (no login shell)', await timeN(N, () => rawStart(envd.url, bareTrue)))

    // Transfers: incompressible data, 1 MiB blocks.
    const total = FILE_MIB * 1024 * 1024
    const block = crypto.randomBytes(1024 * 1024)
    const file = path.join(dir, 'bench.bin')

    let t0 = process.hrtime.bigint()
    await sbx.files.write(file, dataStream(total, block))
    let secs = Number(process.hrtime.bigint() - t0) / 1e9
    const size = fs.statSync(file).size
    if (size !== total) throw new Error(`upload wrote ${size} bytes, expected ${total}`)
    line(`SDK files.write ${FILE_MIB} MiB (ReadableStream)`, `${(FILE_MIB / secs).toFixed(1)} MiB/s  (${secs.toFixed(2)} s)`)

    const whole = new ArrayBuffer(total)
    const view = Buffer.from(whole)
    for (let off = 0; off < total; off += block.length) block.copy(view, off, 0, Math.min(block.length, total - off))
    t0 = process.hrtime.bigint()
    await sbx.files.write(file, whole, { useOctetStream: true })
    secs = Number(process.hrtime.bigint() - t0) / 1e9
    line(`SDK files.write ${FILE_MIB} MiB (Buffer, octet-stream)`, `${(FILE_MIB / secs).toFixed(1)} MiB/s  (${secs.toFixed(2)} s)`)

    t0 = process.hrtime.bigint()
    let got = 0
    for await (const chunk of await sbx.files.read(file, { format: 'stream' })) got += chunk.length
    secs = Number(process.hrtime.bigint() - t0) / 1e9
    if (got !== total) throw new Error(`download returned ${got} bytes, expected ${total}`)
    line(`SDK files.read ${FILE_MIB} MiB (format:'stream')`, `${(FILE_MIB / secs).toFixed(1)} MiB/s  (${secs.toFixed(2)} s)`)

    // The SDK's fetch (undici) always offers gzip; these show what the encoding envd picks costs.
    for (const acceptEncoding of ['identity', 'gzip, deflate']) {
      t0 = process.hrtime.bigint()
      const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(file)}`, { headers: { 'Accept-Encoding': acceptEncoding } })
      got = 0
      for await (const chunk of res.body) got += chunk.length
      secs = Number(process.hrtime.bigint() - t0) / 1e9
      if (got !== total) throw new Error(`raw download returned ${got} bytes, expected ${total}`)
      line(`raw GET /files ${FILE_MIB} MiB (accept ${acceptEncoding})`, `${(FILE_MIB / secs).toFixed(1)} MiB/s  (${secs.toFixed(2)} s, content-encoding ${res.headers.get('content-encoding') ?? 'none'})`)
    }

    fs.rmSync(file)
    await sleep(1000)
    line('envd idle RSS (after workload, 1 s idle)', `${(rssKiB(envd.pid) / 1024).toFixed(1)} MiB`)
  } finally {
    await envd.stop()
    removeTempDir(dir)
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err.stack ?? err}`)
  process.exit(1)
})
