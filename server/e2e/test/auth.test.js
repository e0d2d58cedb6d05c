// envd access token and URL signatures (spec §3.2, §3.6.2, §7 rows envd auth/Health/Download/Upload).
//
// A second envd runs with an access token (handed over in a file) on a free port. Debug mode never has a token, so a
// *secured* sandbox is made by the real SDK against a stand-in control plane (lib/sdk.js
// startMockApi) that returns envdAccessToken, with sandboxUrl pointing at the token envd — exactly
// what happens in production after POST /v2/sandboxes (2.51) or POST /sandboxes (2.50).
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { freePort, startEnvd } from '../lib/envd.js'
import { makeTempDir, rejectsWith, removeTempDir, startMockApi, versions } from '../lib/sdk.js'

const T = { timeout: 30_000 }
const TOKEN = crypto.randomBytes(32).toString('hex')
const SANDBOX_ID = 'e2eauthsbx'

let envd
let api
let root

before(async () => {
  root = makeTempDir('auth')
  envd = await startEnvd({ port: await freePort(), token: TOKEN, workdir: root })
  api = await startMockApi({ sandboxId: SANDBOX_ID, envdVersion: '0.6.4', envdAccessToken: TOKEN })
})

after(async () => {
  await envd?.stop()
  await api?.close()
  removeTempDir(root)
})

/** The signature as spec §3.6.2 defines it (and as the SDK's getSignature computes it). */
function sign(filePath, op, user, token, expiration) {
  let raw = `${filePath}:${op}:${user ?? ''}:${token}`
  if (expiration !== undefined) raw += `:${expiration}`
  return 'v1_' + crypto.createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')
}

function filesUrl(params) {
  const u = new URL('/files', envd.url)
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v))
  return u.toString()
}

async function status(url, init) {
  const res = await fetch(url, init)
  const body = await res.text()
  return { status: res.status, body }
}

function uploadForm(content, name = 'f') {
  const form = new FormData()
  form.append('file', new Blob([content]), name)
  return form
}

