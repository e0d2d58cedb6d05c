// PTYs through sandbox.pty: Start with pty, SendInput{pty}, Update (resize), SendSignal
// (spec §3.3.1, §3.3.4, §3.3.7, §7 row PTY).
// Runs in both modes (lib/modes.js): against a debug envd on this host, and through the manager.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { modes } from '../lib/modes.js'
import { rejectsWith, versions, waitFor } from '../lib/sdk.js'

const T = { timeout: 30_000 }
const enc = new TextEncoder()

// Bash's line editor wraps each command in escape sequences (e.g. bracketed paste `ESC[?2004l`
// followed by `\r`), so output lines are matched after removing CSI sequences, and a line may
// start after `\r` as well as `\n`.
const stripCsi = (s) => s.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, '')

/** Collects a PTY's output and waits for patterns in what arrived after a mark. */
function terminal() {
  const dec = new TextDecoder()
  let text = ''
  return {
    onData: (bytes) => {
      assert.ok(bytes instanceof Uint8Array, 'onData receives bytes')
      text += dec.decode(bytes, { stream: true })
    },
    get text() { return text },
    mark() { return text.length },
    async expect(re, from = 0, what = String(re)) {
      return await waitFor(`terminal output matching ${what}`, () => stripCsi(text.slice(from)).match(re), { timeoutMs: 10_000 })
    },
  }
}

for (const mode of modes('pty')) {
  describe(mode.name, () => {
    before(() => mode.setup())
    after(() => mode.teardown())

    for (const [name, sdk] of versions) {
      describe(name, () => {
        let sbx
        let dir

        before(async () => {
          sbx = await mode.create(sdk)
          ;({ dir } = await mode.prepare(sbx, name))
        })

        it('create, sendInput, resize, kill', T, async () => {
          const term = terminal()
          const h = await sbx.pty.create({ cols: 80, rows: 24, onData: term.onData, cwd: dir, envs: { E2E_PTY: 'on' } })
          assert.equal(typeof h.pid, 'number')
          assert.ok(h.pid > 0)
          try {
            // The PTY is a command too: List shows the interactive login shell the SDK asked for.
            const listed = (await sbx.commands.list()).find((p) => p.pid === h.pid)
            assert.ok(listed, 'PTY process in commands.list()')
            assert.equal(listed.cmd, '/bin/bash')
            assert.deepEqual(listed.args, ['-i', '-l'])

            let m = term.mark()
            await sbx.pty.sendInput(h.pid, enc.encode('echo hello\n'))
            // The terminal echoes the typed line ("echo hello"), then the command prints "hello" on its own line.
            await term.expect(/(^|[\r\n])hello\r?\n/, m, "'hello' on its own line")

            m = term.mark()
            await sbx.pty.sendInput(h.pid, enc.encode('echo "[$TERM|$E2E_PTY|$PWD]"; stty size\n'))
            await term.expect(new RegExp(`\\[xterm-256color\\|on\\|${dir.replace(/[.]/g, '\\.')}\\]\\r?\\n24 80\\r?\\n`), m, 'TERM, envs, cwd and initial size 24 80')

            await sbx.pty.resize(h.pid, { cols: 100, rows: 30 })
            m = term.mark()
            await sbx.pty.sendInput(h.pid, enc.encode('stty size\n'))
            await term.expect(/(^|[\r\n])30 100\r?\n/, m, "'30 100' after resize")

            assert.equal(await sbx.pty.kill(h.pid), true)
            const err = await rejectsWith(h.wait(), sdk.CommandExitError, assert)
            assert.notEqual(err.exitCode, 0)
            await waitFor('killed PTY to leave list()', async () => !(await sbx.commands.list()).some((p) => p.pid === h.pid))
            assert.equal(await sbx.pty.kill(h.pid), false)
          } finally {
            await sbx.pty.kill(h.pid).catch(() => {})
          }
        })

        it('a PTY that exits reports its exit code; input reaches programs reading the terminal', T, async () => {
          const term = terminal()
          const h = await sbx.pty.create({ cols: 40, rows: 10, onData: term.onData, cwd: dir })
          try {
            const m = term.mark()
            // `read` consumes a line typed on the terminal, as an interactive program would.
            await sbx.pty.sendInput(h.pid, enc.encode('read -r line; echo "got:$line"\n'))
            await sbx.pty.sendInput(h.pid, enc.encode('typed-text\n'))
            await term.expect(/got:typed-text\r?\n/, m)
            await sbx.pty.sendInput(h.pid, enc.encode('exit 7\n'))
            const err = await rejectsWith(h.wait(), sdk.CommandExitError, assert)
            assert.equal(err.exitCode, 7)
          } finally {
            await sbx.pty.kill(h.pid).catch(() => {})
          }
        })
      })
    }
  })
}
