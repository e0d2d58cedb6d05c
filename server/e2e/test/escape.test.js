// The sandbox boundary of the local runtime, attacked from inside sandboxes through the real SDK, as the
// sandbox's user and as root: host files, host root, seccomp, the host's loopback (the manager), other
// sandboxes, and the limits (fork bomb, memory, disk, /dev/shm). Every attempt fails, outbound traffic to
// a server of this test (in a network namespace it makes, never the outside world) works, and the host,
// the manager and a second sandbox keep working. Runs only through the manager on the local runtime.
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'

import { startManager } from '../lib/manager.js'
import { managerRuntimes } from '../lib/modes.js'
import { versions, waitFor } from '../lib/sdk.js'

const T = { timeout: 60_000 }
const [, sdk] = versions[0]
const local = managerRuntimes().includes('local')
const SECRET = `sandboxstack-escape-${crypto.randomBytes(6).toString('hex')}`
const PLANTED = ['/etc', '/var/lib', '/root'].map((d) => `${d}/${SECRET}`)
// Small limits, so that reaching them is quick and cheap for the machine.
const LIMITS = { SANDBOX_MEMORY_MB: '256', SANDBOX_DISK_MB: '128', SANDBOX_PIDS: '256', SANDBOX_CPU_MILLIS: '1000' }

/** Runs cmd in the sandbox and returns {exitCode, stdout, stderr} whatever the exit code. */
async function sh(sbx, cmd, opts = {}) {
  try {
    return await sbx.commands.run(cmd, { timeoutMs: 50_000, ...opts })
  } catch (err) {
    if (err instanceof sdk.CommandExitError) return { exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr }
    throw err
  }
}

/**
 * A TCP server in a network namespace of this test, joined to the host by a veth pair: an address the
 * host routes to that is not on its loopback. Test traffic stays on this machine.
 */
function netnsServer(greeting) {
  const id = crypto.randomBytes(4).toString('hex')
  const ns = `sbxe${id}`
  const hostIf = `sbxh${id}`
  const n = 1 + (parseInt(id.slice(0, 2), 16) % 200)
  const hostIP = `198.19.${n}.1`
  const nsIP = `198.19.${n}.2`
  const port = 40000 + (parseInt(id.slice(2, 6), 16) % 20000)
  const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  ip('netns', 'add', ns)
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `sbxn${id}`, 'netns', ns)
  ip('addr', 'add', `${hostIP}/30`, 'dev', hostIf)
  ip('link', 'set', hostIf, 'up')
  ip('-n', ns, 'addr', 'add', `${nsIP}/30`, 'dev', `sbxn${id}`)
  ip('-n', ns, 'link', 'set', `sbxn${id}`, 'up')
  const script = `require('net').createServer((s) => s.end(${JSON.stringify(greeting + '\n')})).listen(${port}, ${JSON.stringify(nsIP)}, () => console.log('ready'))`
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const ready = new Promise((resolve, reject) => {
    child.stdout.once('data', resolve)
    child.once('exit', (code) => reject(new Error(`netns server exited with ${code}`)))
  })
  return {
    ip: nsIP,
    port,
    ready,
    stop() {
      child.kill('SIGKILL')
      try { ip('link', 'del', hostIf) } catch {}
      try { ip('netns', 'del', ns) } catch {}
    },
  }
}