describe('raw HTTP against the token-protected envd', () => {
  let dir
  before(() => {
    dir = path.join(root, 'raw')
    fs.mkdirSync(dir, { mode: 0o755 })
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'top secret')
  })

  it('/health needs no token', T, async () => {
    assert.equal((await status(`${envd.url}/health`)).status, 204)
  })

  it('RPC: right X-Access-Token passes, wrong or missing token gets 401 unauthenticated', T, async () => {
    const call = (headers) => fetch(`${envd.url}/process.Process/List`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1', ...headers },
      body: '{}',
    })
    const ok = await call({ 'X-Access-Token': TOKEN })
    assert.equal(ok.status, 200)
    assert.match(ok.headers.get('content-type'), /^application\/json/)
    assert.ok(Array.isArray((await ok.json()).processes ?? []))
    for (const headers of [{ 'X-Access-Token': 'wrong-token' }, {}]) {
      const res = await call(headers)
      assert.equal(res.status, 401)
      const body = await res.json()
      assert.equal(body.code, 'unauthenticated', `Connect error code must be the string: ${JSON.stringify(body)}`)
    }
  })

  it('REST routes other than /health and /files need the token', T, async () => {
    assert.equal((await status(`${envd.url}/envs`)).status, 401)
    assert.equal((await status(`${envd.url}/envs`, { headers: { 'X-Access-Token': 'nope' } })).status, 401)
    const ok = await fetch(`${envd.url}/envs`, { headers: { 'X-Access-Token': TOKEN } })
    assert.equal(ok.status, 200)
    assert.equal(typeof (await ok.json()), 'object')
    const unauth = await fetch(`${envd.url}/metrics`)
    assert.equal(unauth.status, 401)
    assert.equal((await unauth.json()).code, 401)
  })

  it('GET /files: token header, valid signature, wrong/expired/mismatched signature', T, async () => {
    const p = path.join(dir, 'secret.txt')
    const now = Math.floor(Date.now() / 1000)
    // No token, no signature.
    assert.equal((await status(filesUrl({ path: p }))).status, 401)
    // Token header.
    assert.deepEqual(await status(filesUrl({ path: p }), { headers: { 'X-Access-Token': TOKEN } }), { status: 200, body: 'top secret' })
    // Wrong token header ⇒ 401 even with a valid signature.
    assert.equal((await status(filesUrl({ path: p, signature: sign(p, 'read', '', TOKEN) }), { headers: { 'X-Access-Token': 'bad' } })).status, 401)
    // Valid signature without expiration.
    assert.deepEqual(await status(filesUrl({ path: p, signature: sign(p, 'read', '', TOKEN) })), { status: 200, body: 'top secret' })
    // Valid signature with a future expiration.
    assert.deepEqual(await status(filesUrl({ path: p, signature: sign(p, 'read', '', TOKEN, now + 120), signature_expiration: now + 120 })), { status: 200, body: 'top secret' })
    // Signature bound to a user.
    assert.deepEqual(await status(filesUrl({ path: p, username: 'root', signature: sign(p, 'read', 'root', TOKEN) })), { status: 200, body: 'top secret' })
    // Wrong signatures.
    assert.equal((await status(filesUrl({ path: p, signature: sign(p, 'read', '', 'other-token') }))).status, 401)
    assert.equal((await status(filesUrl({ path: p, signature: 'v1_AAAA' }))).status, 401)
    assert.equal((await status(filesUrl({ path: p, signature: sign(p, 'write', '', TOKEN) }))).status, 401, 'a write signature must not allow reads')
    assert.equal((await status(filesUrl({ path: p, signature: sign(path.join(dir, 'other.txt'), 'read', '', TOKEN) }))).status, 401, 'signature of another path')
    assert.equal((await status(filesUrl({ path: p, username: 'root', signature: sign(p, 'read', '', TOKEN) }))).status, 401, 'signature made without the username')
    // Expired (correctly signed, expiration in the past).
    assert.equal((await status(filesUrl({ path: p, signature: sign(p, 'read', '', TOKEN, now - 10), signature_expiration: now - 10 }))).status, 401)
    // Expiration changed after signing.
    assert.equal((await status(filesUrl({ path: p, signature: sign(p, 'read', '', TOKEN, now + 60), signature_expiration: now + 3600 }))).status, 401)
  })

  it('POST /files: valid write signature uploads, others get 401', T, async () => {
    const p = path.join(dir, 'signed-upload.txt')
    const now = Math.floor(Date.now() / 1000)
    const ok = await fetch(filesUrl({ path: p, signature: sign(p, 'write', '', TOKEN, now + 60), signature_expiration: now + 60 }), { method: 'POST', body: uploadForm('signed upload') })
    assert.equal(ok.status, 200)
    assert.equal((await ok.json())[0].path, p)
    assert.equal(fs.readFileSync(p, 'utf8'), 'signed upload')

    const q = path.join(dir, 'rejected-upload.txt')
    for (const params of [
      { path: q },
      { path: q, signature: sign(q, 'read', '', TOKEN) },
      { path: q, signature: sign(q, 'write', '', TOKEN, now - 5), signature_expiration: now - 5 },
    ]) {
      const res = await fetch(filesUrl(params), { method: 'POST', body: uploadForm('nope') })
      assert.equal(res.status, 401, `POST ${JSON.stringify(params)}`)
      await res.arrayBuffer()
    }
    assert.equal(fs.existsSync(q), false)
    const withToken = await fetch(filesUrl({ path: q }), { method: 'POST', body: uploadForm('token upload'), headers: { 'X-Access-Token': TOKEN } })
    assert.equal(withToken.status, 200)
    assert.equal(fs.readFileSync(q, 'utf8'), 'token upload')
  })
})

