// @e2b/code-interpreter (pinned) through the manager: the `code-interpreter` template, spec §4.
// Runs only "through the manager": the interpreter lives inside a sandbox.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Sandbox } from '@e2b/code-interpreter'

import { startManager } from '../lib/manager.js'
import { pngSize } from '../lib/png.js'

const T = { timeout: 120_000 }

// What an execution printed. ipykernel sends stdout every 0.2 s, so on a busy machine one print's
// text and its newline can arrive as two chunks: the chunks are not the contract, their text is.
const printed = (execution) => execution.logs.stdout.join('')
const skipAll = !(process.env.E2E_MODES ?? 'debug,manager').split(',').map((s) => s.trim()).includes('manager')

describe('@e2b/code-interpreter through the manager', { skip: skipAll && 'E2E_MODES excludes manager' }, () => {
  let mgr
  let sbx

  before(async () => {
    mgr = await startManager()
    mgr.useSdkEnv()
    sbx = await Sandbox.create({ timeoutMs: 300_000 })
  })

  after(async () => {
    await sbx?.kill().catch(() => {})
    await mgr?.stop()
  })

  it('the first script: hello world, state kept between calls, files', T, async () => {
    assert.equal(printed(await sbx.runCode("print('hello world')")), 'hello world\n')
    await sbx.runCode('a = 1')
    await sbx.runCode('b = 2')
    assert.equal(printed(await sbx.runCode('print(a + b)')), '3\n')
    await sbx.files.write('/home/user/my-file', 'my data')
    assert.equal(await sbx.files.read('/home/user/my-file'), 'my data')
  })

  it('bubble sort prints the sorted list', T, async () => {
    const code = [
      'def bubble_sort(arr):',
      '    n = len(arr)',
      '    for i in range(n):',
      '        for j in range(0, n - i - 1):',
      '            if arr[j] > arr[j + 1]:',
      '                arr[j], arr[j + 1] = arr[j + 1], arr[j]',
      '    return arr',
      'print(bubble_sort([7, 3, 5, 1, 6, 2, 4]))',
    ].join('\n')
    assert.equal(printed(await sbx.runCode(code)), '[1, 2, 3, 4, 5, 6, 7]\n')
  })

  it('last expression as execution.text; code runs as user in /home/user with the sandbox env', T, async () => {
    assert.equal((await sbx.runCode('1+1')).text, '2')
    const e = await sbx.runCode('import os, getpass; (getpass.getuser(), os.getcwd(), os.environ["E2B_SANDBOX_ID"])')
    assert.equal(e.error, undefined, JSON.stringify(e.error))
    assert.equal(e.text, `('user', '/home/user', '${sbx.sandboxId}')`)
  })

  it('matplotlib figure arrives as a PNG of the right size; pandas DataFrame as html', T, async () => {
    const fig = await sbx.runCode([
      'import matplotlib.pyplot as plt',
      'plt.figure(figsize=(4, 3), dpi=100)',
      'plt.plot([1, 2, 3], [3, 1, 2])',
      'plt.show()',
    ].join('\n'))
    assert.equal(fig.error, undefined)
    const png = fig.results.find((r) => r.png)
    assert.ok(png, `no png result in ${JSON.stringify(fig.results.map((r) => Object.keys(r)))}`)
    assert.deepEqual(pngSize(Buffer.from(png.png, 'base64')), { width: 400, height: 300 })

    const df = await sbx.runCode('import pandas as pd\npd.DataFrame({"x": [1, 2], "y": ["a", "b"]})')
    assert.match(df.results[0].html, /<table[\s\S]*<td>a<\/td>/)
  })

  it('an exception is execution.error with name, value and traceback', T, async () => {
    const e = await sbx.runCode('raise ValueError("bad value")')
    assert.equal(e.error.name, 'ValueError')
    assert.equal(e.error.value, 'bad value')
    assert.match(e.error.traceback, /ValueError/)
  })

  it('onStdout/onStderr stream lines before the execution ends', T, async () => {
    const seen = []
    const running = sbx.runCode(
      'import sys, time\nprint("first", flush=True)\nprint("err", file=sys.stderr, flush=True)\ntime.sleep(2)\nprint("last")',
      { onStdout: (m) => seen.push(['out', m.line, Date.now()]), onStderr: (m) => seen.push(['err', m.line, Date.now()]) })
    const endedAt = await running.then(() => Date.now())
    const first = seen.find(([k, l]) => k === 'out' && l.startsWith('first'))
    assert.ok(first, JSON.stringify(seen))
    assert.ok(seen.some(([k, l]) => k === 'err' && l.startsWith('err')))
    // "first" arrived while the code still slept (2 s before the end), not with the final answer.
    assert.ok(endedAt - first[2] >= 1000, `first line came ${endedAt - first[2]} ms before the end`)
  })

  it('envs per run are set and reverted; sandbox envs reach the kernel', T, async () => {
    const withEnv = await sbx.runCode('import os; os.environ.get("PER_RUN")', { envs: { PER_RUN: 'yes' } })
    assert.equal(withEnv.text, 'yes') // string results come without their quotes (spec §4.2)
    assert.equal((await sbx.runCode('import os; os.environ.get("PER_RUN")')).text, undefined)

    const other = await Sandbox.create({ envs: { SANDBOX_WIDE: 'everywhere' }, timeoutMs: 120_000 })
    try {
      assert.equal((await other.runCode('import os; os.environ.get("SANDBOX_WIDE")')).text, 'everywhere')
    } finally {
      await other.kill()
    }
  })

  it('contexts: create with cwd, list, restart clears state, remove; bash context', T, async () => {
    const ctx = await sbx.createCodeContext({ cwd: '/tmp' })
    assert.equal((await sbx.runCode('import os; os.getcwd()', { context: ctx })).text, '/tmp')
    await sbx.runCode('kept = 41', { context: ctx })
    assert.equal((await sbx.runCode('kept + 1', { context: ctx })).text, '42')
    assert.ok((await sbx.listCodeContexts()).some((c) => c.id === ctx.id))
    await sbx.restartCodeContext(ctx)
    const gone = await sbx.runCode('kept', { context: ctx })
    assert.equal(gone.error?.name, 'NameError')
    await sbx.removeCodeContext(ctx)
    assert.ok(!(await sbx.listCodeContexts()).some((c) => c.id === ctx.id))

    const sh = await sbx.runCode('echo "$((6 * 7))"', { language: 'bash' })
    assert.equal(printed(sh), '42\n')
  })

  it('two contexts run in parallel while one context serialises', T, async () => {
    const [a, b] = await Promise.all([sbx.createCodeContext(), sbx.createCodeContext()])
    // Each waits for the other's marker: this only finishes if both run at the same time.
    const waitFor = (mine, theirs) => `import os, time\nopen("/tmp/${mine}", "w").close()\n` +
      `deadline = time.time() + 30\nwhile not os.path.exists("/tmp/${theirs}") and time.time() < deadline: time.sleep(0.05)\n` +
      `os.path.exists("/tmp/${theirs}")`
    const [ra, rb] = await Promise.all([sbx.runCode(waitFor('pa', 'pb'), { context: a }), sbx.runCode(waitFor('pb', 'pa'), { context: b })])
    assert.equal(ra.text, 'True')
    assert.equal(rb.text, 'True')

    // On one context, a request sent while another runs waits for it and sees what it left.
    const first = sbx.runCode('import time; open("/tmp/serial-started", "w").close(); time.sleep(1); serial = "set"', { context: a })
    for (let i = 0; i < 300 && !(await sbx.files.exists('/tmp/serial-started')); i++) await new Promise((r) => setTimeout(r, 50))
    const second = await sbx.runCode('serial', { context: a })
    await first
    assert.equal(second.error, undefined, JSON.stringify(second.error))
    assert.equal(second.text, 'set')
  })

  it('a timed-out execution leaves the kernel usable; a silent execution is kept alive', T, async () => {
    await sbx.runCode('survivor = 7')
    await assert.rejects(sbx.runCode('import time; time.sleep(30)', { timeoutMs: 2000 }))
    assert.equal((await sbx.runCode('survivor', { timeoutMs: 30_000 })).text, '7')
    // 8 s without output: the server's keepalive lines keep the stream going.
    const quiet = await sbx.runCode('import time; time.sleep(8); "done"', { timeoutMs: 60_000 })
    assert.equal(quiet.text, 'done')
  })

  it('a sandbox from a warm pool runs code at once', T, async () => {
    const put = await mgr.admin('PUT', '/admin/pools/ci', { template: 'code-interpreter', size: 1 })
    assert.equal(put.status, 200, JSON.stringify(put.body))
    for (let i = 0; i < 600; i++) {
      const p = await mgr.admin('GET', '/admin/pools/ci')
      if (p.body.ready >= 1) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const warm = await Sandbox.create({ timeoutMs: 60_000 })
    try {
      assert.equal(printed(await warm.runCode('print(6 * 7)')), '42\n')
    } finally {
      await warm.kill()
      await mgr.admin('DELETE', '/admin/pools/ci')
    }
  })

  it('/execute checks X-Access-Token: code runs only for the sandbox\'s envd token', T, async () => {
    // What the SDK sends, minus or with a wrong X-Access-Token (the sandbox is public: routing suffices).
    const execute = (headers) => fetch(`${mgr.url}/execute`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49999', ...headers },
      body: JSON.stringify({ code: 'print("ran")' }),
    })
    for (const headers of [{}, { 'X-Access-Token': 'wrong' }]) {
      const res = await execute(headers)
      const body = await res.text()
      assert.equal(res.status, 401, body)
      assert.doesNotMatch(body, /ran/)
    }
    const res = await execute({ 'X-Access-Token': sbx.envdAccessToken })
    assert.equal(res.status, 200)
    assert.match(await res.text(), /"text": ?"ran\\n"/)
  })

  it('a private sandbox (allowPublicTraffic: false): the SDK works unchanged, 49999 refuses requests without the traffic token', T, async () => {
    const priv = await Sandbox.create({ timeoutMs: 120_000, network: { allowPublicTraffic: false } })
    try {
      assert.ok(priv.trafficAccessToken, 'no trafficAccessToken in the create answer')
      // @e2b/code-interpreter sends E2B-Traffic-Access-Token by itself.
      assert.equal(printed(await priv.runCode('print(6 * 7)')), '42\n')
      const ctx = await priv.createCodeContext({ cwd: '/tmp' })
      assert.equal((await priv.runCode('import os; os.getcwd()', { context: ctx })).text, '/tmp')

      const routing = { 'E2b-Sandbox-Id': priv.sandboxId, 'E2b-Sandbox-Port': '49999' }
      for (const [p, init] of [['/contexts', {}], ['/execute', { method: 'POST', body: '{"code":"1"}', headers: { 'X-Access-Token': priv.envdAccessToken } }]]) {
        const refused = await fetch(`${mgr.url}${p}`, { ...init, headers: { ...routing, ...init.headers } })
        assert.equal(refused.status, 403, `${p} without the traffic token: ${await refused.text()}`)
      }
      const served = await fetch(`${mgr.url}/contexts`, { headers: { ...routing, 'E2B-Traffic-Access-Token': priv.trafficAccessToken } })
      assert.equal(served.status, 200, await served.text())
      // A connect (another client, e.g. after a restart of the user's program) gets the same token.
      const again = await Sandbox.connect(priv.sandboxId)
      assert.equal(again.trafficAccessToken, priv.trafficAccessToken)
      assert.equal((await again.runCode('6 * 7')).text, '42')
    } finally {
      await priv.kill()
    }
  })
})
