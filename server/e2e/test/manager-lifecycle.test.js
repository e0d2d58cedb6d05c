// The control plane through the real SDK (spec §2.3, §2.5, §7): create/connect/list/getInfo/setTimeout/
// kill, expiry, errors, isolation as the SDK sees it, warm pools (admin API) and a manager restart
// (SIGKILL, then a new manager on the same state dir). Runs only "through the manager".
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'

import { startManager } from '../lib/manager.js'
import { managerRuntimes } from '../lib/modes.js'
import { rejectsWith, sleep, versions, waitFor } from '../lib/sdk.js'

const T = { timeout: 60_000 }
// One run per manager runtime E2E_MODES asks for: manager (local) and kube.
const runtimes = managerRuntimes()

let mgr

for (const runtime of runtimes.length ? runtimes : [undefined]) describe(`control plane through the manager${runtime === 'kube' ? ' (kube runtime)' : ''}`, { skip: !runtime && 'E2E_MODES excludes manager and kube' }, () => {
  before(async () => {
    mgr = await startManager({ runtime })
    mgr.useSdkEnv()
  })

  after(async () => {
    const leftovers = await mgr?.stop()
    if (leftovers?.length) process.stderr.write(`manager left sandbox directories behind after SIGTERM: ${leftovers.join(' ')}\n`)
  })

  const closeTo = (actual, expected, slackMs, what) =>
    assert.ok(Math.abs(actual - expected) <= slackMs, `${what}: ${new Date(actual).toISOString()} is not within ${slackMs} ms of ${new Date(expected).toISOString()}`)

  for (const [name, sdk] of versions) {
    describe(name, () => {
      const tag = `${name.replace(/[^a-z0-9]/gi, '')}-${crypto.randomBytes(4).toString('hex')}`

      it('create() with defaults: id, template base, running, default 300 s timeout', T, async () => {
        const t0 = Date.now()
        const sbx = await sdk.Sandbox.create()
        try {
          assert.match(sbx.sandboxId, /^[a-z0-9]+$/)
          assert.equal(await sbx.isRunning(), true)
          const info = await sbx.getInfo()
          assert.equal(info.sandboxId, sbx.sandboxId)
          assert.equal(info.templateId, 'base')
          assert.equal(info.state, 'running')
          assert.ok(info.startedAt instanceof Date && info.endAt instanceof Date)
          closeTo(info.startedAt.getTime(), t0, 15_000, 'startedAt')
          // 2.51 omits timeout (server default 300 s); 2.50 always sends 300.
          closeTo(info.endAt.getTime() - info.startedAt.getTime(), 300_000, 2000, 'endAt - startedAt')
          assert.deepEqual(info.metadata, {})
          assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n')
        } finally {
          await sbx.kill()
        }
      })

      it('create({metadata, envs, timeoutMs}): envs reach commands, getInfo reports the rest', T, async () => {
        const sbx = await sdk.Sandbox.create({
          metadata: { suite: tag, 'with space': 'a b=c&d' },
          envs: { E2E_ENV_A: 'alpha', E2E_ENV_B: 'with space' },
          timeoutMs: 120_000,
        })
        try {
          const r = await sbx.commands.run('printf "%s|%s|%s" "$E2E_ENV_A" "$E2E_ENV_B" "$E2B_SANDBOX_ID"')
          assert.equal(r.stdout, `alpha|with space|${sbx.sandboxId}`)
          // A per-command env overrides the sandbox's default.
          assert.equal((await sbx.commands.run('printf %s "$E2E_ENV_A"', { envs: { E2E_ENV_A: 'override' } })).stdout, 'override')
          const info = await sbx.getInfo()
          assert.equal(info.sandboxId, sbx.sandboxId)
          assert.equal(info.templateId, 'base')
          assert.equal(info.state, 'running')
          assert.deepEqual(info.metadata, { suite: tag, 'with space': 'a b=c&d' })
          closeTo(info.endAt.getTime() - info.startedAt.getTime(), 120_000, 2000, 'endAt - startedAt')
          closeTo(info.endAt.getTime(), Date.now() + 120_000, 10_000, 'endAt')
        } finally {
          await sbx.kill()
        }
      })

      it('Sandbox.connect(id) returns a working handle to the same sandbox', T, async () => {
        const sbx = await sdk.Sandbox.create({ timeoutMs: 60_000 })
        try {
          await sbx.files.write('/home/user/connect.txt', 'from the first handle')
          const again = await sdk.Sandbox.connect(sbx.sandboxId)
          assert.equal(again.sandboxId, sbx.sandboxId)
          assert.equal(await again.files.read('/home/user/connect.txt'), 'from the first handle')
          assert.equal((await again.commands.run('hostname')).stdout.trim(), sbx.sandboxId)
          // connect only extends the TTL: default 300 s from now.
          const info = await again.getInfo()
          closeTo(info.endAt.getTime(), Date.now() + 300_000, 10_000, 'endAt after connect')
          await rejectsWith(sdk.Sandbox.connect('nosuchsandbox0000000'), sdk.SandboxNotFoundError, assert)
        } finally {
          await sbx.kill()
        }
      })

      it('list(): metadata and state filters, pagination with limit + nextItems()', T, async () => {
        const created = []
        try {
          for (let i = 0; i < 5; i++) {
            created.push(await sdk.Sandbox.create({ metadata: { suite: tag, list: 'yes', idx: String(i) }, timeoutMs: 120_000 }))
          }
          const ids = created.map((s) => s.sandboxId).sort()
          const other = await sdk.Sandbox.create({ metadata: { suite: tag, list: 'no' }, timeoutMs: 120_000 })
          created.push(other)

          const pages = []
          const pager = sdk.Sandbox.list({ query: { metadata: { suite: tag, list: 'yes' } }, limit: 2 })
          assert.equal(pager.hasNext, true)
          while (pager.hasNext) {
            pages.push(await pager.nextItems())
            assert.ok(pages.length <= 5, 'pagination does not end')
          }
          assert.deepEqual(pages.map((p) => p.length), [2, 2, 1])
          const listed = pages.flat()
          assert.deepEqual(listed.map((s) => s.sandboxId).sort(), ids, 'every page item once, none of the others')
          for (const s of listed) {
            assert.equal(s.state, 'running')
            assert.equal(s.templateId, 'base')
            assert.equal(s.metadata.suite, tag)
            assert.ok(s.startedAt instanceof Date && s.endAt instanceof Date)
          }
          // Default order: newest first.
          const starts = listed.map((s) => s.startedAt.getTime())
          assert.deepEqual(starts, [...starts].sort((a, b) => b - a))

          const single = await sdk.Sandbox.list({ query: { metadata: { suite: tag, idx: '3' } } }).nextItems()
          assert.deepEqual(single.map((s) => s.sandboxId), [created[3].sandboxId])
          const all = await sdk.Sandbox.list({ query: { metadata: { suite: tag } }, limit: 100 }).nextItems()
          assert.equal(all.length, 6)

          const running = await sdk.Sandbox.list({ query: { metadata: { suite: tag }, state: ['running'] } }).nextItems()
          assert.equal(running.length, 6)
          const paused = await sdk.Sandbox.list({ query: { metadata: { suite: tag }, state: ['paused'] } }).nextItems()
          assert.deepEqual(paused, [])
          const none = await sdk.Sandbox.list({ query: { metadata: { suite: 'no-such-suite' } } }).nextItems()
          assert.deepEqual(none, [])
        } finally {
          await Promise.all(created.map((s) => s.kill()))
        }
      })

      it('setTimeout() moves endAt (longer and shorter)', T, async () => {
        const sbx = await sdk.Sandbox.create({ timeoutMs: 60_000 })
        try {
          await sbx.setTimeout(600_000)
          closeTo((await sbx.getInfo()).endAt.getTime(), Date.now() + 600_000, 5000, 'endAt after setTimeout(600 s)')
          await sbx.setTimeout(30_000)
          closeTo((await sbx.getInfo()).endAt.getTime(), Date.now() + 30_000, 5000, 'endAt after setTimeout(30 s)')
          const listed = (await sdk.Sandbox.list({ query: { metadata: {} }, limit: 100 }).nextItems()).find((s) => s.sandboxId === sbx.sandboxId)
          closeTo(listed.endAt.getTime(), Date.now() + 30_000, 5000, 'endAt in list()')
        } finally {
          await sbx.kill()
        }
      })

      it('kill(): true, then false for the same and for an unknown id; the sandbox is gone', T, async () => {
        const sbx = await sdk.Sandbox.create({ metadata: { suite: tag, kill: 'me' } })
        const id = sbx.sandboxId
        assert.equal(await sbx.kill(), true)
        assert.equal(await sdk.Sandbox.kill(id), false)
        assert.equal(await sdk.Sandbox.kill('nosuchsandbox0000000'), false)
        assert.equal(await sbx.isRunning(), false)
        await rejectsWith(sdk.Sandbox.getInfo(id), sdk.SandboxNotFoundError, assert)
        const listed = await sdk.Sandbox.list({ query: { metadata: { suite: tag, kill: 'me' } } }).nextItems()
        assert.deepEqual(listed, [])
        // Sandbox traffic for a killed sandbox: the gateway answers 502, which the SDK reports as a timeout.
        const err = await rejectsWith(sbx.commands.run('true'), sdk.SandboxError, assert)
        assert.ok(err instanceof sdk.TimeoutError || err instanceof sdk.NotFoundError, `expected TimeoutError or NotFoundError, got ${err.constructor.name}: ${err.message}`)
        await rejectsWith(sbx.files.read('/etc/hostname'), sdk.SandboxError, assert)
      })

      it('a sandbox with timeoutMs 3000 expires on its own', T, async () => {
        const sbx = await sdk.Sandbox.create({ timeoutMs: 3000, metadata: { suite: tag, expire: 'yes' } })
        const t0 = Date.now()
        assert.equal((await sbx.commands.run('echo alive')).stdout, 'alive\n')
        await waitFor('the sandbox to expire', async () => !(await sbx.isRunning()), { timeoutMs: 15_000, intervalMs: 250 })
        const took = Date.now() - t0
        assert.ok(took >= 2000, `expired after only ${took} ms`)
        const listed = await sdk.Sandbox.list({ query: { metadata: { suite: tag, expire: 'yes' } } }).nextItems()
        assert.deepEqual(listed, [])
        await rejectsWith(sdk.Sandbox.getInfo(sbx.sandboxId), sdk.SandboxNotFoundError, assert)
        await rejectsWith(sbx.commands.run('true'), sdk.SandboxError, assert)
        assert.equal(await sdk.Sandbox.kill(sbx.sandboxId), false)
      })

      it('errors: bad API key ⇒ AuthenticationError, unknown template ⇒ not found', T, async () => {
        const badKey = 'e2b_' + '0'.repeat(40)
        await rejectsWith(sdk.Sandbox.create({ apiKey: badKey }), sdk.AuthenticationError, assert)
        await rejectsWith(sdk.Sandbox.list({ apiKey: badKey }).nextItems(), sdk.AuthenticationError, assert)
        await rejectsWith(sdk.Sandbox.kill('nosuchsandbox0000000', { apiKey: badKey }), sdk.AuthenticationError, assert)
        const err = await rejectsWith(sdk.Sandbox.create('no-such-template-e2e'), sdk.SandboxError, assert)
        // 2.x maps a create 404 to SandboxError with statusCode 404 (handleApiError, spec §2.1.3).
        assert.equal(err.statusCode, 404, `unknown template: ${err.constructor.name} ${err.statusCode}: ${err.message}`)
        assert.match(err.message, /no-such-template-e2e/)
      })

      describe('isolation as the SDK sees it', () => {
        let a
        let b
        before(async () => {
          ;[a, b] = await Promise.all([sdk.Sandbox.create(), sdk.Sandbox.create()])
        })
        after(async () => {
          await Promise.all([a?.kill(), b?.kill()])
        })

        it("ps shows only the sandbox's own processes", T, async () => {
          const r = await a.commands.run('ps -eo pid=,comm=')
          const procs = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/))
          const comms = procs.map(([, c]) => c)
          assert.ok(procs.length <= 6, `ps shows ${procs.length} processes: ${r.stdout}`)
          assert.deepEqual(procs[0], ['1', 'bwrap'], `pid 1 is the sandbox's init: ${r.stdout}`)
          for (const c of comms) assert.ok(['bwrap', 'envd', 'bash', 'ps'].includes(c), `unexpected process ${c} in ${r.stdout}`)
          assert.ok(!comms.includes('node') && !comms.includes('sandbox-manager'))
          // The other sandbox's processes are not there either.
          const h = await b.commands.run('exec sleep 77', { background: true })
          try {
            assert.equal((await a.commands.run('ps -eo args= | grep -c "[s]leep 77" || true')).stdout.trim(), '0')
            assert.equal((await b.commands.run('ps -eo args= | grep -c "[s]leep 77" || true')).stdout.trim(), '1')
          } finally {
            await b.commands.kill(h.pid)
          }
        })

        it('a file written in sandbox A is invisible in sandbox B and on the host', T, async () => {
          const p = `/home/user/iso-${crypto.randomBytes(4).toString('hex')}.txt`
          await a.files.write(p, 'only in A')
          assert.equal(await a.files.read(p), 'only in A')
          assert.equal(await b.files.exists(p), false)
          await rejectsWith(b.files.read(p), sdk.FileNotFoundError, assert)
          assert.equal(fs.existsSync(p), false)
        })

        it('writes to /etc inside do not reach the host', T, async () => {
          const name = `/etc/x-test-${crypto.randomBytes(4).toString('hex')}`
          await a.commands.run(`echo x > ${name}`, { user: 'root' })
          assert.equal((await a.commands.run(`cat ${name}`)).stdout, 'x\n')
          assert.equal(fs.existsSync(name), false, `${name} appeared on the host`)
          assert.equal(await b.files.exists(name), false)
        })

        it("the manager's port is unreachable from inside (own network namespace)", T, async () => {
          const port = mgr.port
          const err = await rejectsWith(a.commands.run(`timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/${port}'`), sdk.CommandExitError, assert)
          assert.notEqual(err.exitCode, 0)
          const ifaces = (await a.commands.run('cat /proc/net/dev')).stdout
          assert.ok(!/\beth\d|ens\d/.test(ifaces), `sandbox sees host interfaces: ${ifaces}`)
        })
      })
    })
  }

  describe('warm pools (admin API)', () => {
    const [, sdk] = versions[0]
    const pool = `e2e-${crypto.randomBytes(3).toString('hex')}`

    it('admin API needs the admin key', T, async () => {
      const res = await fetch(`${mgr.url}/admin/pools`, { headers: { Authorization: `Bearer ${mgr.apiKey}` } })
      assert.ok(res.status === 401 || res.status === 403, `admin API with the API key: ${res.status}`)
      const ok = await mgr.admin('GET', '/admin/pools')
      assert.equal(ok.status, 200)
      assert.ok(Array.isArray(ok.body))
    })

    it('a pool of 2 fills, serves Sandbox.create() and refills; delete removes it', T, async () => {
      const put = await mgr.admin('PUT', `/admin/pools/${pool}`, { template: 'base', size: 2 })
      assert.equal(put.status, 200, JSON.stringify(put.body))
      assert.equal(put.body.name, pool)
      assert.equal(put.body.template, 'base')
      assert.equal(put.body.size, 2)
      try {
        const ready = async () => (await mgr.admin('GET', `/admin/pools/${pool}`)).body.ready
        await waitFor('pool ready = 2', async () => (await ready()) === 2, { timeoutMs: 20_000, intervalMs: 100 })
        const listed = (await mgr.admin('GET', '/admin/pools')).body.find((p) => p.name === pool)
        assert.deepEqual({ ...listed, timeout: undefined },
          { name: pool, template: 'base', size: 2, ready: 2, timeout: undefined, resources: { cpuMillis: 0, memoryMB: 0 } })
        // Idle pool sandboxes are nobody's yet: list() does not show them (every other test killed its own).
        assert.deepEqual(await sdk.Sandbox.list().nextItems(), [])

        const t0 = performance.now()
        const sbx = await sdk.Sandbox.create({ metadata: { pooled: 'yes' }, envs: { E2E_POOL: 'warm' } })
        const took = performance.now() - t0
        try {
          const created = mgr.log().split('\n').filter((l) => l.includes('"sandbox created"') && l.includes('"part":"manager"') && l.includes(sbx.sandboxId))
          assert.equal(created.length, 1, `manager log for ${sbx.sandboxId}: ${created.join('\n')}`)
          assert.match(created[0], /"fromPool":true/, `create was not served from the pool (took ${took.toFixed(0)} ms): ${created[0]}`)
          // A pooled sandbox still gets the request's metadata and envs.
          assert.deepEqual((await sbx.getInfo()).metadata, { pooled: 'yes' })
          assert.equal((await sbx.commands.run('printf %s "$E2E_POOL"')).stdout, 'warm')
          assert.equal((await sbx.commands.run('printf %s "$E2B_SANDBOX_ID"')).stdout, sbx.sandboxId)
          await waitFor('pool to refill to 2', async () => (await ready()) === 2, { timeoutMs: 20_000, intervalMs: 100 })
        } finally {
          await sbx.kill()
        }
      } finally {
        const del = await mgr.admin('DELETE', `/admin/pools/${pool}`)
        assert.ok(del.status === 204 || del.status === 200, `delete pool: ${del.status} ${JSON.stringify(del.body)}`)
      }
      assert.equal((await mgr.admin('GET', '/admin/pools')).body.some((p) => p.name === pool), false)
      assert.equal((await mgr.admin('GET', `/admin/pools/${pool}`)).status, 404)
      // The pool's idle sandboxes go with it.
      await waitFor('idle pool sandboxes to be removed', () => {
        let n = 0
        try { n = fs.readdirSync(mgr.sandboxesDir).length } catch {}
        return n === 0
      }, { timeoutMs: 15_000, intervalMs: 200 })
    })
  })

  describe('manager restart (SIGKILL, same state dir)', () => {
    for (const [name, sdk] of versions) {
      it(`${name}: the sandbox survives, is listed, runs commands, and its timeout still fires`, T, async () => {
        const tag = crypto.randomBytes(4).toString('hex')
        const sbx = await sdk.Sandbox.create({ timeoutMs: 10_000, metadata: { restart: tag } })
        const t0 = Date.now()
        await sbx.files.write('/home/user/before-restart.txt', 'kept')
        const bg = await sbx.commands.run('sleep 120', { background: true })
        const endAt = (await sbx.getInfo()).endAt.getTime()

        await mgr.kill9()
        assert.equal(await sbx.isRunning().catch(() => false), false, 'nothing answers while the manager is down')
        await mgr.start()

        const listed = await sdk.Sandbox.list({ query: { metadata: { restart: tag } } }).nextItems()
        assert.deepEqual(listed.map((s) => s.sandboxId), [sbx.sandboxId])
        assert.equal(listed[0].endAt.getTime(), endAt, 'endAt unchanged by the restart')
        assert.equal(await sbx.isRunning(), true)
        assert.equal(await sbx.files.read('/home/user/before-restart.txt'), 'kept')
        assert.equal((await sbx.commands.run('echo after-restart')).stdout, 'after-restart\n')
        assert.ok((await sbx.commands.list()).some((p) => p.pid === bg.pid), 'the background process survived the restart')
        assert.ok(Date.now() - t0 < 9000, 'the checks above must run before the timeout')

        await waitFor('the restored sandbox to expire', async () => !(await sbx.isRunning()), { timeoutMs: 20_000, intervalMs: 250 })
        assert.ok(Date.now() >= endAt - 1000, `expired ${endAt - Date.now()} ms before its endAt`)
        assert.deepEqual(await sdk.Sandbox.list({ query: { metadata: { restart: tag } } }).nextItems(), [])
        await sleep(100)
      })
    }

    it('a private sandbox (allowPublicTraffic: false) keeps its traffic token and Host mask across the restart', T, async () => {
      const sdk = versions[0][1]
      const sbx = await sdk.Sandbox.create({ timeoutMs: 60_000, network: { allowPublicTraffic: false, maskRequestHost: 'masked-${PORT}.internal' } })
      try {
        const token = sbx.trafficAccessToken
        assert.match(token ?? '', /^[0-9a-f]{64}$/, 'no trafficAccessToken in the create answer')
        // A server on the sandbox's port 8000 that answers with the Host header it was sent.
        await sbx.files.write('/tmp/host.py', [
          'import http.server as h',
          'class H(h.BaseHTTPRequestHandler):',
          '    def do_GET(self):',
          '        b = self.headers["Host"].encode()',
          '        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)',
          'h.HTTPServer(("127.0.0.1", 8000), H).serve_forever()',
        ].join('\n'))
        await sbx.commands.run('python3 /tmp/host.py', { background: true })
        await sbx.commands.run('for i in $(seq 200); do (echo > /dev/tcp/127.0.0.1/8000) 2>/dev/null && exit 0; sleep 0.05; done; exit 1')
        const routing = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8000' }
        const check = async (when) => {
          for (const headers of [routing, { ...routing, 'e2b-traffic-access-token': sbx.envdAccessToken }]) {
            const refused = await fetch(mgr.url, { headers })
            assert.equal(refused.status, 403, `${when}: ${await refused.text()}`)
          }
          const served = await fetch(mgr.url, { headers: { ...routing, 'e2b-traffic-access-token': token } })
          assert.equal(served.status, 200, when)
          assert.equal(await served.text(), 'masked-8000.internal', `${when}: the Host the sandbox saw`)
        }
        await check('before the restart')
        await mgr.kill9()
        await mgr.start()
        await check('after the restart')
        const again = await sdk.Sandbox.connect(sbx.sandboxId)
        assert.equal(again.trafficAccessToken, token, 'connect answers the same token')
        assert.equal((await sbx.getInfo()).sandboxId, sbx.sandboxId)
      } finally {
        await sbx.kill()
      }
    })
  })
})
