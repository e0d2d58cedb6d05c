// Harness: starts and stops the envd binary under test. It builds nothing: `make build` (or
// `go build -o bin/envd ./server/cmd/envd`) produces the binary, ENVD_BIN names it.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

// The port the SDK's debug mode talks to (http://localhost:49983).
export const ENVD_PORT = 49983

/** Absolute path of the envd binary under test, or a thrown Error that says how to get one. */
export function envdBinary() {
  const bin = process.env.ENVD_BIN
  if (!bin) {
    throw new Error('ENVD_BIN is not set: build envd with `make build` (it writes bin/envd) and run with ENVD_BIN=/path/to/bin/envd')
  }
  const abs = path.resolve(bin)
  try {
    fs.accessSync(abs, fs.constants.X_OK)
  } catch {
    throw new Error(`ENVD_BIN=${bin} is not an executable file: build envd with \`make build\` first`)
  }
  return abs
}

/** A TCP port nobody listens on right now. */
export async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

async function healthStatus(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })
    await res.arrayBuffer().catch(() => {})
    return res.status
  } catch {
    return undefined
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Whether `exited` (a child's exit promise) settles within ms. The timer is cleared when it does: a
 * pending timer keeps the test file's process alive, and node --test waits for that process to end.
 */
export async function exitsWithin(exited, ms) {
  let timer
  const timedOut = new Promise((r) => { timer = setTimeout(() => r(false), ms) })
  try {
    return await Promise.race([exited.then(() => true), timedOut])
  } finally {
    clearTimeout(timer)
  }
}

// A bare envd runs commands as login shells of this host's users, so they read this host's profile. Where
// root's profile runs `pyenv init` (as on our CI machines), each login shell takes pyenv's rehash lock and
// frees it from an EXIT trap. The suite SIGKILLs process groups (timeoutMs, kill, PTY kill), and a shell
// killed while it holds the lock leaves the lock behind: every later login shell then waits 60 s for it and
// every command test in debug mode times out. A sandbox never sees this (it has a home of its own), so the
// harness removes such a leftover lock before and after each envd, unless a rehash is running right now.
function clearStaleRehashLock() {
  // The profile puts pyenv under the home in the password database (envd's HOME for root), whatever this
  // process's own HOME or PYENV_ROOT say.
  const lock = path.join(os.userInfo().homedir, '.pyenv', 'shims', '.pyenv-shim')
  if (!fs.existsSync(lock) || rehashRunning()) return
  fs.rmSync(lock, { force: true })
}

function rehashRunning() {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pyenv-rehash')) return true
    } catch {
      // the process ended while we looked
    }
  }
  return false
}

/**
 * Starts envd and waits until GET /health answers 204.
 *
 * @param {object} [opts]
 * @param {number} [opts.port] port to listen on, loopback only (default 49983, the SDK debug port)
 * @param {string} [opts.token] access token (handed over in a root-only file that is removed once envd
 *   has read it); without one envd runs with --insecure-no-token, as the SDK's debug mode needs
 * @param {string} [opts.defaultUser] --default-user
 * @param {string} [opts.workdir] --workdir
 * @returns {Promise<{pid:number, port:number, url:string, token?:string, log:()=>string, stop:()=>Promise<void>}>}
 */
export async function startEnvd({ port = ENVD_PORT, token, defaultUser, workdir } = {}) {
  const bin = envdBinary()
  if ((await healthStatus(port)) !== undefined) {
    throw new Error(`something already answers on port ${port} (a leftover envd?): stop it first, the suite must test the binary at ${bin}`)
  }
  clearStaleRehashLock()
  const args = ['--listen', `127.0.0.1:${port}`]
  if (defaultUser) args.push('--default-user', defaultUser)
  if (workdir) args.push('--workdir', workdir)
  let tokenDir
  if (token) {
    tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'envd-token-'))
    fs.writeFileSync(path.join(tokenDir, 'token'), token, { mode: 0o600 })
    args.push('--access-token-file', path.join(tokenDir, 'token'))
  } else {
    args.push('--insecure-no-token')
  }
  const env = { ...process.env }
  delete env.ENVD_ACCESS_TOKEN
  delete env.ENVD_LISTEN

  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let logText = ''
  const keep = (chunk) => {
    logText += chunk.toString()
    if (logText.length > 256 * 1024) logText = logText.slice(-128 * 1024)
    if (process.env.E2E_ENVD_LOG === '1') process.stderr.write(`[envd:${port}] ${chunk}`)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  let stopping = false
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      if (!stopping) {
        process.stderr.write(`envd on :${port} exited unexpectedly (code ${code}, signal ${signal}); last log lines:\n${logText.split('\n').slice(-30).join('\n')}\n`)
      }
      resolve()
    })
  })
  child.on('error', (err) => {
    logText += `spawn error: ${err.message}\n`
  })

  const deadline = Date.now() + 15_000
  for (;;) {
    if (exited) {
      throw new Error(`envd (${bin} ${args.join(' ')}) exited before it was healthy (code ${exited.code}, signal ${exited.signal}):\n${logText}`)
    }
    const status = await healthStatus(port)
    if (status === 204) {
      if (tokenDir) fs.rmSync(tokenDir, { recursive: true, force: true })
      break
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`envd on :${port} did not answer GET /health with 204 within 15 s (last status ${status}):\n${logText}`)
    }
    await sleep(50)
  }

  return {
    pid: child.pid,
    port,
    url: `http://localhost:${port}`,
    token,
    log: () => logText,
    async stop() {
      if (exited) return
      stopping = true
      child.kill('SIGTERM')
      const killed = await exitsWithin(exitPromise, 5000)
      if (!killed) {
        child.kill('SIGKILL')
        await exitPromise
      }
      clearStaleRehashLock()
    },
  }
}
