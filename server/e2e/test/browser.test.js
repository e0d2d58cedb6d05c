// The `browser` template through the manager: headless Chromium in a sandbox, driven over CDP from the
// URL `<manager>/browser/<id>` alone, as the product guide hands it to browser-use (cdp_url) and as
// Playwright's connectOverCDP takes it: no API key, no routing headers. Runs only "through the
// manager": the browser lives inside sandboxes.
//
// Both kinds of websocket URL that /browser/<id>/json/version hands out are covered, each with its own
// manager and two browser sandboxes: without --domain it is the manager's own
// ws://<manager>/browser/<id>/devtools/… route, with --domain the port's host route
// ws://9222-<id>.<domain>/devtools/…. The domain is not *.localhost on purpose: Chrome accepts any
// *.localhost Host by itself, while a real domain only works because the gateway sends browser sandboxes
// a local Host (builtin.MaskRequestHost). There is no DNS here for it, so this process resolves
// *.<domain> to 127.0.0.1, as a wildcard record would.
//
// A private sandbox (network.allowPublicTraffic: false) refuses all of it without its traffic token and
// serves it with the token (or the API key). The same runs over the manager's TLS listener with a test
// CA, with and without a domain.
//
// The pages are served from inside each sandbox (python3 -m http.server on its loopback): a sandbox's
// network is its own loopback only, so a server in this process would be out of Chromium's reach, and an
// http page (unlike data: or file:) carries cookies. Screenshots land in server/e2e/artifacts/.
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { Sandbox } from 'e2b'
import { chromium } from 'playwright-core'

import { browserUse, cdpConnect, cdpVersion as fetchCDPVersion, testDispatcher } from '../lib/cdp.js'
import { resolveToLoopback } from '../lib/dns.js'
import { startManager } from '../lib/manager.js'
import { managerRuntimes } from '../lib/modes.js'
import { pngSize } from '../lib/png.js'
import { waitFor } from '../lib/sdk.js'
import { makeTestCA } from '../lib/tls.js'

const T = { timeout: 60_000 }
// One run per manager runtime E2E_MODES asks for: manager (local) and kube (the browser template's
// image, which the kube test node runs as the local template).
const runtimes = managerRuntimes()
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts')
const DOMAIN = 'browser.test'
// What the template needs from the host (server/builtin/browser.go).
const INSTALL = 'apt-get install -y --no-install-recommends chromium fonts-dejavu-core'
const SITE_PORT = 8000
const VIEWPORT = { width: 1024, height: 640 }

/** Writes a page into the sandbox and serves it on its loopback as `user`; returns once it answers. */
async function serveSite(sbx, title) {
  await sbx.files.write('/home/user/site/index.html', `<!doctype html><html><head><title>${title}</title></head>` +
    `<body style="font-family: DejaVu Sans; background: #e8f0ff"><h1>${title}</h1><p>Served inside sandbox ${sbx.sandboxId}.</p></body></html>`)
  await sbx.commands.run(`python3 -m http.server ${SITE_PORT} --bind 127.0.0.1 --directory /home/user/site`, { background: true })
  await sbx.commands.run(`for i in $(seq 200); do (echo > /dev/tcp/127.0.0.1/${SITE_PORT}) 2>/dev/null && exit 0; sleep 0.05; done; exit 1`)
}

/** All CDP targets (tabs) of the browser behind a Playwright connection, by URL. */
async function targetURLs(browser) {
  const session = await browser.newBrowserCDPSession()
  try {
    const { targetInfos } = await session.send('Target.getTargets')
    return targetInfos.filter((t) => t.type === 'page').map((t) => t.url)
  } finally {
    await session.detach()
  }
}

/**
 * The browser sandbox suite against one manager. `domain` set: host routing; unset: header routing.
 * `screenshot` names the artifact the page's screenshot is written to.
 */
