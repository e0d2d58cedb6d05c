// The ways the envd test files run: against a bare envd in SDK debug mode (results checked on this
// host's filesystem), through the sandbox manager (a real sandbox with its own filesystem: results
// are checked inside it, with commands the SDK runs there), and through the manager on the kube
// runtime (E2E_MODES=kube: a real kube-apiserver, sandboxes as pods run by the test node). E2E_MODES
// is a comma-separated list of debug, manager and kube; debug,manager by default.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { startEnvd } from './envd.js'
import { startManager } from './manager.js'
import { makeTempDir, removeTempDir } from './sdk.js'

function setDebugEnv() {
  process.env.E2B_DEBUG = 'true'
  process.env.E2B_API_KEY = 'e2b_' + '0123456789abcdef'.repeat(3).slice(0, 40)
  for (const v of ['E2B_SANDBOX_URL', 'E2B_API_URL', 'E2B_DOMAIN', 'E2B_ACCESS_TOKEN']) delete process.env[v]
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`

/** Filesystem and process checks on this host, where the debug envd runs (as root). */
function hostChecks() {
  return {
    async write(p, data) { fs.writeFileSync(p, data) },
    async append(p, data) { fs.appendFileSync(p, data) },
    async read(p) { return fs.readFileSync(p) },
    async readText(p) { return fs.readFileSync(p, 'utf8') },
    async sha(p) { return crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex') },
    async mkdir(p, { recursive = false, mode = 0o755 } = {}) { fs.mkdirSync(p, { recursive, mode }) },
    async chmod(p, mode) { fs.chmodSync(p, mode) },
    async utimes(p, date) { fs.utimesSync(p, date, date) },
    async symlink(target, p) { fs.symlinkSync(target, p) },
    async stat(p) {
      const st = fs.statSync(p)
      return { uid: st.uid, size: st.size, isDir: st.isDirectory() }
    },
    async exists(p) { return fs.existsSync(p) },
    async proc(pid, file) {
      try { return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8') } catch { return null }
    },
    async passwd() { return fs.readFileSync('/etc/passwd', 'utf8') },
  }
}

/**
 * The same checks inside a sandbox, through commands the SDK runs there as `user` (the owner of the
 * test directories, so that sandbox calls with the default user may write into them). Reads use
 * base64/sha256sum in the sandbox, not the files API under test.
 */
function sandboxChecks(sbx, user) {
  const sh = async (script) => {
    const r = await sbx.commands.run(script, { user, cwd: '/' })
    return r.stdout
  }
  const put = (p, data, op) => {
    const b64 = Buffer.from(data).toString('base64')
    return sh(`printf %s ${q(b64)} | base64 -d ${op} ${q(p)}`)
  }
  return {
    async write(p, data) { await put(p, data, '>') },
    async append(p, data) { await put(p, data, '>>') },
    async read(p) { return Buffer.from((await sh(`base64 -w0 ${q(p)}`)).trim(), 'base64') },
    async readText(p) { return (await this.read(p)).toString('utf8') },
    async sha(p) { return (await sh(`sha256sum ${q(p)}`)).split(' ')[0] },
    async mkdir(p, { recursive = false, mode = 0o755 } = {}) {
      await sh(`mkdir ${recursive ? '-p ' : ''}-m ${mode.toString(8)} ${q(p)}`)
    },
    async chmod(p, mode) { await sh(`chmod ${mode.toString(8)} ${q(p)}`) },
    async utimes(p, date) { await sh(`touch -h -d @${date.getTime() / 1000} ${q(p)}`) },
    async symlink(target, p) { await sh(`ln -s ${q(target)} ${q(p)}`) },
    async stat(p) {
      const [uid, size, type] = (await sh(`stat -L -c '%u %s %F' ${q(p)}`)).trim().split(' ')
      return { uid: Number(uid), size: Number(size), isDir: type === 'directory' }
    },
    async exists(p) { return (await sh(`test -e ${q(p)} && echo yes || echo no`)).trim() === 'yes' },
    async proc(pid, file) {
      const out = await sh(`cat /proc/${Number(pid)}/${file} 2>/dev/null && echo '<ok>' || echo '<none>'`)
      return out.endsWith('<ok>\n') ? out.slice(0, -5) : null
    },
    async passwd() { return await sh('cat /etc/passwd') },
  }
}

/**
 * A mode: setup()/teardown() for a before/after hook, create(sdk) for a sandbox, prepare(sbx, dir)
 * for a per-SDK test directory with checks, and the values that differ between modes.
 */
function debugMode(prefix) {
  let envd
  const mode = {
    name: 'debug envd',
    manager: false,
    root: undefined,
    workdir: undefined,
    owner: 'root', // envd runs as root on this host; host-side files are root's
    ownerUid: 0,
    async setup() {
      setDebugEnv()
      mode.root = makeTempDir(prefix)
      mode.workdir = mode.root
      envd = await startEnvd({ workdir: mode.root })
      mode.envd = envd
    },
    async teardown() {
      await envd?.stop()
      removeTempDir(mode.root)
    },
    async create(sdk) {
      setDebugEnv()
      return await sdk.Sandbox.create()
    },
    async prepare(sbx, label) {
      const dir = path.join(mode.root, label.replace(/[^a-z0-9.]/gi, '_'))
      fs.mkdirSync(dir, { mode: 0o755 })
      return { dir, host: hostChecks() }
    },
  }
  return mode
}

function managerMode(prefix, runtime = 'local') {
  let mgr
  const mode = {
    name: runtime === 'kube' ? 'through the manager (kube runtime)' : 'through the manager',
    manager: true,
    root: `/home/user/e2e-${prefix}`,
    workdir: '/home/user',
    owner: 'user', // the sandbox's default user, who runs the in-sandbox checks
    ownerUid: undefined,
    async setup() {
      mgr = await startManager({ runtime })
      mode.mgr = mgr
      mgr.useSdkEnv()
    },
    async teardown() {
      await mgr?.stop()
    },
    async create(sdk) {
      mgr.useSdkEnv()
      return await sdk.Sandbox.create()
    },
    async prepare(sbx, label) {
      const dir = path.join(mode.root, label.replace(/[^a-z0-9.]/gi, '_'))
      const host = sandboxChecks(sbx, mode.owner)
      await host.mkdir(dir, { recursive: true })
      mode.ownerUid = (await host.stat(dir)).uid
      return { dir, host }
    },
  }
  return mode
}

function wantedModes() {
  return (process.env.E2E_MODES ?? 'debug,manager').split(',').map((s) => s.trim())
}

/** The modes to run (E2E_MODES=debug,manager by default), each a fresh object per test file. */
export function modes(prefix) {
  const want = wantedModes()
  const out = []
  if (want.includes('debug')) out.push(debugMode(prefix))
  if (want.includes('manager')) out.push(managerMode(prefix))
  if (want.includes('kube')) out.push(managerMode(prefix, 'kube'))
  return out
}

/** The manager runtimes E2E_MODES asks for: 'local' for manager, 'kube' for kube. */
export function managerRuntimes() {
  const want = wantedModes()
  const out = []
  if (want.includes('manager')) out.push('local')
  if (want.includes('kube')) out.push('kube')
  return out
}
