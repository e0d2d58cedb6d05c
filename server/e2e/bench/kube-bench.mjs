// Kube runtime benchmark: claims from a warm SandboxPool through the manager against a real
// kube-apiserver (kube-testenv: etcd + kube-apiserver + the test node). No thresholds: it prints a table.
//   ENVD_BIN=/path/to/bin/envd MANAGER_BIN=/path/to/bin/sandbox-manager KUBE_TESTENV_BIN=/path/to/bin/kube-testenv \
//     node bench/kube-bench.mjs
// Knobs: BENCH_KUBE_POOL (warm pool size, default 40), BENCH_KUBE_N (sequential claims, default 20),
// BENCH_KUBE_RATE_N (claims per concurrency level, default 32; at most the pool size).
// A claim is POST /v2/sandboxes answered from a warm pod: two resourceVersion-guarded pod updates
// (warm → claiming → running) and envd's /init, each update waited for in the manager's informer.
import { startKubeEnv } from '../lib/kube.js'
import { startManager } from '../lib/manager.js'
import { latencyLine, line, now } from '../lib/bench.js'
import { waitFor } from '../lib/sdk.js'

const POOL = Number(process.env.BENCH_KUBE_POOL ?? 40)
const N = Number(process.env.BENCH_KUBE_N ?? 20)
const RATE_N = Math.min(Number(process.env.BENCH_KUBE_RATE_N ?? 32), POOL)

const kube = await startKubeEnv()
const mgr = await startManager({ runtime: 'kube', kube })
const poolName = 'bench'

async function create() {
  const r = await mgr.api('POST', '/v2/sandboxes', { templateID: 'base', timeout: 600 })
  if (r.status !== 201) throw new Error(`create: HTTP ${r.status}: ${JSON.stringify(r.body)}`)
  return r.body.sandboxID
}

const ready = async () => (await mgr.admin('GET', `/admin/pools/${poolName}`)).body.ready
async function fillPool() {
  await waitFor(`pool ready = ${POOL}`, async () => (await ready()) === POOL, { timeoutMs: 600_000, intervalMs: 200 })
}

// How many of ids the manager logged as claimed from the pool (the rest were cold starts).
function claimedFromPool(ids) {
  const set = new Set(ids)
  let n = 0
  for (const l of mgr.log().split('\n')) {
    if (!l.includes('"sandbox created"') || !l.includes('"fromPool":true')) continue
    const m = l.match(/"id":"([a-z0-9]+)"/)
    if (m && set.has(m[1])) n++
  }
  return n
}

async function killAll(ids) {
  await Promise.all(ids.map((id) => mgr.api('DELETE', `/sandboxes/${id}`)))
}

try {
  console.log(`kube runtime: claims from a warm pool of ${POOL} through the manager (real kube-apiserver ${kube.apiserver})`)
  const put = await mgr.admin('PUT', `/admin/pools/${poolName}`, { template: 'base', size: POOL })
  if (put.status !== 200) throw new Error(`put pool: ${put.status} ${JSON.stringify(put.body)}`)
  let t0 = now()
  await fillPool()
  line(`pool fill ${POOL} warm pods (from empty)`, `${((now() - t0) / 1000).toFixed(1)} s`)

  // Sequential claims, each while the pool still has warm pods (it refills behind them).
  const samples = []
  const seq = []
  for (let i = 0; i < N; i++) {
    const start = now()
    seq.push(await create())
    samples.push(now() - start)
  }
  latencyLine(`claim latency (POST /v2/sandboxes, warm pool), ${claimedFromPool(seq)}/${N} from pool`, samples, 1)
  await killAll(seq)

  for (const c of [8, 32]) {
    await fillPool()
    const ids = []
    let next = 0
    t0 = now()
    await Promise.all(Array.from({ length: c }, async () => {
      while (next < RATE_N) {
        next++
        ids.push(await create())
      }
    }))
    const secs = (now() - t0) / 1000
    line(`claims/s at concurrency ${c} (${RATE_N} claims, ${claimedFromPool(ids)} from pool)`, `${(RATE_N / secs).toFixed(1)} /s`)
    await killAll(ids)
  }
} finally {
  await mgr.admin('DELETE', `/admin/pools/${poolName}`).catch(() => {})
  await mgr.stop()
  await kube.stop()
}
