// Harness: starts and stops `sandbox-manager serve` (the control plane, the gateway and the local
// runtime on one listener) for the tests that go "through the manager". It builds nothing: `make build`
// writes bin/sandbox-manager, MANAGER_BIN names it (run.sh defaults it to sandbox-manager beside ENVD_BIN).
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { envdBinary, exitsWithin, freePort } from './envd.js'
import { startKubeEnv } from './kube.js'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Absolute path of the manager binary under test, or a thrown Error that says how to get one. */
export function managerBinary() {
  let bin = process.env.MANAGER_BIN
  if (!bin && process.env.ENVD_BIN) bin = path.join(path.dirname(process.env.ENVD_BIN), 'sandbox-manager')
  if (!bin) {
    throw new Error('MANAGER_BIN is not set: build everything with `make build` (it writes bin/sandbox-manager) and run with MANAGER_BIN=/path/to/bin/sandbox-manager')
  }
  const abs = path.resolve(bin)
  try {
    fs.accessSync(abs, fs.constants.X_OK)
  } catch {
    throw new Error(`MANAGER_BIN=${bin} is not an executable file: build it with \`make build\` first`)
  }
  return abs
}

async function health(url) {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
    await res.arrayBuffer().catch(() => {})
    return res.status
  } catch {
    return undefined
  }
}

/** Mount points (from /proc/self/mountinfo) under dir: the overlay roots of sandboxes still alive. */
function mountsUnder(dir) {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
  } catch {
    return []
  }
}

/** Pids of processes whose command line mentions dir (the sandboxes' bwrap processes name their root). */
export function pidsMentioning(dir) {
  const out = []
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) out.push(Number(e))
    } catch {}
  }
  return out
}

/** The runtime's state of one sandbox (root-only file, spec of server/runtime/local/state.go). */
export function sandboxState(stateDir, id) {
  return JSON.parse(fs.readFileSync(path.join(stateDir, 'runtime', 'sandboxes', id, 'state.json'), 'utf8'))
}

/**
 * Host directory of the local runtime's portals (what bwrap binds into each sandbox: its root, envd's
 * socket): layoutFor() in server/runtime/local, one directory per runtime state dir.
 */
export function portalsDir(stateDir) {
  const runtimeDir = path.resolve(stateDir, 'runtime')
  return path.join('/run/sandboxstack', 'sandboxstack-' + crypto.createHash('sha256').update(runtimeDir).digest('hex').slice(0, 8))
}

/** Host path of the unix socket of a sandbox's envd (layout.socket() in server/runtime/local). */
export function envdSocket(stateDir, id) {
  return path.join(portalsDir(stateDir), id, 'run', 'envd.sock')
}

/**
 * Starts the manager on a free port with a fresh state dir under /var/tmp, one seeded API key and an
 * admin key, and waits for GET /health. `domain` is --domain: `<port>-<id>.<domain>` hosts are routed.
 * `runtime: 'kube'` runs it on the kube runtime against `kube` (a startKubeEnv() cluster; one is
 * started, and stopped with the manager, when none is given); a second replica shares the first's
 * cluster and keys: startManager({ runtime: 'kube', kube: first.kube, apiKey: first.apiKey, adminKey: first.adminKey }).
 * `tls: { cert, key }` (PEM file paths) adds the TLS listener on another free port: mgr.tlsPort, mgr.tlsUrl.
 * `env` adds environment variables (e.g. SANDBOX_MAX_SANDBOXES_PER_KEY, or the default sandbox limits such as SANDBOX_MEMORY_MB).
 *
 * @returns {Promise<Manager>} see the returned object
 */
