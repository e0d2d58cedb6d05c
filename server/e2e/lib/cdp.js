// The Chrome DevTools protocol the way browser-use drives it: given only a cdp_url, it fetches
// `<cdp_url>/json/version`, opens the websocket named there and sends CDP commands over it, with no
// headers of its own. undici (pinned) is the HTTP and websocket client, so that a test can resolve a
// sandbox domain to the manager and trust a test CA without touching the process's globals.
import assert from 'node:assert/strict'
import dns from 'node:dns'
import { Agent, WebSocket, fetch } from 'undici'

/**
 * An undici dispatcher that resolves `*.<domain>` (when given) to 127.0.0.1, as a wildcard DNS record
 * would, and trusts `ca` (PEM) besides the system's roots when given.
 */
export function testDispatcher({ domain, ca } = {}) {
  const connect = {}
  if (domain) {
    connect.lookup = (hostname, options, callback) => {
      if (hostname.endsWith(`.${domain}`)) {
        if (options?.all) return callback(null, [{ address: '127.0.0.1', family: 4 }])
        return callback(null, '127.0.0.1', 4)
      }
      return dns.lookup(hostname, options, callback)
    }
  }
  if (ca) connect.ca = ca
  return new Agent({ connect })
}

/** GET `<cdpUrl>/json/version` as browser-use does; resolves {status, body}. */
export async function cdpVersion(cdpUrl, { headers = {}, dispatcher } = {}) {
  const res = await fetch(`${cdpUrl}/json/version`, { headers, dispatcher })
  const text = await res.text()
  let body
  try { body = JSON.parse(text) } catch { body = text }
  return { status: res.status, body }
}

/** A CDP connection over one websocket: call(method, params, sessionId) resolves the result. */
export async function cdpConnect(wsUrl, { headers = {}, dispatcher } = {}) {
  const ws = new WebSocket(wsUrl, { headers, dispatcher })
  const pending = new Map()
  let next = 0
  let closedWith
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString())
    const p = pending.get(msg.id)
    if (!p) return // an event
    pending.delete(msg.id)
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`))
    else p.resolve(msg.result)
  })
  ws.addEventListener('close', (ev) => {
    closedWith = new Error(`CDP websocket closed (${ev.code} ${ev.reason})`)
    for (const p of pending.values()) p.reject(closedWith)
    pending.clear()
  })
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true })
    ws.addEventListener('error', (ev) => reject(ev.error ?? new Error(`websocket to ${wsUrl} failed`)), { once: true })
  })
  return {
    call(method, params = {}, sessionId) {
      if (closedWith) return Promise.reject(closedWith)
      const id = ++next
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }))
      return new Promise((resolve, reject) => pending.set(id, { method, resolve, reject }))
    },
    close() { ws.close() },
  }
}

/**
 * Drives the browser behind cdpUrl as browser-use does: /json/version, the websocket it names,
 * Target.createTarget, Page.navigate to pageUrl, the page's title once loaded and
 * Page.captureScreenshot. Resolves {wsUrl, title, png}.
 */
export async function browserUse(cdpUrl, pageUrl, { headers = {}, dispatcher } = {}) {
  const v = await cdpVersion(cdpUrl, { headers, dispatcher })
  assert.equal(v.status, 200, `GET ${cdpUrl}/json/version: ${JSON.stringify(v.body)}`)
  const wsUrl = v.body.webSocketDebuggerUrl
  const cdp = await cdpConnect(wsUrl, { headers, dispatcher })
  try {
    const { targetId } = await cdp.call('Target.createTarget', { url: 'about:blank' })
    const { sessionId } = await cdp.call('Target.attachToTarget', { targetId, flatten: true })
    await cdp.call('Page.enable', {}, sessionId)
    await cdp.call('Emulation.setDeviceMetricsOverride', { width: 1024, height: 640, deviceScaleFactor: 1, mobile: false }, sessionId)
    const nav = await cdp.call('Page.navigate', { url: pageUrl }, sessionId)
    assert.ok(!nav.errorText, `Page.navigate ${pageUrl}: ${nav.errorText}`)
    let title = ''
    for (let i = 0; i < 100; i++) {
      const { result } = await cdp.call('Runtime.evaluate', { expression: "document.readyState === 'complete' ? document.title : ''" }, sessionId)
      title = result.value
      if (title) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const { data } = await cdp.call('Page.captureScreenshot', { format: 'png' }, sessionId)
    await cdp.call('Target.closeTarget', { targetId })
    return { wsUrl, title, png: Buffer.from(data, 'base64') }
  } finally {
    cdp.close()
  }
}