describe('escaping a local sandbox', { skip: !local && 'E2E_MODES excludes manager' }, () => {
  let mgr
  let a
  let b
  let server

  before(async () => {
    for (const p of PLANTED) fs.writeFileSync(p, SECRET, { mode: 0o644 })
    server = netnsServer('outbound ok')
    await server.ready
    mgr = await startManager({ env: LIMITS })
    mgr.useSdkEnv()
    ;[a, b] = await Promise.all([sdk.Sandbox.create(), sdk.Sandbox.create()])
  })

  after(async () => {
    for (const p of PLANTED) fs.rmSync(p, { force: true })
    server?.stop()
    await mgr?.stop()
  })

  it('reports the limits it applies', T, async () => {
    const info = await mgr.api('GET', `/sandboxes/${a.sandboxId}`)
    assert.equal(info.status, 200)
    assert.equal(info.body.memoryMB, 256)
    assert.equal(info.body.diskSizeMB, 128)
    assert.equal(info.body.cpuCount, 1)
    assert.equal(info.body.allowInternetAccess, true)
  })

  for (const user of ['user', 'root']) {
    it(`${user}: the host's files beyond the allowlist are absent`, T, async () => {
      for (const p of PLANTED) {
        const r = await sh(a, `cat ${p}`, { user })
        assert.notEqual(r.exitCode, 0, `${user} reads ${p}`)
        assert.ok(!r.stdout.includes(SECRET))
      }
      const found = await sh(a, `grep -rl ${SECRET} /etc /var /root /home /opt /tmp /run 2>/dev/null; true`, { user })
      assert.equal(found.stdout, '')
      for (const p of ['/etc/ssl/private', '/etc/ssh', '/var/lib/dpkg', '/run/sandboxstack', mgr.stateDir]) {
        assert.notEqual((await sh(a, `ls -d ${p}`, { user })).exitCode, 0, `${p} exists inside`)
      }
    })

    it(`${user}: a seccomp filter is in force and user namespaces are refused`, T, async () => {
      assert.equal((await sh(a, 'grep ^Seccomp: /proc/self/status', { user })).stdout, 'Seccomp:\t2\n')
      assert.notEqual((await sh(a, 'unshare --user --map-root-user true', { user })).exitCode, 0)
    })

    it(`${user}: the host's loopback (the manager) is unreachable, the outside is reachable`, T, async () => {
      for (const host of ['127.0.0.1', '10.0.2.2']) {
        const r = await sh(a, `timeout 5 bash -c 'echo > /dev/tcp/${host}/${mgr.port}'`, { user })
        assert.notEqual(r.exitCode, 0, `the manager's port ${mgr.port} answers at ${host} from inside`)
      }
      const r = await sh(a, `timeout 10 bash -c 'exec 3<>/dev/tcp/${server.ip}/${server.port}; cat <&3'`, { user })
      assert.equal(r.stdout, 'outbound ok\n', r.stderr)
    })
  }

  it('allowInternetAccess: false and network.denyOut block the same server; allowOut reopens it', T, async () => {
    const reach = `timeout 5 bash -c 'exec 3<>/dev/tcp/${server.ip}/${server.port}; cat <&3'`
    const cases = [
      [{ allowInternetAccess: false }, false, false],
      [{ network: { denyOut: [`${server.ip}/32`] } }, false, true],
      [{ allowInternetAccess: false, network: { allowOut: [server.ip] } }, true, false],
    ]
    for (const [opts, reaches, internet] of cases) {
      const sbx = await sdk.Sandbox.create(opts)
      try {
        const r = await sh(sbx, reach)
        assert.equal(r.exitCode === 0 && r.stdout === 'outbound ok\n', reaches, `${JSON.stringify(opts)}: ${r.stdout} ${r.stderr}`)
        const info = await mgr.api('GET', `/sandboxes/${sbx.sandboxId}`)
        assert.equal(info.body.allowInternetAccess, internet, JSON.stringify(info.body))
        if (opts.network?.denyOut) assert.deepEqual(info.body.network.denyOut, opts.network.denyOut)
      } finally {
        await sbx.kill()
      }
    }
    const bad = await mgr.api('POST', '/v2/sandboxes', { templateID: 'base', network: { denyOut: ['example.com'] } })
    assert.equal(bad.status, 400, JSON.stringify(bad.body))
  })

  it('root inside is an unprivileged host uid, and its writes stay in the sandbox', T, async () => {
    const map = (await sh(a, 'cat /proc/self/uid_map', { user: 'root' })).stdout.trim().split(/\s+/)
    assert.equal(map[0], '0')
    assert.notEqual(map[1], '0', 'uid 0 inside is uid 0 on the host')
    assert.equal(map[2], '65536')
    const marker = `/usr/bin/${SECRET}`
    assert.equal((await sh(a, `touch ${marker} && echo made`, { user: 'root' })).stdout, 'made\n')
    assert.equal(fs.existsSync(marker), false, 'root inside created a file on the host')
    assert.notEqual((await sh(b, `ls ${marker}`, { user: 'root' })).exitCode, 0, 'the other sandbox sees it')
    const caps = (await sh(a, "awk '/^CapEff/{print $2}' /proc/self/status", { user: 'root' })).stdout.trim()
    const CAP_SYS_ADMIN = 21n
    const CAP_NET_ADMIN = 12n
    assert.equal((BigInt('0x' + caps) >> CAP_SYS_ADMIN) & 1n, 0n, `CapEff ${caps} has CAP_SYS_ADMIN`)
    assert.equal((BigInt('0x' + caps) >> CAP_NET_ADMIN) & 1n, 0n, `CapEff ${caps} has CAP_NET_ADMIN`)
  })

  it('another sandbox cannot be reached: its envd port inside is the sandbox\'s own', T, async () => {
    await sh(b, 'echo b-only > /tmp/b-mark')
    // 127.0.0.1:49983 inside A is A's envd: it does not know B's file.
    const r = await sh(a, 'cat /tmp/b-mark')
    assert.notEqual(r.exitCode, 0)
    const own = await sh(a, "timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/49983; printf \"GET /health HTTP/1.0\\r\\n\\r\\n\" >&3; head -1 <&3'")
    assert.match(own.stdout, /^HTTP\/1\.[01] 204/)
  })

  it('a fork bomb, a memory hog and a full disk and /dev/shm stay inside the sandbox', { timeout: 120_000 }, async () => {
    await sh(a, "timeout 15 bash -c 'b(){ b|b& }; b' >/dev/null 2>&1; true")
    assert.equal((await sh(a, 'echo alive', { user: 'root' })).stdout, 'alive\n', 'envd no longer runs commands after the fork bomb')
    await sh(a, 'kill -9 -1') // the bomb's leftovers (and this command)

    const hog = await sh(a, 'head -c 2G /dev/zero | tail > /dev/null')
    assert.notEqual(hog.exitCode, 0, 'a command holding 2 GiB ran to completion under a 256 MiB limit')

    for (const p of ['/home/user/fill', '/tmp/fill', '/dev/shm/fill']) {
      const r = await sh(a, `dd if=/dev/zero of=${p} bs=1M count=1024 2>&1; rm -f ${p}`)
      assert.match(r.stdout, /No space left|Cannot allocate/, `writing 1 GiB to ${p}: ${r.stdout}`)
    }
    assert.equal((await sh(a, 'echo alive')).stdout, 'alive\n')
    assert.equal((await sh(b, 'echo neighbour')).stdout, 'neighbour\n')
    const health = await fetch(`${mgr.url}/health`)
    assert.equal(health.status, 200)
    // A new sandbox starts and runs a command.
    const c = await sdk.Sandbox.create()
    try {
      assert.equal((await sh(c, 'echo fresh')).stdout, 'fresh\n')
    } finally {
      await c.kill()
    }
  })

  it('the host keeps no trace of the sandbox once it is killed', T, async () => {
    const id = a.sandboxId
    await a.kill()
    await waitFor('the sandbox directory gone', async () => !fs.existsSync(`${mgr.sandboxesDir}/${id}`), { timeoutMs: 20_000 })
  })
})
