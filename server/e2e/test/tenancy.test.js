// Tenancy through the manager, with the real SDK (DESIGN: "each API key is a team"): two API keys,
// neither of which can list, read (token included), connect to, time out, measure or kill the other's
// sandboxes; a foreign sandbox is answered exactly as a missing one (404), so IDs cannot be probed;
// the admin key sees both. Ownership survives a manager restart and, on the kube runtime, holds on
// another replica. The limits: a maximum timeout and a maximum of running sandboxes per key.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { startManager } from '../lib/manager.js'
import { managerRuntimes } from '../lib/modes.js'
import { rejectsWith, versions } from '../lib/sdk.js'

const T = { timeout: 120_000 }
const runtimes = managerRuntimes()
const MAX_PER_KEY = 3
const MAX_TIMEOUT_S = 3600
const UNKNOWN_ID = 'inosuchsandbox0000000'

for (const runtime of runtimes.length ? runtimes : [undefined]) describe(`tenancy through the manager${runtime === 'kube' ? ' (kube runtime)' : ''}`, { skip: !runtime && 'E2E_MODES excludes manager and kube' }, () => {
  let mgr
  let keyA
  let keyB

  before(async () => {
    mgr = await startManager({
      runtime,
      env: { SANDBOX_MAX_SANDBOXES_PER_KEY: String(MAX_PER_KEY), SANDBOX_MAX_TIMEOUT: `${MAX_TIMEOUT_S}s` },
    })
    mgr.useSdkEnv()
    keyA = mgr.apiKey
    const created = await mgr.admin('POST', '/admin/keys', { name: 'team-b' })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    keyB = created.body.key
  })

  after(async () => {
    await mgr?.stop()
  })

  /** The raw answer to GET /sandboxes/{id} with key, and the same for a missing id (its id swapped in). */
  async function infoAsAndAsMissing(id, key) {
    const foreign = await mgr.api('GET', `/sandboxes/${id}`, undefined, key)
    const missing = await mgr.api('GET', `/sandboxes/${UNKNOWN_ID}`, undefined, key)
    return { foreign, missing: JSON.parse(JSON.stringify(missing.body).replaceAll(UNKNOWN_ID, id)), missingStatus: missing.status }
  }

  /** Asserts that `key` is refused `id` everywhere, exactly as for a missing sandbox. */
  async function assertRefused(sdk, id, key, owner) {
    const o = { apiKey: key }
    const ids = (await sdk.Sandbox.list({ ...o, limit: 100 }).nextItems()).map((s) => s.sandboxId)
    assert.ok(!ids.includes(id), `another key lists ${id}`)
    await rejectsWith(sdk.Sandbox.getInfo(id, o), sdk.SandboxNotFoundError, assert)
    await rejectsWith(sdk.Sandbox.connect(id, o), sdk.SandboxNotFoundError, assert)
    await rejectsWith(sdk.Sandbox.setTimeout(id, 1000, o), sdk.SandboxNotFoundError, assert)
    await rejectsWith(sdk.Sandbox.getMetrics(id, o), sdk.SandboxNotFoundError, assert)
    assert.equal(await sdk.Sandbox.kill(id, o), false, 'kill() by another key must report "not found"')

    const { foreign, missing, missingStatus } = await infoAsAndAsMissing(id, key)
    assert.equal(foreign.status, 404)
    assert.equal(foreign.status, missingStatus)
    assert.deepEqual(foreign.body, missing, 'a foreign sandbox must be answered exactly as a missing one')
    for (const [method, path, body] of [
      ['POST', `/v2/sandboxes/${id}/connect`, { timeout: 60 }],
      ['POST', `/sandboxes/${id}/connect`, { timeout: 60 }],
      ['POST', `/sandboxes/${id}/timeout`, { timeout: 1 }],
      ['GET', `/sandboxes/${id}/metrics`],
      ['GET', `/v2/sandboxes/${id}/logs`],
      ['DELETE', `/sandboxes/${id}`],
    ]) {
      const r = await mgr.api(method, path, body, key)
      assert.equal(r.status, 404, `${method} ${path} by another key: ${r.status} ${JSON.stringify(r.body)}`)
      assert.ok(!JSON.stringify(r.body).includes('envdAccessToken'))
    }
    // Still there, still the owner's, with its timeout untouched by the other key's calls.
    const info = await sdk.Sandbox.getInfo(id, { apiKey: owner })
    assert.equal(info.sandboxId, id)
    assert.ok(info.endAt.getTime() - Date.now() > 60_000, `endAt moved by another key: ${info.endAt.toISOString()}`)
  }

  for (const [name, sdk] of versions) {
    it(`${name}: two keys neither see nor control each other's sandboxes; the admin key sees both`, T, async () => {
      const a = await sdk.Sandbox.create({ apiKey: keyA })
      const b = await sdk.Sandbox.create({ apiKey: keyB })
      try {
        await assertRefused(sdk, b.sandboxId, keyA, keyB)
        await assertRefused(sdk, a.sandboxId, keyB, keyA)
        // Each owner still drives its sandbox.
        assert.equal((await a.commands.run('echo a')).stdout, 'a\n')
        assert.equal((await b.commands.run('echo b')).stdout, 'b\n')
        const listedA = (await sdk.Sandbox.list({ apiKey: keyA }).nextItems()).map((s) => s.sandboxId)
        assert.deepEqual(listedA, [a.sandboxId])
        // The admin key, as an ordinary E2B_API_KEY, sees and controls both.
        const admin = { apiKey: mgr.adminKey }
        const all = (await sdk.Sandbox.list(admin).nextItems()).map((s) => s.sandboxId)
        assert.ok(all.includes(a.sandboxId) && all.includes(b.sandboxId), `admin lists ${all}`)
        assert.equal((await sdk.Sandbox.getInfo(b.sandboxId, admin)).sandboxId, b.sandboxId)
        assert.equal(await sdk.Sandbox.kill(b.sandboxId, admin), true)
        assert.equal(await sdk.Sandbox.kill(b.sandboxId, { apiKey: keyB }), false)
      } finally {
        await sdk.Sandbox.kill(a.sandboxId, { apiKey: keyA })
        await sdk.Sandbox.kill(b.sandboxId, { apiKey: keyB })
      }
    })
  }

  const [, sdk] = versions[0]

  it(`a key runs at most ${MAX_PER_KEY} sandboxes: the next create gets 429 (RateLimitError); other keys are not limited`, T, async () => {
    const mine = []
    try {
      for (let i = 0; i < MAX_PER_KEY; i++) mine.push(await sdk.Sandbox.create({ apiKey: keyA }))
      const err = await rejectsWith(sdk.Sandbox.create({ apiKey: keyA }), sdk.RateLimitError, assert)
      assert.match(err.message, new RegExp(`maximum number of concurrent sandboxes for this API key \\(${MAX_PER_KEY}\\)`))
      const raw = await mgr.api('POST', '/v2/sandboxes', {}, keyA)
      assert.equal(raw.status, 429)
      assert.equal(raw.body.code, 429)
      const other = await sdk.Sandbox.create({ apiKey: keyB })
      await other.kill()
      // A kill frees a slot.
      await mine.shift().kill()
      mine.push(await sdk.Sandbox.create({ apiKey: keyA }))
    } finally {
      for (const s of mine) await s.kill()
    }
  })

  it(`timeouts beyond the maximum (${MAX_TIMEOUT_S} s) are refused with 400`, T, async () => {
    const err = await rejectsWith(sdk.Sandbox.create({ apiKey: keyA, timeoutMs: (MAX_TIMEOUT_S + 1) * 1000 }), sdk.SandboxError, assert)
    assert.match(err.message, /^400: timeout cannot be greater than 3600 seconds/)
    const sbx = await sdk.Sandbox.create({ apiKey: keyA, timeoutMs: MAX_TIMEOUT_S * 1000 })
    try {
      await rejectsWith(sbx.setTimeout(2 * MAX_TIMEOUT_S * 1000), sdk.SandboxError, assert)
      const info = await sbx.getInfo()
      assert.ok(info.endAt.getTime() - info.startedAt.getTime() <= MAX_TIMEOUT_S * 1000 + 1000)
    } finally {
      await sbx.kill()
    }
  })

  it('ownership survives a manager restart', T, async () => {
    const a = await sdk.Sandbox.create({ apiKey: keyA })
    try {
      await mgr.restart()
      await assertRefused(sdk, a.sandboxId, keyB, keyA)
      assert.equal((await a.commands.run('echo still-mine')).stdout, 'still-mine\n')
      const admin = (await sdk.Sandbox.list({ apiKey: mgr.adminKey }).nextItems()).map((s) => s.sandboxId)
      assert.ok(admin.includes(a.sandboxId))
    } finally {
      await sdk.Sandbox.kill(a.sandboxId, { apiKey: keyA })
    }
  })

  if (runtime === 'kube') {
    it('ownership holds on another replica (the owner is on the pod)', T, async () => {
      const replica = await startManager({ runtime: 'kube', kube: mgr.kube, apiKey: mgr.apiKey, adminKey: mgr.adminKey })
      const a = await sdk.Sandbox.create({ apiKey: keyA })
      try {
        const onReplica = (opts) => ({ ...opts, apiUrl: replica.url, sandboxUrl: replica.url })
        // Key B was created through the first replica's admin API; the second knows it too.
        const listedB = await sdk.Sandbox.list(onReplica({ apiKey: keyB })).nextItems()
        assert.ok(!listedB.some((s) => s.sandboxId === a.sandboxId))
        await rejectsWith(sdk.Sandbox.getInfo(a.sandboxId, onReplica({ apiKey: keyB })), sdk.SandboxNotFoundError, assert)
        assert.equal(await sdk.Sandbox.kill(a.sandboxId, onReplica({ apiKey: keyB })), false)
        const raw = await replica.api('GET', `/sandboxes/${a.sandboxId}`, undefined, keyB)
        assert.equal(raw.status, 404)
        const mine = await sdk.Sandbox.getInfo(a.sandboxId, onReplica({ apiKey: keyA }))
        assert.equal(mine.sandboxId, a.sandboxId)
        const viaReplica = await sdk.Sandbox.connect(a.sandboxId, onReplica({ apiKey: keyA }))
        assert.equal((await viaReplica.commands.run('echo replica')).stdout, 'replica\n')
      } finally {
        await sdk.Sandbox.kill(a.sandboxId, { apiKey: keyA })
        await replica.stop()
      }
    })
  }
})
