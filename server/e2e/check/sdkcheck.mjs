// The unchanged E2B JS SDKs against a sandbox domain, configured the way a user configures them:
// E2B_DOMAIN and E2B_API_KEY only, HTTPS to api.<domain> and <port>-<id>.<domain>. The Go package
// internal/testing/sdkcheck runs it; it trusts a test CA through NODE_EXTRA_CA_CERTS (set by the caller:
// Node reads it only at start).
//
//   E2B_DOMAIN=… E2B_API_KEY=… node check/sdkcheck.mjs '<options JSON>'
//
// Options: {resolveTo?, dnsServer?, checks: [...], sandboxId?, keep?}. Names under the domain resolve in
// this process, as a wildcard DNS record would make them: to resolveTo, or through the DNS server at
// dnsServer ("host:port", A records, CNAMEs followed); other names resolve normally.
// Checks: "code-interpreter" (the product guide's first script and a file written and read back),
// "desktop" (a screenshot), "browser" (Playwright over CDP at https://api.<domain>/browser/<id>),
// "reconnect" (Sandbox.connect(sandboxId), then the state the first script left).
// Prints one JSON line {sandboxId, demoOutputs, fileContent, screenshotBytes, browserTitle} on stdout;
// on failure a message on stderr and exit status 1.
import dns from 'node:dns'
import net from 'node:net'

// Nothing but E2B_DOMAIN and E2B_API_KEY may steer the SDK.
for (const v of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_DEBUG', 'E2B_ACCESS_TOKEN', 'E2B_VOLUME_API_URL']) delete process.env[v]

const opts = JSON.parse(process.argv[2] ?? '{}')
const domain = (process.env.E2B_DOMAIN ?? '').toLowerCase().replace(/\.$/, '')
if (!domain || !process.env.E2B_API_KEY) fail('E2B_DOMAIN and E2B_API_KEY must be set')

const SANDBOX_TIMEOUT_MS = 300_000
const SITE_PORT = 8000
const SITE_TITLE = 'sdkcheck page served inside the browser sandbox'

// The product guide's first script: one cell at a time, state kept between cells.
const DEMO = [
  "print('hello world')",
  'a = 1',
  'b = 2',
  'print(a + b)',
  [
    'def bubble_sort(arr):',
    '    n = len(arr)',
    '    for i in range(n):',
    '        for j in range(0, n - i - 1):',
    '            if arr[j] > arr[j + 1]:',
    '                arr[j], arr[j + 1] = arr[j + 1], arr[j]',
    '    return arr',
    'print(bubble_sort([7, 3, 5, 1, 6, 2, 4]))',
  ].join('\n'),
]
const FILE_PATH = '/home/user/my-file'
const FILE_DATA = 'my data'

function fail(message) {
  process.stderr.write(`sdkcheck: ${message}\n`)
  process.exit(1)
}

/** An error's stack and its causes (fetch's "fetch failed" says why only in its cause). */
function describe(err) {
  let text = err?.stack ?? String(err)
  for (let c = err?.cause, depth = 0; c && depth < 5; c = c.cause, depth++) text += `\ncaused by: ${c?.stack ?? c}`
  return text
}

function underDomain(hostname) {
  const h = hostname.toLowerCase().replace(/\.$/, '')
  return h === domain || h.endsWith(`.${domain}`)
}

/** resolveName(hostname) → the addresses a name under the domain has, [{address, family}]. */
function makeResolver() {
  if (opts.resolveTo) {
    const family = net.isIP(opts.resolveTo)
    if (!family) fail(`resolveTo ${JSON.stringify(opts.resolveTo)} is not an IP address`)
    return async () => [{ address: opts.resolveTo, family }]
  }
  if (opts.dnsServer) {
    const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 })
    resolver.setServers([opts.dnsServer])
    const viaServer = async (name, depth) => {
      if (depth > 8) throw Object.assign(new Error(`${name}: CNAME chain longer than 8`), { code: 'ENOTFOUND', hostname: name })
      try {
        const found = await resolver.resolve4(name)
        if (found.length) return found.map((address) => ({ address, family: 4 }))
      } catch (err) {
        if (err.code !== 'ENODATA') throw err
      }
      const [target] = await resolver.resolveCname(name)
      return viaServer(target, depth + 1)
    }
    return (name) => viaServer(name, 0)
  }
  return null
}

/**
 * Overrides node:dns lookups for names under the domain: the callback dns.lookup (net, tls, fetch and
 * undici) and dns.promises.lookup (Playwright's websocket client), both looked up per call.
 */