function routingSuite(name, { domain, screenshot, runtime }) {
  describe(name, () => {
    let mgr
    let a
    let b
    let restoreDNS
    const open = [] // Playwright connections, closed at the end

    let dispatcher // undici's, for browser-use's requests: resolves *.<domain> here

    // The URL the guide hands to browser-use: https://api.<domain>/browser/<id>, or the manager's own
    // address without a domain.
    const cdpURL = (sbx) => domain ? `http://api.${domain}:${mgr.port}/browser/${sbx.sandboxId}` : `${mgr.url}/browser/${sbx.sandboxId}`

    // GET /browser/{id}/json/version, no headers, with optional ?cdpPort=.
    const cdpVersion = (sbx, cdpPort) =>
      mgr.get(`/browser/${sbx.sandboxId}/json/version${cdpPort ? `?cdpPort=${cdpPort}` : ''}`)

    // The URL the CDP route must return for sbx at port.
    const expectedWS = (sbx, port) => domain
      ? new RegExp(`^ws://${port}-${sbx.sandboxId}\\.${domain.replace(/\./g, '\\.')}:${mgr.port}/devtools/browser/[0-9a-f-]{36}$`)
      : new RegExp(`^ws://127\\.0\\.0\\.1:${mgr.port}/browser/${sbx.sandboxId}/devtools/browser/[0-9a-f-]{36}${port === 9222 ? '' : `\\?cdpPort=${port}`}$`)

    // connectOverCDP at the http URL alone, as a user would: no headers.
    async function connect(sbx, cdpPort = 9222) {
      const v = await cdpVersion(sbx, cdpPort === 9222 ? undefined : cdpPort)
      assert.equal(v.status, 200, JSON.stringify(v.body))
      const ws = v.body.webSocketDebuggerUrl
      assert.match(ws, expectedWS(sbx, cdpPort))
      const browser = await chromium.connectOverCDP(cdpURL(sbx) + (cdpPort === 9222 ? '' : `?cdpPort=${cdpPort}`), { timeout: 30_000 })
      open.push(browser)
      return { browser, ws }
    }

    before(async () => {
      if (domain) restoreDNS = resolveToLoopback(domain)
      dispatcher = testDispatcher({ domain })
      mgr = await startManager({ domain, runtime })
      mgr.useSdkEnv()
      const templates = await mgr.api('GET', '/templates')
      const browserTemplate = templates.body.find?.((t) => t.templateID === 'browser')
      assert.ok(browserTemplate, `GET /templates has no browser template: ${JSON.stringify(templates.body)}`)
      assert.ok(browserTemplate.available, `the browser template is unavailable here (${browserTemplate.reason}): install what it needs with \`${INSTALL}\``)
      ;[a, b] = await Promise.all([
        Sandbox.create('browser', { timeoutMs: 300_000 }),
        Sandbox.create('browser', { timeoutMs: 300_000 }),
      ])
      await Promise.all([serveSite(a, 'Sandbox A page'), serveSite(b, 'Sandbox B page')])
    })

    after(async () => {
      for (const br of open) await br.close().catch(() => {})
      await Promise.all([a?.kill().catch(() => {}), b?.kill().catch(() => {})])
      await mgr?.stop()
      restoreDNS?.()
    })

    it('GET /browser/{id}/json/version with no headers: Chrome\'s answer, the websocket URL through the manager', T, async () => {
      const v = await cdpVersion(a)
      assert.equal(v.status, 200, JSON.stringify(v.body))
      assert.match(v.body.Browser, /^Chrome\/\d+\./)
      assert.equal(v.body['Protocol-Version'], '1.3')
      assert.match(v.body.webSocketDebuggerUrl, expectedWS(a, 9222))
      // Each sandbox runs its own Chromium.
      const vb = await cdpVersion(b)
      assert.notEqual(new URL(vb.body.webSocketDebuggerUrl).pathname, new URL(v.body.webSocketDebuggerUrl).pathname)
      // With the trailing slash Playwright sends, and the rest of Chrome's DevTools endpoint.
      const slash = await mgr.get(`/browser/${a.sandboxId}/json/version/`)
      assert.equal(slash.status, 200, JSON.stringify(slash.body))
      assert.match(slash.body.webSocketDebuggerUrl, expectedWS(a, 9222))
      const list = await mgr.get(`/browser/${a.sandboxId}/json/list`)
      assert.equal(list.status, 200, JSON.stringify(list.body))
      for (const t of list.body.filter((t) => t.webSocketDebuggerUrl)) {
        assert.ok(t.webSocketDebuggerUrl.startsWith(domain ? `ws://9222-${a.sandboxId}.${domain}:${mgr.port}/devtools/` : `ws://127.0.0.1:${mgr.port}/browser/${a.sandboxId}/devtools/`), t.webSocketDebuggerUrl)
      }
      const protocol = await mgr.get(`/browser/${a.sandboxId}/json/protocol`)
      assert.equal(protocol.status, 200)
      assert.ok(protocol.body.domains.some((d) => d.domain === 'Page'))
    })

    it('browser-use: the cdp_url alone drives a page served inside the sandbox', T, async () => {
      const { wsUrl, title, png } = await browserUse(cdpURL(a), `http://127.0.0.1:${SITE_PORT}/`, { dispatcher })
      assert.match(wsUrl, expectedWS(a, 9222))
      assert.equal(title, 'Sandbox A page')
      assert.deepEqual(pngSize(png), { width: 1024, height: 640 })
      fs.mkdirSync(artifacts, { recursive: true })
      fs.writeFileSync(path.join(artifacts, screenshot.replace('browser', 'browser-use')), png)
    })

    it('Chromium runs as the sandbox\'s user, under its own sandbox where user namespaces allow it', T, async () => {
      const sh = async (cmd) => (await a.commands.run(cmd)).stdout.trim()
      assert.equal(await sh('ps -o user= -C chromium | sort -u'), 'user')
      const browserCmd = await sh("tr '\\0' ' ' < /proc/$(pgrep -o -x chromium)/cmdline")
      assert.match(browserCmd, /--remote-debugging-port=9222 /)
      // The template's own probe (server/builtin/browser.go), asked again here.
      if (await sh('unshare --user --map-root-user --pid --net --fork true && echo yes || echo no') === 'yes') {
        assert.doesNotMatch(browserCmd, /--no-sandbox/)
        // Renderers (about:blank at least) run under seccomp-bpf (mode 2) in Chromium's sandbox.
        const renderers = "for p in $(pgrep -x chromium); do tr '\\0' ' ' < /proc/$p/cmdline | grep -q -- --type=renderer && echo $p; done"
        assert.equal(await sh(`for p in $(${renderers}); do awk '/^Seccomp:/{print $2}' /proc/$p/status; done | sort -u`), '2')
      } else {
        assert.match(browserCmd, /--no-sandbox/)
      }
    })

    it('connectOverCDP: a page served inside the sandbox, its title and a screenshot at the viewport size', T, async () => {
      const { browser } = await connect(a)
      const page = await browser.contexts()[0].newPage()
      try {
        await page.setViewportSize(VIEWPORT)
        await page.goto(`http://127.0.0.1:${SITE_PORT}/`)
        assert.equal(await page.title(), 'Sandbox A page')
        assert.equal(await page.locator('h1').textContent(), 'Sandbox A page')
        const png = await page.screenshot()
        assert.deepEqual(pngSize(png), VIEWPORT)
        fs.mkdirSync(artifacts, { recursive: true })
        fs.writeFileSync(path.join(artifacts, screenshot), png)
      } finally {
        await page.close()
      }
    })

    it('two browser sandboxes are separate: cookies, tabs and what 127.0.0.1 serves', T, async () => {
      const marker = crypto.randomBytes(6).toString('hex')
      const { browser: ba } = await connect(a)
      const { browser: bb } = await connect(b)
      const pageA = await ba.contexts()[0].newPage()
      await pageA.goto(`http://127.0.0.1:${SITE_PORT}/?tab=${marker}`)
      await pageA.evaluate((m) => { document.cookie = `owner=a-${m}; max-age=3600; path=/` }, marker)
      assert.deepEqual((await ba.contexts()[0].cookies(`http://127.0.0.1:${SITE_PORT}/`)).map((c) => `${c.name}=${c.value}`), [`owner=a-${marker}`])

      // A second client of A sees A's tab and cookie: they live in A's browser, not in the connection.
      const { browser: ba2 } = await connect(a)
      assert.ok((await targetURLs(ba2)).some((u) => u.includes(marker)), 'A\'s tab is listed to a second client of A')
      assert.ok((await ba2.contexts()[0].cookies()).some((c) => c.value === `a-${marker}`), 'A\'s cookie is seen by a second client of A')

      // B has neither, and the same URL is B's own page there.
      assert.deepEqual((await bb.contexts()[0].cookies()).filter((c) => c.name === 'owner'), [], 'A\'s cookie is in B')
      assert.ok(!(await targetURLs(bb)).some((u) => u.includes(marker)), 'A\'s tab is listed in B')
      const pageB = await bb.contexts()[0].newPage()
      await pageB.goto(`http://127.0.0.1:${SITE_PORT}/`)
      assert.equal(await pageB.title(), 'Sandbox B page')
      assert.equal(await pageB.evaluate(() => document.cookie), '')
      await pageB.close()
      await pageA.close()
    })

    it('?cdpPort= reaches another Chromium in the same sandbox', T, async () => {
      // A second browser started by hand, as the sandbox's user, with its own profile and port.
      await a.commands.run('/usr/bin/chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking ' +
        '--disable-component-update --disable-sync --disable-quic --remote-debugging-port=9333 --user-data-dir=/tmp/second-chromium about:blank',
      { background: true })
      await waitFor('a CDP answer on 9333', async () => (await cdpVersion(a, 9333)).status === 200, { timeoutMs: 30_000, intervalMs: 200 })
      const { browser: second, ws } = await connect(a, 9333)
      const { ws: first } = await connect(a)
      assert.notEqual(new URL(ws).pathname, new URL(first).pathname, 'two browsers, two browser targets')
      const page = await second.contexts()[0].newPage()
      await page.goto(`http://127.0.0.1:${SITE_PORT}/`)
      assert.equal(await page.title(), 'Sandbox A page', 'same sandbox, same loopback')
      // Its own profile: none of the first browser's cookies.
      assert.deepEqual((await second.contexts()[0].cookies()).filter((c) => c.name === 'owner'), [])
      await page.close()
    })

    it('the browser comes back when it dies', T, async () => {
      const { ws: oldWS } = await connect(b)
      await b.commands.run('kill -KILL $(pgrep -o -x chromium)')
      await waitFor('a new browser on 9222', async () => {
        const v = await cdpVersion(b)
        return v.status === 200 && v.body.webSocketDebuggerUrl !== oldWS
      }, { timeoutMs: 30_000, intervalMs: 200 })
      const { browser: after } = await connect(b)
      const page = await after.contexts()[0].newPage()
      await page.goto(`http://127.0.0.1:${SITE_PORT}/`)
      assert.equal(await page.title(), 'Sandbox B page')
      await page.close()
    })
  })
}

