// The `browser` template through the manager: headless Chromium in a sandbox, driven over CDP with
// playwright-core's connectOverCDP (pinned) at the URL GET /browser/{id}/json/version returns. Runs only
// "through the manager": the browser lives inside sandboxes.
//
// Both ways of reaching a sandbox port are covered, each with its own manager and two browser sandboxes:
// header routing (a manager without --domain returns ws://<manager>/devtools/…, and the client sends
// E2b-Sandbox-Id/E2b-Sandbox-Port) and host routing (a manager with --domain returns
// ws://9222-<id>.<domain>/devtools/…). The domain is not *.localhost on purpose: Chrome accepts any
// *.localhost Host by itself, while a real domain only works because the gateway sends browser sandboxes
// a local Host (builtin.MaskRequestHost). There is no DNS here for it, so this process resolves
// *.<domain> to 127.0.0.1, as a wildcard record would.
//
// The pages are served from inside each sandbox (python3 -m http.server on its loopback): a sandbox's
// network is its own loopback only, so a server in this process would be out of Chromium's reach, and an
// http page (unlike data: or file:) carries cookies. The screenshot lands in server/e2e/artifacts/.
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { Sandbox } from 'e2b'
import { chromium } from 'playwright-core'

import { resolveToLoopback } from '../lib/dns.js'
import { startManager } from '../lib/manager.js'
import { pngSize } from '../lib/png.js'
import { waitFor } from '../lib/sdk.js'

const T = { timeout: 60_000 }
const skipAll = !(process.env.E2E_MODES ?? 'debug,manager').split(',').map((s) => s.trim()).includes('manager')
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
function routingSuite(name, { domain, screenshot }) {
  describe(name, () => {
    let mgr
    let a
    let b
    let restoreDNS
    const open = [] // Playwright connections, closed at the end

    // GET /browser/{id}/json/version on the control plane (API key), with optional ?cdpPort=.
    const cdpVersion = (sbx, cdpPort) =>
      mgr.api('GET', `/browser/${sbx.sandboxId}/json/version${cdpPort ? `?cdpPort=${cdpPort}` : ''}`)

    // The URL the CDP route must return for sbx at port.
    const expectedWS = (sbx, port) => domain
      ? new RegExp(`^ws://${port}-${sbx.sandboxId}\\.${domain.replace(/\./g, '\\.')}:${mgr.port}/devtools/browser/[0-9a-f-]{36}$`)
      : new RegExp(`^ws://127\\.0\\.0\\.1:${mgr.port}/devtools/browser/[0-9a-f-]{36}$`)

    // connectOverCDP at the URL the route returns, as a user would.
    async function connect(sbx, cdpPort = 9222) {
      const v = await cdpVersion(sbx, cdpPort === 9222 ? undefined : cdpPort)
      assert.equal(v.status, 200, JSON.stringify(v.body))
      const ws = v.body.webSocketDebuggerUrl
      assert.match(ws, expectedWS(sbx, cdpPort))
      const headers = domain ? undefined : { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': String(cdpPort) }
      const browser = await chromium.connectOverCDP(ws, { headers, timeout: 30_000 })
      open.push(browser)
      return { browser, ws }
    }

    before(async () => {
      if (domain) restoreDNS = resolveToLoopback(domain)
      mgr = await startManager({ domain })
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

    it('GET /browser/{id}/json/version: Chrome\'s answer, the websocket URL through the manager', T, async () => {
      const v = await cdpVersion(a)
      assert.equal(v.status, 200, JSON.stringify(v.body))
      assert.match(v.body.Browser, /^Chrome\/\d+\./)
      assert.equal(v.body['Protocol-Version'], '1.3')
      assert.match(v.body.webSocketDebuggerUrl, expectedWS(a, 9222))
      // Each sandbox runs its own Chromium.
      const vb = await cdpVersion(b)
      assert.notEqual(new URL(vb.body.webSocketDebuggerUrl).pathname, new URL(v.body.webSocketDebuggerUrl).pathname)

      const noKey = await fetch(`${mgr.url}/browser/${a.sandboxId}/json/version`)
      assert.equal(noKey.status, 401, await noKey.text())
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

describe('browser template through the manager', { skip: skipAll && 'E2E_MODES excludes manager' }, () => {
  routingSuite('header routing (E2b-Sandbox-Id/Port on the websocket)', { screenshot: 'browser.png' })
  routingSuite(`host routing (--domain ${DOMAIN})`, { domain: DOMAIN, screenshot: 'browser-host.png' })

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
        const v = await mgr.api('GET', `/browser/${sbx.sandboxId}/json/version`)
        assert.equal(v.status, 200, JSON.stringify(v.body))
        browser = await chromium.connectOverCDP(v.body.webSocketDebuggerUrl, {
          headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '9222' },
          timeout: 30_000,
        })
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
