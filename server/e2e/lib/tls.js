// A throwaway certificate authority for the tests of the manager's TLS listener: one CA and one leaf
// certificate for 127.0.0.1, localhost and *.<domain>, made with openssl. Node trusts the CA through
// an undici dispatcher in-process (lib/cdp.js) or NODE_EXTRA_CA_CERTS in a child process.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Writes ca.pem, cert.pem and key.pem into a new temporary directory; returns their paths and the CA's PEM. */
export function makeTestCA(domains = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-tls-'))
  const f = (n) => path.join(dir, n)
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=sandboxstack e2e test CA', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign')
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=sandbox-manager', '-keyout', f('key.pem'), '-out', f('leaf.csr'))
  const san = ['IP:127.0.0.1', 'DNS:localhost', ...domains.flatMap((d) => [`DNS:${d}`, `DNS:*.${d}`])].join(',')
  fs.writeFileSync(f('leaf.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`)
  openssl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial',
    '-days', '2', '-extfile', f('leaf.ext'), '-out', f('cert.pem'))
  return { dir, ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem'), caPem: fs.readFileSync(f('ca.pem'), 'utf8'), remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}