for (const runtime of runtimes.length ? runtimes : [undefined]) describe(`browser template through the manager${runtime === 'kube' ? ' (kube runtime)' : ''}`, { skip: !runtime && 'E2E_MODES excludes manager and kube' }, () => {
  const kube = runtime === 'kube' ? '-kube' : ''
  routingSuite('no domain (websocket at <manager>/browser/<id>/devtools/…)', { runtime, screenshot: `browser${kube}.png` })
  routingSuite(`host routing (--domain ${DOMAIN})`, { runtime, domain: DOMAIN, screenshot: `browser-host${kube}.png` })
  privateSuite(runtime)
  // The TLS listener and warm pools do not depend on the runtime; the kube runtime's pools have their own tests.
  if (runtime === 'kube') return
  tlsSuite()

  describe('warm pool', () => {
    let mgr
    let browser

    before(async () => {
      mgr = await startManager()
      mgr.useSdkEnv()
    })

    after(async () => {
      await browser?.close().catch(() => {})
      await mgr?.stop()
    })

    it('a browser sandbox claimed from a warm pool answers CDP at once', T, async () => {
      const put = await mgr.admin('PUT', '/admin/pools/browsers', { template: 'browser', size: 1 })
      assert.equal(put.status, 200, JSON.stringify(put.body))
      await waitFor('the browser pool to be ready', async () => (await mgr.admin('GET', '/admin/pools/browsers')).body.ready >= 1, { timeoutMs: 60_000, intervalMs: 100 })
      const sbx = await Sandbox.create('browser', { timeoutMs: 120_000 })
      try {
        assert.match(mgr.log(), new RegExp(`"msg":"sandbox created","part":"manager","id":"${sbx.sandboxId}"[^\\n]*"fromPool":true`), 'not served from the pool')
        // No retries: the claim returns a sandbox whose CDP already answers.
        browser = await chromium.connectOverCDP(`${mgr.url}/browser/${sbx.sandboxId}`, { timeout: 30_000 })
        const page = await browser.contexts()[0].newPage()
        await page.goto('data:text/html,<title>warm</title>')
        assert.equal(await page.title(), 'warm')
      } finally {
        await sbx.kill()
        await mgr.admin('DELETE', '/admin/pools/browsers')
      }
    })
  })
})

