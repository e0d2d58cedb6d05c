// Harness: a Kubernetes control plane for the kube runtime's e2e runs. It starts `kube-testenv`
// (internal/testing/kubeharness/cmd/kube-testenv: etcd + kube-apiserver on loopback, the repository's
// CRDs, namespaces and RBAC manifests, and the test node agent that runs sandbox pods as local sandboxes at
// 127.x pod IPs) and reads the JSON line it prints when ready. It builds nothing: KUBE_TESTENV_BIN
// names the binary (default: kube-testenv beside ENVD_BIN); kube-apiserver comes from
// `make kube-apiserver`.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

import { envdBinary, exitsWithin } from './envd.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** Mount points (from /proc/self/mountinfo) under dir: the roots of sandboxes still alive. */
function mountsUnder(dir) {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
  } catch {
    return []
  }
}

/** Absolute path of kube-testenv, or a thrown Error that says how to get one. */
export function kubeTestenvBinary() {
  let bin = process.env.KUBE_TESTENV_BIN
  if (!bin && process.env.ENVD_BIN) bin = path.join(path.dirname(process.env.ENVD_BIN), 'kube-testenv')
  const how = 'build it with `go build -o bin/kube-testenv ./internal/testing/kubeharness/cmd/kube-testenv` (and `make kube-apiserver`), or set KUBE_TESTENV_BIN'
  if (!bin) throw new Error(`KUBE_TESTENV_BIN is not set: ${how}`)
  const abs = path.resolve(bin)
  try {
    fs.accessSync(abs, fs.constants.X_OK)
  } catch {
    throw new Error(`kube-testenv ${abs} is not an executable file: ${how}`)
  }
  return abs
}

/**
 * Starts a test cluster with a node agent. The returned object has kubeconfig (admin), apiserver,
 * sandboxesDir (where the node's local runtime keeps its sandboxes: empty when no pod runs) and stop().
 */
export async function startKubeEnv() {
  const bin = kubeTestenvBinary()
  const dir = fs.mkdtempSync('/var/tmp/kube-e2e-')
  const nodeState = path.join(dir, 'node')
  fs.mkdirSync(path.join(dir, 'cluster'))
  const manifests = ['deploy/crds', 'deploy/namespaces.yaml', 'deploy/rbac'].map((p) => path.join(repoRoot, p)).join(',')
  const args = ['--dir', path.join(dir, 'cluster'), '--state-dir', nodeState, '--envd-bin', envdBinary(), '--manifests', manifests]
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let logText = ''
  child.stderr.on('data', (chunk) => {
    logText += chunk.toString()
    if (logText.length > 512 * 1024) logText = logText.slice(-256 * 1024)
    if (process.env.E2E_KUBE_LOG === '1') process.stderr.write(`[kube-testenv] ${chunk}`)
  })
  let exited = null
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve() }))

  const ready = await new Promise((resolve, reject) => {
    exitPromise.then(() => { if (mountsUnder(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true }) })
    const timer = setTimeout(() => reject(new Error(`kube-testenv did not get ready within 3 minutes:\n${logText}`)), 180_000)
    const lines = readline.createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      try {
        const info = JSON.parse(line)
        if (info.kubeconfig) {
          clearTimeout(timer)
          resolve(info)
        }
      } catch {}
    })
    exitPromise.then(() => {
      clearTimeout(timer)
      reject(new Error(`kube-testenv (${bin} ${args.join(' ')}) exited (${JSON.stringify(exited)}) before it was ready:\n${logText}`))
    })
  })

  return {
    kubeconfig: ready.kubeconfig,
    apiserver: ready.apiserver,
    namespace: 'sandboxes',
    sandboxesDir: path.join(nodeState, 'sandboxes'),
    log: () => logText,
    /** Stops the node (and its sandboxes), the API server and etcd, and removes the directory. */
    async stop() {
      if (!exited) {
        child.stdin.end()
        child.kill('SIGTERM')
        const done = await exitsWithin(exitPromise, 60_000)
        if (!done) {
          child.kill('SIGKILL')
          await exitPromise
        }
      }
      if (mountsUnder(dir).length === 0) {
        fs.rmSync(dir, { recursive: true, force: true })
      } else {
        process.stderr.write(`kube-testenv dir ${dir} left in place: still mounted: ${mountsUnder(dir).join(' ')}\n`)
      }
    },
  }
}