describe('POST /init sets default env vars served by GET /envs (spec §3.6.4, §3.6.6)', () => {
  const init = (headers, body) => fetch(`${envd.url}/init`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

  it('/init needs the current token; /envs then returns the env vars', T, async () => {
    const denied = await init({ 'X-Access-Token': 'wrong' }, { envVars: { E2E_DEFAULT: 'denied' } })
    assert.equal(denied.status, 401)
    await denied.arrayBuffer()
    const res = await init({ 'X-Access-Token': TOKEN }, { envVars: { E2E_DEFAULT: 'from-init', E2E_OTHER: 'o' } })
    assert.equal(res.status, 204)
    assert.ok(res.headers.get('x-envd-version'), 'X-Envd-Version header')
    const envs = await (await fetch(`${envd.url}/envs`, { headers: { 'X-Access-Token': TOKEN } })).json()
    assert.equal(envs.E2E_DEFAULT, 'from-init')
    assert.equal(envs.E2E_OTHER, 'o')
  })
})

for (const [name, sdk, installed] of versions) {
  describe(name, () => {
    let dir
    const apiOpts = () => ({ debug: false, apiUrl: api.url, sandboxUrl: envd.url, apiKey: process.env.E2B_API_KEY })

    before(() => {
      dir = path.join(root, name.replace(/[^a-z0-9.]/gi, '_'))
      fs.mkdirSync(dir, { mode: 0o755 })
    })

    it('secured sandbox (token from the control plane) runs commands and moves files', T, async () => {
      const n0 = api.requests.length
      const sbx = await sdk.Sandbox.create({ ...apiOpts(), timeoutMs: 60_000 })
      const created = api.requests.slice(n0).map((r) => `${r.method} ${r.path}`)
      // 2.51 is the first release that calls /v2 (spec §0); the loaded package must match its label.
      assert.deepEqual(created, [installed === '2.51.0' ? 'POST /v2/sandboxes' : 'POST /sandboxes'])
      assert.equal(sbx.sandboxId, SANDBOX_ID)
      assert.equal(await sbx.isRunning(), true)

      const r = await sbx.commands.run('echo secured-$((20+22))')
      assert.equal(r.stdout, 'secured-42\n')
      // Default env vars from /init reach commands; request envs win over them (spec §3.3.1).
      const env = await sbx.commands.run('echo "$E2E_DEFAULT|$E2E_OTHER"', { envs: { E2E_OTHER: 'request' } })
      assert.equal(env.stdout, 'from-init|request\n')
      const p = path.join(dir, 'sdk.txt')
      await sbx.files.write(p, 'through the token')
      assert.equal(await sbx.files.read(p), 'through the token')
      assert.equal((await sbx.files.list(dir)).some((e) => e.name === 'sdk.txt'), true)

      const again = await sdk.Sandbox.connect(SANDBOX_ID, apiOpts())
      assert.equal((await again.commands.run('echo reconnected')).stdout, 'reconnected\n')
    })

    it('downloadUrl/uploadUrl are signed and accepted; tampering is rejected', T, async () => {
      const sbx = await sdk.Sandbox.create(apiOpts())
      const p = path.join(dir, 'signed.txt')
      fs.writeFileSync(p, 'signed content')

      const plain = await sbx.downloadUrl(p)
      const pu = new URL(plain)
      assert.equal(pu.searchParams.get('signature'), sign(p, 'read', '', TOKEN), 'SDK signature matches the spec formula')
      assert.equal(pu.searchParams.get('signature_expiration'), null)
      assert.deepEqual(await status(plain), { status: 200, body: 'signed content' })

      const expiring = await sbx.downloadUrl(p, { useSignatureExpiration: 120 })
      const eu = new URL(expiring)
      const exp = Number(eu.searchParams.get('signature_expiration'))
      assert.ok(Math.abs(exp - (Math.floor(Date.now() / 1000) + 120)) <= 5, `expiration ${exp}`)
      assert.deepEqual(await status(expiring), { status: 200, body: 'signed content' })

      const asRoot = await sbx.downloadUrl(p, { user: 'root', useSignatureExpiration: 60 })
      assert.equal(new URL(asRoot).searchParams.get('username'), 'root')
      assert.deepEqual(await status(asRoot), { status: 200, body: 'signed content' })

      const tampered = new URL(expiring)
      tampered.searchParams.set('path', path.join(dir, 'other.txt'))
      assert.equal((await status(tampered)).status, 401)
      const extended = new URL(expiring)
      extended.searchParams.set('signature_expiration', String(exp + 1000))
      assert.equal((await status(extended)).status, 401)

      const up = path.join(dir, 'signed-up.txt')
      const uploadUrl = await sbx.uploadUrl(up, { useSignatureExpiration: 60 })
      assert.ok(new URL(uploadUrl).searchParams.get('signature').startsWith('v1_'))
      const res = await fetch(uploadUrl, { method: 'POST', body: uploadForm('via signed upload url', 'signed-up.txt') })
      assert.equal(res.status, 200)
      assert.equal((await res.json())[0].path, up)
      assert.equal(fs.readFileSync(up, 'utf8'), 'via signed upload url')
      // The read signature of the same path does not allow writing.
      const wrongOp = new URL(await sbx.downloadUrl(up))
      const bad = await fetch(wrongOp, { method: 'POST', body: uploadForm('nope') })
      assert.equal(bad.status, 401)
    })

    it('an SDK sandbox without the token gets AuthenticationError', T, async () => {
      // Debug sandbox (no token) pointed at the token-protected envd.
      const sbx = await sdk.Sandbox.create({ sandboxUrl: envd.url })
      assert.equal(sbx.sandboxId, 'debug_sandbox_id')
      assert.equal(await sbx.isRunning(), true, '/health is exempt')
      await rejectsWith(sbx.commands.run('echo should-not-run'), sdk.AuthenticationError, assert)
      await rejectsWith(sbx.commands.list(), sdk.AuthenticationError, assert)
      await rejectsWith(sbx.files.list(dir), sdk.AuthenticationError, assert)
      await rejectsWith(sbx.files.makeDir(path.join(dir, 'unauth-dir')), sdk.AuthenticationError, assert)
      await rejectsWith(sbx.files.read(path.join(dir, 'signed.txt')), sdk.AuthenticationError, assert)
      await rejectsWith(sbx.files.write(path.join(dir, 'unauth.txt'), 'x'), sdk.AuthenticationError, assert)
      assert.equal(fs.existsSync(path.join(dir, 'unauth.txt')), false)
      assert.equal(fs.existsSync(path.join(dir, 'unauth-dir')), false)
    })
  })
}