function installResolver(resolveName) {
  const pick = (hostname, options, found) => {
    const family = typeof options === 'number' ? options : options?.family
    const fit = found.filter((a) => !family || a.family === family)
    if (!fit.length) throw Object.assign(new Error(`${hostname}: no IPv${family} address`), { code: 'ENOTFOUND', hostname })
    return options?.all ? fit : fit[0]
  }
  const lookup = dns.lookup
  dns.lookup = function (hostname, options, callback) {
    if (typeof options === 'function') [options, callback] = [{}, options]
    if (!underDomain(hostname)) return lookup.call(this, hostname, options, callback)
    resolveName(hostname).then((found) => {
      const r = pick(hostname, options, found)
      if (Array.isArray(r)) callback(null, r)
      else callback(null, r.address, r.family)
    }).catch((err) => callback(err))
    return {}
  }
  const promisesLookup = dns.promises.lookup
  dns.promises.lookup = async function (hostname, options) {
    if (!underDomain(hostname)) return promisesLookup.call(this, hostname, options)
    return pick(hostname, options, await resolveName(hostname))
  }
}

async function codeInterpreter(result) {
  const { Sandbox } = await import('@e2b/code-interpreter')
  const sbx = await Sandbox.create({ timeoutMs: SANDBOX_TIMEOUT_MS })
  result.sandboxId = sbx.sandboxId
  try {
    result.demoOutputs = []
    for (const [i, code] of DEMO.entries()) result.demoOutputs.push(await run(sbx, code, `demo cell ${i + 1}`))
    await sbx.files.write(FILE_PATH, FILE_DATA)
    result.fileContent = await sbx.files.read(FILE_PATH)
  } finally {
    if (!opts.keep) await sbx.kill()
  }
}

/** runCode, failing on a Python error; resolves the cell's stdout. */
async function run(sbx, code, what) {
  const ex = await sbx.runCode(code)
  if (ex.error) throw new Error(`${what}: ${ex.error.name}: ${ex.error.value}`)
  return ex.logs.stdout
}

async function reconnect(result) {
  if (!opts.sandboxId) throw new Error('the reconnect check needs sandboxId')
  const { Sandbox } = await import('@e2b/code-interpreter')
  const sbx = await Sandbox.connect(opts.sandboxId, { timeoutMs: SANDBOX_TIMEOUT_MS })
  result.sandboxId = sbx.sandboxId
  // The variables and the file the first script left, so the connection is to the same sandbox.
  result.demoOutputs = [await run(sbx, 'print(a + b)', 'reconnected cell')]
  result.fileContent = await sbx.files.read(FILE_PATH)
  if (!opts.keep) await sbx.kill()
}

async function desktop(result) {
  const { Sandbox } = await import('@e2b/desktop')
  const sbx = await Sandbox.create({ timeoutMs: SANDBOX_TIMEOUT_MS })
  try {
    const png = Buffer.from(await sbx.screenshot())
    if (png.length < 8 || !png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      throw new Error(`desktop screenshot: ${png.length} bytes that are not a PNG`)
    }
    result.screenshotBytes = png.length
  } finally {
    await sbx.kill()
  }
}

async function browser(result) {
  const { Sandbox } = await import('e2b')
  const { chromium } = await import('playwright-core')
  const sbx = await Sandbox.create('browser', { timeoutMs: SANDBOX_TIMEOUT_MS })
  try {
    // A page served inside the sandbox: its network is its own loopback.
    await sbx.files.write('/home/user/site/index.html', `<!doctype html><html><head><title>${SITE_TITLE}</title></head><body><h1>${SITE_TITLE}</h1></body></html>`)
    await sbx.commands.run(`python3 -m http.server ${SITE_PORT} --bind 127.0.0.1 --directory /home/user/site`, { background: true })
    await sbx.commands.run(`for i in $(seq 200); do (echo > /dev/tcp/127.0.0.1/${SITE_PORT}) 2>/dev/null && exit 0; sleep 0.05; done; exit 1`)
    // The cdp_url the product guide hands to browser-use and Playwright: no headers, no key.
    const cdpUrl = `https://api.${domain}/browser/${sbx.sandboxId}`
    const b = await chromium.connectOverCDP(cdpUrl, { timeout: 60_000 })
    const page = await b.contexts()[0].newPage()
    await page.goto(`http://127.0.0.1:${SITE_PORT}/`)
    result.browserTitle = await page.title()
    await page.close()
    // No b.close(): over CDP it closes the sandbox's browser; the process exits at the end instead.
  } finally {
    await sbx.kill()
  }
}

const CHECKS = { 'code-interpreter': codeInterpreter, reconnect, desktop, browser }

const resolveName = makeResolver()
if (resolveName) installResolver(resolveName)
const result = { sandboxId: '', demoOutputs: null, fileContent: '', screenshotBytes: 0, browserTitle: '' }
for (const name of opts.checks ?? []) {
  const check = CHECKS[name]
  if (!check) fail(`unknown check ${JSON.stringify(name)} (known: ${Object.keys(CHECKS).join(', ')})`)
  try {
    await check(result)
  } catch (err) {
    fail(`${name}: ${describe(err)}`)
  }
}
process.stdout.write(JSON.stringify(result) + '\n')
process.exit(0)
