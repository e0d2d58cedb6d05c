// @e2b/desktop (pinned) through the manager: the `desktop` template, spec §5. Runs only "through the
// manager": the desktop lives inside sandboxes. Two desktops run side by side for the whole file (one at
// the default display :0, one at :1 with another resolution), and every assertion reuses them.
//
// The manager runs with --domain, as in production: the SDK builds stream URLs on that domain. The stream
// is checked as a person's browser would use it: the noVNC page and its websocket at port 6080 through
// the gateway, by header routing and by `6080-<id>.<domain>` host routing, the RFB handshake read off
// that websocket, and noVNC itself (Debian's Chromium on the host, with the sandbox domain resolved to
// the manager) logging in with the stream password. There is no DNS here for the domain: host-routed
// requests go to the manager's address with the Host the URL names, as a wildcard record would send
// them. Screenshots land in server/e2e/artifacts/ (desktop.png from the SDK, desktop-novnc.png from the
// noVNC client).
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { Sandbox } from '@e2b/desktop'
import { chromium } from 'playwright-core'

import { browserUse, testDispatcher } from '../lib/cdp.js'
import { resolveToLoopback } from '../lib/dns.js'
import { startManager } from '../lib/manager.js'
import { pngSize } from '../lib/png.js'
import { sleep, waitFor } from '../lib/sdk.js'

const T = { timeout: 120_000 }
const skipAll = !(process.env.E2E_MODES ?? 'debug,manager').split(',').map((s) => s.trim()).includes('manager')
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts')
// The manager's --domain. Not *.localhost: Chrome would accept any *.localhost Host by itself.
const DOMAIN = 'desktop.test'
// Debian's packages behind the template (desktopPackages in server/builtin/desktop.go).
const INSTALL = 'apt-get install -y xvfb x11-utils x11-xserver-utils xfce4 xfce4-terminal dbus-x11 xdotool scrot x11vnc novnc websockify net-tools procps xdg-utils libgtk-3-bin mousepad chromium fonts-dejavu-core'
// Chromium on a closed network: without these it keeps dialling Google's services (go.md).
const CHROMIUM_OFFLINE = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-gpu']

/** GET on the manager's listener with the given Host and headers; resolves {status, headers, body}. */
function httpGet(port, p, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/**
 * A minimal RFC 6455 client over the manager's listener, as noVNC opens its connection: GET
 * /websockify with the `binary` subprotocol. read(n) resolves with the next n payload bytes of the
 * server's binary frames; write(buf) sends one masked binary frame.
 */
function openWebSocket(port, headers) {
  const key = crypto.randomBytes(16).toString('base64')
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/websockify',
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Protocol': 'binary',
        ...headers,
      },
    })
    req.on('response', (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => reject(new Error(`websocket upgrade answered HTTP ${res.statusCode}: ${body}`)))
    })
    req.on('error', reject)
    req.on('upgrade', (res, socket, head) => {
      const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
      if (res.headers['sec-websocket-accept'] !== accept) {
        socket.destroy()
        return reject(new Error(`bad Sec-WebSocket-Accept ${res.headers['sec-websocket-accept']}`))
      }
      let raw = head
      let payload = Buffer.alloc(0)
      let closed = null
      let waiter = null
      const wake = () => { if (waiter) { const w = waiter; waiter = null; w() } }
      const parse = () => {
        for (;;) {
          if (raw.length < 2) return
          const opcode = raw[0] & 0x0f
          let len = raw[1] & 0x7f
          let off = 2
          if (len === 126) {
            if (raw.length < 4) return
            len = raw.readUInt16BE(2)
            off = 4
          } else if (len === 127) {
            if (raw.length < 10) return
            len = Number(raw.readBigUInt64BE(2))
            off = 10
          }
          if (raw[1] & 0x80) throw new Error('the server masked a frame')
          if (raw.length < off + len) return
          const data = raw.subarray(off, off + len)
          raw = raw.subarray(off + len)
          if (opcode === 0x8) closed = `close frame ${data.length >= 2 ? data.readUInt16BE(0) : ''} ${data.subarray(2)}`
          else if (opcode === 0x2 || opcode === 0x0) payload = Buffer.concat([payload, data])
        }
      }
      socket.on('data', (c) => { raw = Buffer.concat([raw, c]); parse(); wake() })
      socket.on('close', () => { closed ??= 'connection closed'; wake() })
      socket.on('error', () => {})
      parse()
      resolve({
        protocol: res.headers['sec-websocket-protocol'],
        async read(n, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs
          while (payload.length < n) {
            if (closed) throw new Error(`websocket: ${closed} after ${payload.length} of ${n} bytes`)
            if (Date.now() > deadline) throw new Error(`websocket: ${n} bytes not read within ${timeoutMs} ms`)
            await new Promise((r) => { waiter = r; setTimeout(r, 200) })
          }
          const out = payload.subarray(0, n)
          payload = payload.subarray(n)
          return out
        },
        write(data) {
          const buf = Buffer.from(data)
          const mask = crypto.randomBytes(4)
          const head = buf.length < 126 ? Buffer.from([0x82, 0x80 | buf.length]) : Buffer.from([0x82, 0x80 | 126, buf.length >> 8, buf.length & 0xff])
          socket.write(Buffer.concat([head, mask, buf.map((b, i) => b ^ mask[i % 4])]))
        },
        close() { socket.destroy() },
      })
    })
    req.end()
  })
}