/** A private browser sandbox: its CDP, and any other port but envd's, need its traffic token. */
function privateSuite(runtime) {
  describe('private sandbox (network.allowPublicTraffic: false)', () => {
    let mgr
    let sbx
    const open = []

    before(async () => {
      mgr = await startManager({ runtime })
      mgr.useSdkEnv()
      sbx = await Sandbox.create('browser', { timeoutMs: 300_000, network: { allowPublicTraffic: false } })
      await serveSite(sbx, 'Private page')
    })

    after(async () => {
      for (const br of open) await br.close().catch(() => {})
      await sbx?.kill().catch(() => {})
      await mgr?.stop()
    })

    it('the create answer carries a traffic token, and the SDK keeps it', T, async () => {
      assert.match(sbx.trafficAccessToken ?? '', /^[0-9a-f]{64}$/)
      assert.notEqual(sbx.trafficAccessToken, sbx.envdAccessToken)
      const info = await mgr.api('GET', `/sandboxes/${sbx.sandboxId}`)
      assert.equal(info.body.network.allowPublicTraffic, false)
    })

    it('without the token: /browser/{id} refuses the DevTools endpoint, its websocket and connectOverCDP', T, async () => {
      const cdpURL = `${mgr.url}/browser/${sbx.sandboxId}`
      for (const p of ['/json/version', '/json/version/', '/json/list', '/json/protocol']) {
        for (const headers of [{}, { 'e2b-traffic-access-token': 'wrong' }, { 'X-API-Key': 'e2b_' + '0'.repeat(40) }]) {
          const r = await mgr.get(`/browser/${sbx.sandboxId}${p}`, headers)
          assert.equal(r.status, 401, `${p} ${JSON.stringify(headers)}: ${JSON.stringify(r.body)}`)
        }
      }
      // The websocket URL, learnt with the token, refuses a client without it.
      const v = await fetchCDPVersion(cdpURL, { headers: { 'e2b-traffic-access-token': sbx.trafficAccessToken } })
      assert.equal(v.status, 200, JSON.stringify(v.body))
      await assert.rejects(cdpConnect(v.body.webSocketDebuggerUrl))
      await assert.rejects(chromium.connectOverCDP(cdpURL, { timeout: 10_000 }))
    })

    it('with the token (or the API key): connectOverCDP and browser-use drive a page', T, async () => {
      const cdpURL = `${mgr.url}/browser/${sbx.sandboxId}`
      const headers = { 'e2b-traffic-access-token': sbx.trafficAccessToken }
      const browser = await chromium.connectOverCDP(cdpURL, { headers, timeout: 30_000 })
      open.push(browser)
      const page = await browser.contexts()[0].newPage()
      await page.goto(`http://127.0.0.1:${SITE_PORT}/`)
      assert.equal(await page.title(), 'Private page')
      await page.close()

      for (const h of [headers, { 'X-API-Key': mgr.apiKey }]) {
        const { wsUrl, title, png } = await browserUse(cdpURL, `http://127.0.0.1:${SITE_PORT}/`, { headers: h })
        assert.ok(wsUrl.startsWith(`ws://127.0.0.1:${mgr.port}/browser/${sbx.sandboxId}/devtools/browser/`), wsUrl)
        assert.equal(title, 'Private page')
        assert.deepEqual(pngSize(png), { width: 1024, height: 640 })
      }
    })

    it('its ports (CDP 9222, a noVNC-like 6080) refuse requests without the token; envd does not need it', T, async () => {
      await sbx.commands.run('python3 -m http.server 6080 --bind 127.0.0.1 --directory /home/user/site', { background: true })
      await sbx.commands.run('for i in $(seq 200); do (echo > /dev/tcp/127.0.0.1/6080) 2>/dev/null && exit 0; sleep 0.05; done; exit 1')
      for (const port of ['9222', '6080']) {
        const p = port === '9222' ? '/json/version' : '/'
        const routing = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': port }
        const refused = await mgr.get(p, routing)
        assert.equal(refused.status, 403, `${port} without the token: ${JSON.stringify(refused.body)}`)
        const wrong = await mgr.get(p, { ...routing, 'e2b-traffic-access-token': 'x'.repeat(64) })
        assert.equal(wrong.status, 403)
        const served = await mgr.get(p, { ...routing, 'e2b-traffic-access-token': sbx.trafficAccessToken })
        assert.equal(served.status, 200, `${port} with the token: ${JSON.stringify(served.body)}`)
      }
      // envd has its own token: the SDK works unchanged.
      assert.equal((await sbx.commands.run('echo ok')).stdout.trim(), 'ok')
    })
  })
}

