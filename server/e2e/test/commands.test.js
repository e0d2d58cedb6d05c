// process.Process through sandbox.commands: Start (foreground/background), Connect, List, SendInput,
// CloseStdin, SendSignal, deadlines, env/cwd/user (spec §3.3, §7 rows Run command/Attach/Process
// list/Stdin/Kill process).
// Runs in both modes (lib/modes.js): against a debug envd on this host, and through the manager.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { modes } from '../lib/modes.js'
import { rejectsWith, versions, waitFor } from '../lib/sdk.js'

const T = { timeout: 30_000 }
// envd only knows the processes it started, so this pid is unknown to it whatever runs on the host.
const UNKNOWN_PID = 999_999

for (const mode of modes('commands')) {
  describe(mode.name, () => {
    before(() => mode.setup())
    after(() => mode.teardown())

    for (const [name, sdk] of versions) {
      describe(name, () => {
        let sbx
        let dir
        let host

        before(async () => {
          sbx = await mode.create(sdk)
          ;({ dir, host } = await mode.prepare(sbx, name))
        })

        it('sandbox is running (GET /health)', T, async () => {
          if (mode.manager) {
            assert.match(sbx.sandboxId, /^[a-z0-9]+$/)
            assert.notEqual(sbx.sandboxId, 'debug_sandbox_id')
          } else {
            assert.equal(sbx.sandboxId, 'debug_sandbox_id')
          }
          assert.equal(await sbx.isRunning(), true)
        })

        it('foreground run returns stdout, stderr and exit code 0', T, async () => {
          const r = await sbx.commands.run('echo out-1; echo err-1 >&2; printf "no newline"')
          assert.equal(r.exitCode, 0)
          assert.equal(r.stdout, 'out-1\nno newline')
          assert.equal(r.stderr, 'err-1\n')
          assert.equal(r.error, undefined)
        })

        it('runs /bin/bash as a login shell in the default workdir', T, async () => {
          // `--workdir` is the directory an empty cwd resolves to (spec §3.2).
          const r = await sbx.commands.run('echo "$0|$PWD|$(shopt -q login_shell && echo login)"')
          assert.equal(r.stdout, `/bin/bash|${mode.workdir}|login\n`)
        })

        it('non-zero exit raises CommandExitError with exitCode, stdout, stderr', T, async () => {
          const err = await rejectsWith(sbx.commands.run('echo partial; echo broken >&2; exit 3'), sdk.CommandExitError, assert)
          assert.equal(err.exitCode, 3)
          assert.equal(err.stdout, 'partial\n')
          assert.equal(err.stderr, 'broken\n')
          assert.equal(err.error, 'exit status 3')
          assert.ok(err instanceof sdk.SandboxError)
        })

        it('envs and cwd apply to the command', T, async () => {
          const r = await sbx.commands.run('printf "%s|%s|%s" "$E2E_A" "$E2E_B" "$PWD"', {
            envs: { E2E_A: 'alpha', E2E_B: 'with space=and=equals' },
            cwd: dir,
          })
          assert.equal(r.stdout, `alpha|with space=and=equals|${dir}`)
        })

        it("user 'nobody' and user 'root' run as that user", T, async () => {
          const nobody = await sbx.commands.run('whoami; id -u; echo "$HOME|$USER"', { user: 'nobody', cwd: '/' })
          const home = (await host.passwd()).split('\n').find((l) => l.startsWith('nobody:')).split(':')[5]
          assert.equal(nobody.stdout, `nobody\n65534\n${home}|nobody\n`)
          const rootUser = await sbx.commands.run('whoami; id -u', { user: 'root' })
          assert.equal(rootUser.stdout, 'root\n0\n')
        })

        it('unknown user is rejected with AuthenticationError', T, async () => {
          // spec §3.2: unknown user ⇒ unauthenticated (`invalid username`), which the SDK maps to AuthenticationError.
          await rejectsWith(sbx.commands.run('true', { user: 'no-such-user-e2e' }), sdk.AuthenticationError, assert)
        })

        it('onStdout/onStderr stream output before the command ends', T, async () => {
          const seen = []
          const t0 = Date.now()
          const r = await sbx.commands.run('echo early; sleep 1.5; echo mid >&2; sleep 1.5; echo late', {
            onStdout: (d) => seen.push({ at: Date.now(), stream: 'stdout', d }),
            onStderr: (d) => seen.push({ at: Date.now(), stream: 'stderr', d }),
          })
          const end = Date.now()
          assert.equal(r.stdout, 'early\nlate\n')
          assert.equal(r.stderr, 'mid\n')
          const early = seen.find((s) => s.stream === 'stdout' && s.d.includes('early'))
          const mid = seen.find((s) => s.stream === 'stderr' && s.d.includes('mid'))
          assert.ok(early && mid, `callbacks saw ${JSON.stringify(seen)}`)
          assert.ok(end - early.at >= 2500, `'early' arrived ${end - early.at} ms before the end (started ${early.at - t0} ms in): output is not streamed`)
          assert.ok(end - mid.at >= 1000, `'mid' arrived only ${end - mid.at} ms before the end`)
          assert.equal(seen.filter((s) => s.stream === 'stdout').map((s) => s.d).join(''), 'early\nlate\n')
        })

        it('background command: connect(pid) from another handle sees its output and exit', T, async () => {
          const h = await sbx.commands.run('sleep 1; echo "late-$E2E_X"; sleep 0.5; echo done; exit 0', {
            background: true,
            envs: { E2E_X: 'bg' },
          })
          assert.equal(typeof h.pid, 'number')
          assert.ok(h.pid > 0)
          assert.equal(h.exitCode, undefined, 'still running')
          await h.disconnect()
          const chunks = []
          const c = await sbx.commands.connect(h.pid, { onStdout: (d) => chunks.push(d) })
          assert.equal(c.pid, h.pid)
          const r = await c.wait()
          assert.equal(r.exitCode, 0)
          assert.equal(r.stdout, 'late-bg\ndone\n')
          assert.equal(chunks.join(''), 'late-bg\ndone\n')
        })

        it('connect(pid) shortly after exit replays the end event', T, async () => {
          const h = await sbx.commands.run('echo bye; exit 4', { background: true })
          await rejectsWith(h.wait(), sdk.CommandExitError, assert)
          const c = await sbx.commands.connect(h.pid)
          const err = await rejectsWith(c.wait(), sdk.CommandExitError, assert)
          assert.equal(err.exitCode, 4)
        })

        it('connect to an unknown pid fails with NotFoundError', T, async () => {
          await rejectsWith(sbx.commands.connect(UNKNOWN_PID), sdk.NotFoundError, assert)
        })

        it('list() shows a running process; kill() returns true, then false', T, async () => {
          const h = await sbx.commands.run('sleep 30', { background: true, envs: { E2E_LIST: 'yes' }, cwd: dir })
          const procs = await sbx.commands.list()
          const p = procs.find((x) => x.pid === h.pid)
          assert.ok(p, `pid ${h.pid} not in list ${JSON.stringify(procs)}`)
          assert.equal(p.cmd, '/bin/bash')
          assert.deepEqual(p.args, ['-l', '-c', 'sleep 30'])
          assert.equal(p.envs.E2E_LIST, 'yes')
          assert.equal(p.cwd, dir)
          assert.equal(p.tag, undefined)

          // stdin was not requested (the SDK sends stdin:false): input is refused.
          await rejectsWith(sbx.commands.sendStdin(h.pid, 'x'), sdk.SandboxError, assert)

          assert.equal(await sbx.commands.kill(h.pid), true)
          const err = await rejectsWith(h.wait(), sdk.CommandExitError, assert)
          assert.notEqual(err.exitCode, 0)
          await waitFor('killed process to leave list()', async () => !(await sbx.commands.list()).some((x) => x.pid === h.pid))
          assert.equal((await host.proc(h.pid, 'cmdline'))?.includes('sleep') ?? false, false)
          assert.equal(await sbx.commands.kill(UNKNOWN_PID), false)
        })

        it('sendStdin and closeStdin feed a process started with stdin:true', T, async () => {
          const out = []
          const h = await sbx.commands.run('cat; echo "[eof]"', { background: true, stdin: true, onStdout: (d) => out.push(d) })
          await sbx.commands.sendStdin(h.pid, 'hello\n')
          await waitFor("cat to echo 'hello'", () => out.join('').includes('hello\n'))
          await h.sendStdin(new TextEncoder().encode('bytes ✓\n'))
          await waitFor("cat to echo 'bytes ✓'", () => out.join('').includes('bytes ✓\n'))
          await sbx.commands.closeStdin(h.pid)
          const r = await h.wait()
          assert.equal(r.exitCode, 0)
          assert.equal(r.stdout, 'hello\nbytes ✓\n[eof]\n')
        })

        it('timeoutMs raises TimeoutError and kills the process', T, async () => {
          const pidFile = path.join(dir, 'timeout.pid')
          // The host's login shell (debug mode) can take over a second to start on a loaded machine: the
          // deadline must leave it time to write the pid file.
          const timeoutMs = mode.manager ? 2000 : 5000
          const t0 = Date.now()
          // exec: the pid envd started is the sleeping process itself.
          const err = await rejectsWith(sbx.commands.run(`echo $$ > ${pidFile}; exec sleep 30`, { timeoutMs }), sdk.TimeoutError, assert)
          const took = Date.now() - t0
          assert.ok(took >= timeoutMs - 100 && took < timeoutMs + 13_000, `took ${took} ms for a ${timeoutMs} ms timeout (${err.message})`)
          const pid = Number((await host.readText(pidFile)).trim())
          assert.ok(pid > 0)
          await waitFor(`pid ${pid} to be gone after the timeout`, async () => {
            const stat = await host.proc(pid, 'stat')
            return stat === null || stat.split(') ')[1]?.startsWith('Z') // a zombie is dead too
          }, { timeoutMs: 5000 })
          assert.equal((await sbx.commands.list()).some((p) => p.pid === pid), false)
        })
      })
    }
  })
}