/**
 * The RFB handshake over a websocket to noVNC: the server's version, then the security types it
 * offers. With `None` offered it logs in and returns the framebuffer size and desktop name of
 * ServerInit; with VNC authentication it answers the challenge with a wrong response and returns the
 * server's verdict.
 */
async function rfb(ws) {
  const version = (await ws.read(12)).toString()
  assert.match(version, /^RFB 003\.00\d\n$/)
  ws.write('RFB 003.008\n')
  const n = (await ws.read(1))[0]
  assert.ok(n > 0, 'the server offers no security type')
  const types = [...(await ws.read(n))]
  if (types.includes(1)) {
    ws.write([1])
    assert.equal((await ws.read(4)).readUInt32BE(0), 0, 'SecurityResult of None')
    ws.write([1]) // ClientInit: shared
    const init = await ws.read(24)
    const name = (await ws.read(init.readUInt32BE(20))).toString()
    return { version, types, width: init.readUInt16BE(0), height: init.readUInt16BE(2), name }
  }
  assert.ok(types.includes(2), `security types ${types}`)
  ws.write([2])
  await ws.read(16) // the DES challenge
  ws.write(Buffer.alloc(16)) // not the password's answer
  const result = (await ws.read(4)).readUInt32BE(0)
  const reason = (await ws.read((await ws.read(4)).readUInt32BE(0))).toString()
  return { version, types, wrongPassword: { result, reason } }
}