/** The same over the manager's TLS listener (a test CA), with and without a domain. */
function tlsSuite() {
  describe('over HTTPS (the manager\'s TLS listener)', () => {
    let ca
    const managers = []
    let restoreDNS

    before(() => {
      ca = makeTestCA([DOMAIN])
      restoreDNS = resolveToLoopback(DOMAIN)
    })

    after(async () => {
      for (const m of managers) await m.stop()
      restoreDNS?.()
      ca?.remove()
    })

    for (const domain of [undefined, DOMAIN]) {
      it(`connectOverCDP and browser-use at https://…/browser/<id> with no headers${domain ? ` (--domain ${domain})` : ''}`, T, async () => {
        const mgr = await startManager({ domain, tls: { cert: ca.cert, key: ca.key } })
        managers.push(mgr)
        mgr.useSdkEnv()
        const sbx = await Sandbox.create('browser', { timeoutMs: 120_000 })
        await serveSite(sbx, 'TLS page')
        const host = domain ? `api.${domain}` : '127.0.0.1'
        const cdpURL = `https://${host}:${mgr.tlsPort}/browser/${sbx.sandboxId}`
        const dispatcher = testDispatcher({ domain, ca: ca.caPem })

        const { wsUrl, title, png } = await browserUse(cdpURL, `http://127.0.0.1:${SITE_PORT}/`, { dispatcher })
        assert.equal(wsUrl.split('/devtools/')[0], domain
          ? `wss://9222-${sbx.sandboxId}.${domain}:${mgr.tlsPort}`
          : `wss://127.0.0.1:${mgr.tlsPort}/browser/${sbx.sandboxId}`)
        assert.equal(title, 'TLS page')
        pngSize(png)

        // Playwright in a process that trusts the test CA, as a user's machine trusts a real one.
        const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'connect-over-cdp.js')
        const { stdout } = await promisify(execFile)(process.execPath, [child, cdpURL, `http://127.0.0.1:${SITE_PORT}/`, domain ?? ''],
          { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.ca }, timeout: 60_000 })
        assert.deepEqual(JSON.parse(stdout), { title: 'TLS page' })
        await sbx.kill()
      })
    }
  })
}
