// Host routing without DNS: the tests that open `<port>-<id>.<domain>` URLs resolve them in-process.
import dns from 'node:dns'

/**
 * Resolves `*.<domain>` to 127.0.0.1 in this process until the returned function is called, as a
 * wildcard record would. Playwright's websocket client resolves through dns.promises.lookup (its
 * happy-eyeballs lookup), looked up per call.
 */
export function resolveToLoopback(domain) {
  const original = dns.promises.lookup
  dns.promises.lookup = async function (hostname, options) {
    if (!hostname.endsWith(`.${domain}`)) return original.call(this, hostname, options)
    const family = typeof options === 'object' ? options?.family : options
    const found = family === 6 ? [] : [{ address: '127.0.0.1', family: 4 }]
    if (typeof options === 'object' && options?.all) return found
    if (!found.length) throw Object.assign(new Error(`no IPv6 address for ${hostname}`), { code: 'ENOTFOUND' })
    return found[0]
  }
  return () => { dns.promises.lookup = original }
}