describe('@e2b/desktop through the manager', { skip: skipAll && 'E2E_MODES excludes manager' }, () => {
  let mgr
  let a // display :0, 1024x768
  let b // display :1, 800x600
  let browser

  const routes = (sbx) => [
    ['header routing', { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '6080' }],
    ['host routing', { Host: `6080-${sbx.sandboxId}.${DOMAIN}:${mgr.port}` }],
  ]
  const sh = async (sbx, cmd) => (await sbx.commands.run(cmd)).stdout

  before(async () => {
    mgr = await startManager({ domain: DOMAIN })
    mgr.useSdkEnv()
    const templates = await mgr.api('GET', '/templates')
    const desktop = templates.body.find?.((t) => t.templateID === 'desktop')
    assert.ok(desktop, `GET /templates has no desktop template: ${JSON.stringify(templates.body)}`)
    assert.ok(desktop.available, `the desktop template is unavailable here (${desktop.reason}): install its packages with \`${INSTALL}\``)
    ;[a, b] = await Promise.all([
      Sandbox.create({ resolution: [1024, 768], timeoutMs: 300_000 }),
      Sandbox.create('desktop', { display: ':1', resolution: [800, 600], timeoutMs: 300_000 }),
    ])
  })

  after(async () => {
    await browser?.close().catch(() => {})
    await Promise.all([a?.kill().catch(() => {}), b?.kill().catch(() => {})])
    await mgr?.stop()
  })

  it('getScreenSize is the requested resolution; screenshot is a PNG of that size', T, async () => {
    assert.deepEqual(await a.getScreenSize(), { width: 1024, height: 768 })
    assert.deepEqual(await b.getScreenSize(), { width: 800, height: 600 })
    assert.deepEqual(pngSize(Buffer.from(await a.screenshot())), { width: 1024, height: 768 })
    assert.deepEqual(pngSize(Buffer.from(await b.screenshot())), { width: 800, height: 600 })
    // The display comes from the create env vars: b's commands talk to :1 without being told.
    assert.equal(await sh(b, 'echo "$DISPLAY"'), ':1\n')
    assert.match(await sh(b, 'xdpyinfo | grep dimensions'), /800x600 pixels/)
    // The XFCE session the SDK waited for runs as the sandbox's user.
    assert.equal(await sh(a, 'ps -o user= -C xfce4-session,xfwm4,xfdesktop | sort -u'), 'user\n')
  })

  it('launch a text editor, write, press keys, save: files.read has the text', T, async () => {
    const file = '/home/user/note.txt'
    await a.files.write(file, '')
    await a.launch('org.xfce.mousepad', file)
    // The editor's window has the focus once its title names the file.
    await waitFor('the focused window to be mousepad with note.txt', async () => /note\.txt/.test(await a.getWindowTitle(await a.getCurrentWindowId()).catch(() => '')), { timeoutMs: 30_000, intervalMs: 250 })
    assert.notEqual((await a.getApplicationWindows('mousepad')).filter(Boolean).length, 0)

    await a.write('Hello from sandboxstack!')
    await a.press('enter')
    await a.write('typed through xdotool')
    await a.press(['ctrl', 'a'])
    await a.press(['ctrl', 'c'])
    await a.press('end')
    await a.press('enter')
    await a.press(['ctrl', 'v']) // the clipboard works inside the session
    await a.press(['ctrl', 's'])
    const want = 'Hello from sandboxstack!\ntyped through xdotool\nHello from sandboxstack!\ntyped through xdotool'
    const text = await waitFor('the saved file', async () => {
      const t = await a.files.read(file)
      return t.trimEnd() === want && t
    }, { timeoutMs: 15_000, intervalMs: 250 })
    assert.equal(text.trimEnd(), want)

    const shot = Buffer.from(await a.screenshot())
    assert.deepEqual(pngSize(shot), { width: 1024, height: 768 })
    fs.mkdirSync(artifacts, { recursive: true })
    fs.writeFileSync(path.join(artifacts, 'desktop.png'), shot)
  })

  it('moveMouse then getCursorPosition; each desktop has its own pointer', T, async () => {
    await a.moveMouse(321, 234)
    await b.moveMouse(17, 590)
    assert.deepEqual(await a.getCursorPosition(), { x: 321, y: 234 })
    assert.deepEqual(await b.getCursorPosition(), { x: 17, y: 590 })
    await a.moveMouse(700, 500)
    assert.deepEqual(await b.getCursorPosition(), { x: 17, y: 590 })
  })

  it('two desktops side by side see only their own display', T, async () => {
    // a's editor window is not on b's display, and neither sandbox can reach the other's X server.
    assert.notEqual((await sh(a, 'xdotool search --onlyvisible --class mousepad || true')).trim(), '')
    assert.equal((await sh(b, 'xdotool search --onlyvisible --class mousepad || true')).trim(), '')
    assert.equal(await sh(b, 'xdpyinfo -display :0 >/dev/null 2>&1 && echo reached || echo none'), 'none\n')
    assert.equal(await sh(a, 'xdpyinfo -display :1 >/dev/null 2>&1 && echo reached || echo none'), 'none\n')
    assert.equal(await sh(a, 'pgrep -c -x Xvfb'), '1\n')
  })

  it('stream with a password: noVNC page and RFB through header and host routing; noVNC logs in', T, async () => {
    await a.stream.start({ requireAuth: true })
    const key = a.stream.getAuthKey()
    assert.match(key, /^[A-Za-z0-9]{16}$/)
    const url = new URL(a.stream.getUrl({ authKey: key }))
    assert.equal(url.host, `6080-${a.sandboxId}.${DOMAIN}`)
    assert.equal(url.pathname, '/vnc.html')
    assert.equal(url.searchParams.get('password'), key)
    await assert.rejects(a.stream.start(), /Stream is already running/)

    const page = await httpGet(mgr.port, '/vnc.html', { Host: `${url.host}:${mgr.port}` })
    assert.equal(page.status, 200)
    assert.match(page.body, /<title>noVNC<\/title>/)
    for (const [how, headers] of routes(a)) {
      const r = await httpGet(mgr.port, '/vnc.html', headers)
      assert.equal(r.status, 200, how)
      assert.equal(r.body, page.body, how)
      const ws = await openWebSocket(mgr.port, headers)
      try {
        assert.equal(ws.protocol, 'binary', how)
        const got = await rfb(ws)
        assert.deepEqual(got.types, [2], `${how}: only VNC authentication is offered`)
        assert.equal(got.wrongPassword.result, 1, `${how}: a wrong answer to the challenge is refused`)
      } finally {
        ws.close()
      }
    }

    // noVNC in a real browser, at the URL getUrl gave (plain http on the manager's port: the test
    // listener has no TLS), its host name resolved to the manager.
    try {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: [...CHROMIUM_OFFLINE, `--host-resolver-rules=MAP *.${DOMAIN} 127.0.0.1`],
      })
    } catch (err) {
      throw new Error(`Chromium did not start (install it with \`apt-get install -y chromium\`): ${err.message}`)
    }
    const tab = await browser.newPage({ viewport: { width: 1100, height: 850 } })
    await tab.goto(`http://${url.hostname}:${mgr.port}${url.pathname}${url.search}`)
    await tab.waitForSelector('html.noVNC_connected', { timeout: 30_000 }).catch(async (err) => {
      throw new Error(`noVNC did not connect: status "${await tab.textContent('#noVNC_status').catch(() => '?')}": ${err.message}`)
    })
    const canvas = await tab.$eval('#noVNC_container canvas', (c) => [c.width, c.height])
    assert.deepEqual(canvas, [1024, 768], 'noVNC shows the 1024x768 framebuffer of a')
    await sleep(1000) // the first full frame
    fs.mkdirSync(artifacts, { recursive: true })
    await tab.screenshot({ path: path.join(artifacts, 'desktop-novnc.png') })
    await browser.close()
    browser = undefined

    await a.stream.stop()
    assert.equal(await sh(a, 'pgrep -x x11vnc || true'), '')
    await waitFor('port 6080 to close', async () => (await sh(a, 'netstat -tln | grep ":6080 " || true')) === '', { timeoutMs: 10_000, intervalMs: 250 })
  })

  it('stream without a password: RFB logs in with no authentication, at the sandbox\'s own resolution', T, async () => {
    for (const sbx of [a, b]) {
      await sbx.stream.start({ requireAuth: false }) // a's stream remembers requireAuth from the last start
      assert.throws(() => sbx.stream.getAuthKey())
      assert.equal(new URL(sbx.stream.getUrl()).searchParams.get('password'), null)
    }
    for (const [sbx, size] of [[a, [1024, 768]], [b, [800, 600]]]) {
      for (const [how, headers] of routes(sbx)) {
        const ws = await openWebSocket(mgr.port, headers)
        try {
          const got = await rfb(ws)
          assert.ok(got.types.includes(1), `${how}: None is offered (${got.types})`)
          assert.deepEqual([got.width, got.height], size, `${how}: framebuffer of ${sbx.sandboxId}`)
        } finally {
          ws.close()
        }
      }
    }
    await Promise.all([a.stream.stop(), b.stream.stop()])
    assert.equal(await sh(b, 'pgrep -x x11vnc || true'), '')
  })

  it('a headful Chromium inside the desktop is reached over CDP at the URL GET /browser/{id}/json/version returns, and from <manager>/browser/{id} alone', T, async () => {
    const title = `desktop chromium ${a.sandboxId}`
    await a.commands.run(`chromium --remote-debugging-port=9222 --user-data-dir=/home/user/.config/chromium-e2e ${CHROMIUM_OFFLINE.join(' ')} 'data:text/html,<title>${title}</title><h1>hello</h1>' >/tmp/chromium.log 2>&1`, { background: true, timeoutMs: 0 })
    const version = await waitFor('CDP through the manager', async () => {
      const r = await mgr.api('GET', `/browser/${a.sandboxId}/json/version`)
      return r.status === 200 && r.body
    }, { timeoutMs: 60_000, intervalMs: 250 })
    assert.match(version.Browser, /^(Headless)?Chrome\//)
    assert.doesNotMatch(version['User-Agent'], /Headless/, 'the browser runs with a window, on the desktop')
    // Host-routed, as the manager has a domain: Chrome answers only because the gateway sends desktop
    // sandboxes a local Host (builtin.MaskRequestHost).
    const wsURL = new URL(version.webSocketDebuggerUrl)
    assert.equal(wsURL.host, `9222-${a.sandboxId}.${DOMAIN}:${mgr.port}`)
    const restore = resolveToLoopback(DOMAIN)
    const connections = []
    try {
      const cdp = await chromium.connectOverCDP(version.webSocketDebuggerUrl)
      connections.push(cdp)
      const titles = await Promise.all(cdp.contexts().flatMap((c) => c.pages()).map((p) => p.title()))
      assert.ok(titles.includes(title), JSON.stringify(titles))

      // The http URL alone, as a user hands it to connectOverCDP or browser-use (no API key, no
      // routing headers); ?cdpPort= names the port of a browser started elsewhere than 9222.
      const cdpURL = `http://api.${DOMAIN}:${mgr.port}/browser/${a.sandboxId}`
      for (const u of [cdpURL, `${cdpURL}?cdpPort=9222`]) {
        const viaURL = await chromium.connectOverCDP(u, { timeout: 30_000 })
        connections.push(viaURL)
        const seen = await Promise.all(viaURL.contexts().flatMap((c) => c.pages()).map((p) => p.title()))
        assert.ok(seen.includes(title), `${u}: ${JSON.stringify(seen)}`)
      }
      const used = await browserUse(cdpURL, 'data:text/html,<title>browser-use on the desktop</title><h1>hi</h1>', { dispatcher: testDispatcher({ domain: DOMAIN }) })
      assert.equal(used.title, 'browser-use on the desktop')
      pngSize(used.png)
    } finally {
      restore()
      // Closing a CDP connection closes the browser: the first close ends it for all of them.
      for (const c of connections) await c.close().catch(() => {})
    }
    const windows = await waitFor('the Chromium window on the display', async () => (await sh(a, `xdotool search --onlyvisible --name '${title}' || true`)).trim(), { timeoutMs: 15_000, intervalMs: 250 })
    assert.ok(windows)
  })
})
