// The sandbox boundary around envd, through the real SDKs and the manager (local runtime; kube too
// when E2E_MODES names it): sandbox code, as `user` and as root, cannot find envd's access token
// anywhere it can look; envd's file work for a user has that user's permissions; a user process that
// flips symlinks while uploads run never redirects a write outside its target.
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { Sandbox as CodeInterpreter } from '@e2b/code-interpreter'
import { Sandbox } from 'e2b'

import { startManager } from '../lib/manager.js'

const T = { timeout: 300_000 }
const modes = (process.env.E2E_MODES ?? 'debug,manager').split(',').map((s) => s.trim())
const runtimes = [modes.includes('manager') && 'local', modes.includes('kube') && 'kube'].filter(Boolean)
const probeSource = fs.readFileSync(new URL('../lib/tokenprobe.py', import.meta.url), 'utf8')

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex')
const randomHex = () => crypto.randomBytes(32).toString('hex')

// Decoys the probe must find, so that "not found" means something: a process of the probing user
// with a secret in its environment and one with a secret only in its memory (read from stdin).
function decoyShell(envDecoy, memDecoy) {
  return `DECOY=${envDecoy} sleep 300 </dev/null >/dev/null 2>&1 &
echo ${memDecoy} | python3 -c 'import sys, time; s = sys.stdin.readline().strip() * 1; time.sleep(300)' >/dev/null 2>&1 &
sleep 1`
}

