// Child process of the TLS tests: Playwright's connectOverCDP at an http(s) URL with no headers, as
// a user's script does, trusting the test CA through NODE_EXTRA_CA_CERTS (read only at start, hence a
// process of its own). Opens pageUrl in a new page and prints {"title": …} as JSON.
//   node lib/connect-over-cdp.js <cdpUrl> <pageUrl> [<domain resolved to 127.0.0.1>]
import { chromium } from 'playwright-core'

import { resolveToLoopback } from './dns.js'

const [cdpUrl, pageUrl, domain] = process.argv.slice(2)
if (domain) resolveToLoopback(domain)
const browser = await chromium.connectOverCDP(cdpUrl, { timeout: 30_000 })
const page = await browser.contexts()[0].newPage()
await page.goto(pageUrl)
process.stdout.write(JSON.stringify({ title: await page.title() }) + '\n')
await page.close()
// Exit without browser.close(): over CDP that would close the sandbox's browser, not just this connection.
process.exit(0)