export async function startManager({ port, stateDir, apiKey, adminKey, domain, runtime = 'local', kube, tls, env: extraEnv = {} } = {}) {
  const bin = managerBinary()
  const envd = envdBinary()
  let ownKube = false
  if (runtime === 'kube' && !kube) {
    kube = await startKubeEnv()
    ownKube = true
  }
  port ??= await freePort()
  const tlsPort = tls ? await freePort() : undefined
  stateDir ??= fs.mkdtempSync('/var/tmp/manager-e2e-')
  apiKey ??= 'e2b_' + crypto.randomBytes(20).toString('hex')
  adminKey ??= 'adm_' + crypto.randomBytes(16).toString('hex')
  const url = `http://127.0.0.1:${port}`

  const mgr = {
    bin,
    port,
    url,
    tlsPort,
    tlsUrl: tls ? `https://127.0.0.1:${tlsPort}` : undefined,
    stateDir,
    apiKey,
    adminKey,
    child: null,
    exited: null,
    exitPromise: null,
    logText: '',
    stopping: false,
    runtime,
    kube,
    // Where the runtime keeps its sandboxes (one entry per sandbox): the manager's local runtime, or
    // the kube test node's.
    sandboxesDir: runtime === 'kube' ? kube.sandboxesDir : path.join(stateDir, 'runtime', 'sandboxes'),
  }

  async function launch() {
    if ((await health(url)) !== undefined) throw new Error(`something already answers on ${url}`)
    const env = { ...process.env, SANDBOX_API_KEYS: apiKey, SANDBOX_ADMIN_KEY: adminKey, ...extraEnv }
    for (const v of ['SANDBOX_LISTEN', 'SANDBOX_STATE_DIR', 'SANDBOX_DOMAIN']) delete env[v]
    const args = ['serve', '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--envd-bin', envd]
    if (domain) args.push('--domain', domain)
    if (tls) args.push('--tls-listen', `127.0.0.1:${tlsPort}`, '--tls-cert', tls.cert, '--tls-key', tls.key)
    if (runtime === 'kube') {
      args.push('--runtime', 'kube', '--kubeconfig', kube.kubeconfig, '--kube-namespace', kube.namespace,
        '--image-registry', 'registry.test/sandboxstack', '--image-tag', 'e2e', '--replica-id', `e2e-${port}`)
    }
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    mgr.child = child
    mgr.exited = null
    mgr.stopping = false
    const keep = (chunk) => {
      mgr.logText += chunk.toString()
      if (mgr.logText.length > 512 * 1024) mgr.logText = mgr.logText.slice(-256 * 1024)
      if (process.env.E2E_MANAGER_LOG === '1') process.stderr.write(`[manager:${port}] ${chunk}`)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', (err) => { mgr.logText += `spawn error: ${err.message}\n` })
    mgr.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        mgr.exited = { code, signal }
        if (!mgr.stopping) {
          process.stderr.write(`sandbox-manager on :${port} exited unexpectedly (code ${code}, signal ${signal}); last log lines:\n${mgr.logText.split('\n').slice(-30).join('\n')}\n`)
        }
        resolve()
      })
    })
    const deadline = Date.now() + 20_000
    for (;;) {
      if (mgr.exited) throw new Error(`sandbox-manager (${bin} ${args.join(' ')}) exited before it was healthy (code ${mgr.exited.code}, signal ${mgr.exited.signal}):\n${mgr.logText}`)
      const status = await health(url)
      if (status === 200) break
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`sandbox-manager on ${url} did not answer GET /health with 200 within 20 s (last status ${status}):\n${mgr.logText}`)
      }
      await sleep(50)
    }
  }

  async function terminate(signal) {
    if (!mgr.child || mgr.exited) return
    mgr.stopping = true
    mgr.child.kill(signal)
    if (signal === 'SIGKILL') return await mgr.exitPromise
    const done = await exitsWithin(mgr.exitPromise, 10_000)
    if (!done) {
      mgr.child.kill('SIGKILL')
      await mgr.exitPromise
    }
  }

  Object.assign(mgr, {
    log: () => mgr.logText,
    /** Points the SDK (both generations read these per ConnectionConfig) at this manager, not debug mode. */
    useSdkEnv() {
      delete process.env.E2B_DEBUG
      delete process.env.E2B_DOMAIN
      delete process.env.E2B_ACCESS_TOKEN
      process.env.E2B_API_URL = url
      process.env.E2B_SANDBOX_URL = url
      process.env.E2B_API_KEY = apiKey
    },
    /** SIGKILL: the manager dies without cleaning up; its sandboxes keep running. */
    async kill9() { await terminate('SIGKILL') },
    /** Starts the manager again on the same port, state dir and keys. */
    async restart() {
      await terminate('SIGTERM')
      await launch()
    },
    async start() { await launch() },
    /** Admin API call (pools); returns {status, body}. */
    async admin(method, p, body) {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: { Authorization: `Bearer ${adminKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      const text = await res.text()
      let json
      try { json = JSON.parse(text) } catch { json = text }
      return { status: res.status, body: json }
    },
    /** Raw control-plane call with the API key (or `key`); returns {status, body, headers}. */
    async api(method, p, body, key = apiKey) {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: { 'X-API-KEY': key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      const text = await res.text()
      let json
      try { json = JSON.parse(text) } catch { json = text }
      return { status: res.status, body: json, headers: res.headers }
    },
    /** GET on the manager with only the given headers (no API key); returns {status, body, headers}. */
    async get(p, headers = {}) {
      const res = await fetch(`${url}${p}`, { headers })
      const text = await res.text()
      let json
      try { json = JSON.parse(text) } catch { json = text }
      return { status: res.status, body: json, headers: res.headers }
    },
    /** Ids of every sandbox the control plane lists to `key` (all pages, running and paused). */
    async listIds(key = apiKey) {
      const ids = []
      let token
      for (let i = 0; i < 100; i++) {
        const q = new URLSearchParams({ limit: '100', state: 'running,paused' })
        if (token) q.set('nextToken', token)
        const r = await mgr.api('GET', `/v2/sandboxes?${q}`, undefined, key)
        if (r.status !== 200) throw new Error(`list sandboxes: HTTP ${r.status}: ${JSON.stringify(r.body)}`)
        ids.push(...r.body.map((s) => s.sandboxID))
        token = r.headers.get('x-next-token')
        if (!token) break
      }
      return ids
    },
    /** Kills every sandbox of every key (the admin key lists all) and deletes every pool. */
    async killAll() {
      if (mgr.exited || !mgr.child) return
      try {
        const pools = await mgr.admin('GET', '/admin/pools')
        if (Array.isArray(pools.body)) for (const p of pools.body) await mgr.admin('DELETE', `/admin/pools/${p.name}`)
        for (const id of await mgr.listIds(adminKey)) await mgr.api('DELETE', `/sandboxes/${id}`, undefined, adminKey)
      } catch (err) {
        process.stderr.write(`manager killAll: ${err.message}\n`)
      }
    },
    /**
     * Kills every sandbox, stops the manager (SIGTERM, then SIGKILL), SIGKILLs any sandbox process
     * still alive under the state dir and removes the state dir (only when nothing is mounted under it).
     * Returns the sandbox directories that were left behind (empty when the manager cleaned up).
     */
    async stop() {
      await mgr.killAll()
      await terminate('SIGTERM')
      if (ownKube) await kube.stop()
      const sbxDir = path.join(stateDir, 'runtime', 'sandboxes')
      let leftovers = []
      try { leftovers = fs.readdirSync(sbxDir) } catch {}
      for (const pid of [...pidsMentioning(stateDir), ...pidsMentioning(portalsDir(stateDir))]) {
        try { process.kill(pid, 'SIGKILL') } catch {}
      }
      if (mountsUnder(stateDir).length === 0) {
        fs.rmSync(stateDir, { recursive: true, force: true })
      } else {
        process.stderr.write(`manager state dir ${stateDir} left in place: still mounted: ${mountsUnder(stateDir).join(' ')}\n`)
      }
      return leftovers
    },
  })

  await launch()
  return mgr
}