for (const runtime of runtimes) {
  describe(`envd's token and files are out of the sandbox's reach (${runtime} runtime)`, () => {
    let mgr
    let sbx
    let token

    before(async () => {
      mgr = await startManager({ runtime })
      mgr.useSdkEnv()
      sbx = await Sandbox.create({ timeoutMs: 600_000 })
      const detail = await mgr.api('GET', `/sandboxes/${sbx.sandboxId}`)
      token = detail.body.envdAccessToken
      assert.match(token ?? '', /^[0-9a-f]{64}$/, `sandbox detail has no 64-hex envdAccessToken: ${JSON.stringify(detail.body)}`)
      await sbx.files.write('/tmp/tokenprobe.py', probeSource)
    })

    after(async () => {
      await sbx?.kill().catch(() => {})
      await mgr?.stop()
    })

    for (const user of ['user', 'root']) {
      it(`as ${user}: not in any environment, command line, descriptor, memory or file`, T, async () => {
        const envDecoy = randomHex()
        const memDecoy = randomHex()
        const digests = `token=${sha256(token)} env_decoy=${sha256(envDecoy)} mem_decoy=${sha256(memDecoy)}`
        const r = await sbx.commands.run(`${decoyShell(envDecoy, memDecoy)}\npython3 /tmp/tokenprobe.py ${digests}`, { user, timeoutMs: 240_000 })
        const out = JSON.parse(r.stdout.trim().split('\n').pop())
        assert.deepEqual(out.found.token, [], `the token was found as ${user} at ${out.found.token}`)
        assert.ok(out.found.env_decoy.some((w) => w.startsWith('environ:')), `the probe missed an environment: ${JSON.stringify(out)}`)
        assert.ok(out.found.mem_decoy.some((w) => w.startsWith('mem:')), `the probe missed a process's memory: ${JSON.stringify(out)}`)
        assert.ok(out.read.files > 10, `the probe read too few files: ${JSON.stringify(out.read)}`)
      })
    }

    it('a download of a root-only file as user is refused; as root it works', T, async () => {
      await sbx.commands.run('echo root-only > /etc/root-only && chmod 600 /etc/root-only', { user: 'root' })
      await assert.rejects(sbx.files.read('/etc/root-only', { user: 'user' }), (err) => {
        assert.match(String(err.message ?? err), /permission denied|403/i)
        return true
      })
      assert.equal(await sbx.files.read('/etc/root-only', { user: 'root' }), 'root-only\n')
      // Writes, directories, moves and removals for user have user's permissions too.
      await assert.rejects(sbx.files.write('/etc/by-user', 'x', { user: 'user' }))
      await assert.rejects(sbx.files.makeDir('/etc/dir-by-user', { user: 'user' }))
      await assert.rejects(sbx.files.rename('/etc/root-only', '/home/user/stolen', { user: 'user' }))
      await assert.rejects(sbx.files.remove('/etc/root-only', { user: 'user' }))
      const ls = await sbx.commands.run('ls /etc/by-user /etc/dir-by-user /home/user/stolen 2>&1; cat /etc/root-only', { user: 'root' }).catch((e) => e)
      assert.match(ls.stdout, /root-only\n$/)
      assert.doesNotMatch(ls.stdout, /^\/etc\/by-user$|^\/home\/user\/stolen$/m)
    })

    it('a user flipping symlinks during uploads never redirects a write outside its target', T, async (t) => {
      await sbx.commands.run('echo original > /etc/victim && chmod 644 /etc/victim', { user: 'root' })
      await sbx.commands.run('mkdir -p /home/user/race/dir && : > /home/user/race/target', { user: 'user' })
      // As user: swap the upload target for a link to a root-owned file, and a directory on the
      // upload path for a link to /etc, as fast as it can.
      const flipper = await sbx.commands.run(`cd /home/user/race
while :; do
  ln -sfn /etc/victim t.tmp && mv -Tf t.tmp target
  rm -f t.tmp; : > t.tmp && mv -Tf t.tmp target
  ln -sfn /etc d.tmp && mv -Tf d.tmp dir
  rm -rf d.tmp; mkdir d.tmp && mv -Tf d.tmp dir 2>/dev/null || { rm -rf dir; mv d.tmp dir; }
done`, { user: 'user', background: true, timeoutMs: 0 })
      let written = 0
      let refused = 0
      try {
        for (let i = 0; i < 60; i++) {
          const user = i % 2 ? 'root' : 'user'
          const results = await Promise.allSettled([
            sbx.files.write('/home/user/race/target', `pwned-${i}`, { user }),
            sbx.files.write('/home/user/race/dir/victim', `pwned-${i}`, { user }),
            sbx.files.write([{ path: '/home/user/race/target', data: `pwned-${i}` }], { user }),
          ])
          for (const r of results) r.status === 'fulfilled' ? written++ : refused++
        }
      } finally {
        await flipper.kill()
      }
      const check = await sbx.commands.run('cat /etc/victim; ls -ln /etc/victim', { user: 'root' })
      assert.match(check.stdout, /^original\n-rw-r--r-- 1 0 0 /, `a racing upload reached /etc/victim: ${check.stdout}`)
      assert.ok(written > 0 && refused > 0, `${written} uploads written, ${refused} refused: the links did not race the uploads`)
      t.diagnostic(`${written} uploads written, ${refused} refused while the links flipped`)
    })

    it('runCode in the code-interpreter template cannot find the token either', T, async () => {
      const ci = await CodeInterpreter.create({ timeoutMs: 300_000 })
      try {
        const detail = await mgr.api('GET', `/sandboxes/${ci.sandboxId}`)
        const ciToken = detail.body.envdAccessToken
        assert.match(ciToken ?? '', /^[0-9a-f]{64}$/)
        // The interpreter server has seen the token (the SDK sends it with every runCode): run code
        // first so that it surely holds it, then look.
        assert.equal((await ci.runCode('1 + 1')).text, '2')
        const envDecoy = randomHex()
        const memDecoy = randomHex()
        const code = `${probeSource.replace(/if __name__ == "__main__":[\s\S]*$/, '')}
import subprocess, os, time
subprocess.Popen(['sleep', '300'], env={**os.environ, 'DECOY': '${envDecoy}'})
p = subprocess.Popen(['python3', '-c', 'import sys, time; s = sys.stdin.readline().strip() * 1; time.sleep(300)'], stdin=subprocess.PIPE)
p.stdin.write(b'${memDecoy}\\n'); p.stdin.flush()
time.sleep(1)
import json
print(json.dumps(probe({'token': '${sha256(ciToken)}', 'env_decoy': '${sha256(envDecoy)}', 'mem_decoy': '${sha256(memDecoy)}'})))`
        const e = await ci.runCode(code, { timeoutMs: 240_000 })
        assert.equal(e.error, undefined, JSON.stringify(e.error))
        const out = JSON.parse(e.logs.stdout.join('').trim().split('\n').pop())
        assert.deepEqual(out.found.token, [], `runCode found the token at ${out.found.token}`)
        assert.ok(out.found.env_decoy.length > 0 && out.found.mem_decoy.length > 0, `the probe is blind: ${JSON.stringify(out)}`)

        // Sandbox code (as user) stops the interpreter and takes its port over: the SDK's next
        // runCode sends X-Access-Token there, and the gateway must not pass it on.
        const recorder = `import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        with open('/tmp/hijack.log', 'a') as f:
            f.write(self.requestline + '\\n' + str(self.headers) + '\\n')
        self.send_response(500); self.end_headers()
http.server.HTTPServer(('127.0.0.1', 49999), H).serve_forever()`
        await ci.files.write('/tmp/recorder.py', recorder)
        const takeOver = `pkill -u user -f 'run/sandbox/[c]ode-interpreter'
for i in $(seq 50); do python3 -c 'import socket; socket.socket().bind(("127.0.0.1", 49999))' 2>/dev/null && break; sleep 0.1; done`
        await ci.commands.run(takeOver, { user: 'user' })
        await ci.commands.run('python3 /tmp/recorder.py', { user: 'user', background: true, timeoutMs: 0 })
        let seen = ''
        for (let i = 0; i < 50 && !seen.includes('/execute'); i++) {
          await ci.runCode('1', { timeoutMs: 5_000 }).catch(() => {})
          seen = await ci.files.read('/tmp/hijack.log').catch(() => '')
        }
        assert.match(seen, /POST \/execute/, 'the taken-over port never saw runCode')
        assert.doesNotMatch(seen.toLowerCase(), new RegExp(ciToken), `the taken-over port got the envd token:\n${seen}`)
        assert.doesNotMatch(seen.toLowerCase(), /x-access-token/)
      } finally {
        await ci.kill().catch(() => {})
      }
    })
  })
}
