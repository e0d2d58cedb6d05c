// Shared test setup: both SDK generations in debug mode, temp dirs, polling, a stand-in control plane.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import * as e2b251 from 'e2b'
import * as e2b250 from 'e2b-v250'

// Debug mode (spec §1.5): Sandbox.create() makes no API call and envd is http://localhost:49983.
// The SDK reads these when each ConnectionConfig is built, so setting them here, before any sandbox
// exists, is enough. Nothing from the caller's environment may redirect the SDK elsewhere.
process.env.E2B_DEBUG = 'true'
process.env.E2B_API_KEY = 'e2b_' + '0123456789abcdef'.repeat(3).slice(0, 40)
for (const v of ['E2B_SANDBOX_URL', 'E2B_API_URL', 'E2B_DOMAIN', 'E2B_ACCESS_TOKEN']) delete process.env[v]

const here = path.dirname(fileURLToPath(import.meta.url))

function installedVersion(dir) {
  return JSON.parse(fs.readFileSync(path.join(here, '..', 'node_modules', dir, 'package.json'), 'utf8')).version
}

/** [label, module, installed version] for every SDK generation the suite runs against. */
export const versions = [
  ['e2b@2.51.0', e2b251, installedVersion('e2b')],
  ['e2b@2.50.0', e2b250, installedVersion('e2b-v250')],
]

/**
 * A fresh directory for one test file. Under /var/tmp, not /tmp: /tmp may be tmpfs, which has no
 * user xattrs (file metadata). Mode 0755 so that other users (nobody) can traverse it.
 */
export function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join('/var/tmp', `envd-e2e-${prefix}-`))
  fs.chmodSync(dir, 0o755)
  return dir
}

export function removeTempDir(dir) {
  if (dir && dir.startsWith('/var/tmp/envd-e2e-')) fs.rmSync(dir, { recursive: true, force: true })
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls fn until it returns a truthy value; throws with `what` after timeoutMs. */
export async function waitFor(what, fn, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      last = await fn()
      if (last) return last
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
    await sleep(intervalMs)
  }
}

/** Asserts that promise rejects with an instance of cls; returns the error. */
export async function rejectsWith(promise, cls, assert) {
  let err
  try {
    await promise
  } catch (e) {
    err = e
  }
  assert.ok(err, `expected a ${cls.name}, but the call succeeded`)
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`)
  return err
}

export async function readStream(stream) {
  const chunks = []
  for await (const c of stream) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

/**
 * A stand-in control plane that answers create/connect (both generations, spec §2.3.1–2) with a
 * sandbox that has an envd access token. It lets the real SDK create a *secured* sandbox — the only
 * way to get one, since debug mode never has a token — so its token headers and signed URLs are
 * exercised exactly as in production.
 */
export async function startMockApi({ sandboxId, envdVersion, envdAccessToken }) {
  const requests = []
  const body = () => JSON.stringify({
    sandboxID: sandboxId,
    templateID: 'base',
    alias: 'base',
    clientID: 'e2eclient',
    envdVersion,
    envdAccessToken,
    trafficAccessToken: null,
    domain: null,
  })
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => { raw += c })
    req.on('end', () => {
      requests.push({ method: req.method, path: req.url, apiKey: req.headers['x-api-key'], body: raw })
      const url = new URL(req.url, 'http://x')
      let status = 404
      if (req.method === 'POST' && /^\/(v2\/)?sandboxes$/.test(url.pathname)) status = 201
      else if (req.method === 'POST' && /^\/(v2\/)?sandboxes\/[^/]+\/connect$/.test(url.pathname)) status = 200
      else if (req.method === 'DELETE' && /^\/sandboxes\/[^/]+$/.test(url.pathname)) {
        res.writeHead(204).end()
        return
      }
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(status === 404 ? JSON.stringify({ code: 404, message: 'not found' }) : body())
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r) }),
  }
}
