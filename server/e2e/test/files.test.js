// sandbox.files over GET/POST /files and filesystem.Filesystem (Stat, ListDir, MakeDir, Move, Remove),
// plus downloadUrl/uploadUrl on a debug (token-less) sandbox (spec §3.4, §3.6.2, §3.6.3, §7 rows
// Stat/List dir/Mkdir/Rename/Remove/Download/Upload). Every result is checked independently of the
// files API too: on the host filesystem in debug mode (envd runs on this host), with commands inside
// the sandbox through the manager (lib/modes.js).
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { modes } from '../lib/modes.js'
import { readStream, rejectsWith, versions } from '../lib/sdk.js'

const T = { timeout: 30_000 }

function pseudoRandom(size, seed) {
  const out = Buffer.alloc(size)
  let block = Buffer.from(seed)
  for (let off = 0; off < size; off += 32) {
    block = crypto.createHash('sha256').update(block).digest()
    block.copy(out, off)
  }
  return out
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex')

for (const mode of modes('files')) {
  describe(mode.name, () => {
    before(() => mode.setup())
    after(() => mode.teardown())

    for (const [name, sdk] of versions) {
      describe(name, () => {
        let sbx
        let dir
        let host
        const p = (...parts) => path.join(dir, ...parts)

        before(async () => {
          sbx = await mode.create(sdk)
          ;({ dir, host } = await mode.prepare(sbx, name))
        })

        it('write and read text (multipart upload)', T, async () => {
          const info = await sbx.files.write(p('hello.txt'), 'Hello, wörld!\n')
          assert.equal(info.path, p('hello.txt'))
          assert.equal(info.name, 'hello.txt')
          assert.equal(info.type, 'file')
          assert.equal((await host.readText(p('hello.txt'))), 'Hello, wörld!\n')
          assert.equal(await sbx.files.read(p('hello.txt')), 'Hello, wörld!\n')
          // Overwrite truncates.
          await sbx.files.write(p('hello.txt'), 'short')
          assert.equal(await sbx.files.read(p('hello.txt'), { format: 'text' }), 'short')
        })

        it('write creates missing parent directories', T, async () => {
          const info = await sbx.files.write(p('new', 'parents', 'deep.txt'), 'deep')
          assert.equal(info.path, p('new', 'parents', 'deep.txt'))
          assert.ok((await host.stat(p('new', 'parents'))).isDir)
          assert.equal((await host.readText(p('new', 'parents', 'deep.txt'))), 'deep')
        })

        it('empty file reads back empty', T, async () => {
          await sbx.files.write(p('empty'), '')
          assert.equal((await host.stat(p('empty'))).size, 0)
          assert.equal(await sbx.files.read(p('empty')), '')
          const bytes = await sbx.files.read(p('empty'), { format: 'bytes' })
          assert.equal(bytes.length, 0)
        })

        it("bytes: ArrayBuffer in, format:'bytes' out", T, async () => {
          const all = new Uint8Array(256 * 4)
          for (let i = 0; i < all.length; i++) all[i] = i % 256
          await sbx.files.write(p('bytes.bin'), all.buffer)
          assert.deepEqual(new Uint8Array((await host.read(p('bytes.bin')))), all)
          const got = await sbx.files.read(p('bytes.bin'), { format: 'bytes' })
          assert.ok(got instanceof Uint8Array)
          assert.deepEqual(got, all)
        })

        it("blob: Blob in, format:'blob' out", T, async () => {
          const data = pseudoRandom(100_000, 'blob')
          await sbx.files.write(p('blob.bin'), new Blob([data]))
          const blob = await sbx.files.read(p('blob.bin'), { format: 'blob' })
          assert.ok(blob instanceof Blob)
          assert.equal(blob.size, data.length)
          assert.equal(sha(Buffer.from(await blob.arrayBuffer())), sha(data))
        })

        it("stream: ReadableStream in (octet-stream upload), format:'stream' out", T, async () => {
          const data = pseudoRandom(3 * 1024 * 1024 + 17, 'stream')
          let off = 0
          const body = new ReadableStream({
            pull(controller) {
              if (off >= data.length) return controller.close()
              const n = Math.min(256 * 1024, data.length - off)
              controller.enqueue(new Uint8Array(data.subarray(off, off + n)))
              off += n
            },
          })
          const info = await sbx.files.write(p('stream.bin'), body)
          assert.equal(info.path, p('stream.bin'))
          assert.equal((await host.sha(p('stream.bin'))), sha(data))
          const stream = await sbx.files.read(p('stream.bin'), { format: 'stream' })
          const got = await readStream(stream)
          assert.equal(got.length, data.length)
          assert.equal(sha(got), sha(data))
        })

        it('many files in one write([...]) call', T, async () => {
          const res = await sbx.files.write([
            { path: p('multi', 'a.txt'), data: 'A' },
            { path: p('multi', 'sub', 'b.txt'), data: 'BB' },
            { path: p('multi', 'c.bin'), data: new Blob([new Uint8Array([0, 1, 2, 255])]) },
          ])
          assert.ok(Array.isArray(res))
          assert.deepEqual(res.map((r) => r.path).sort(), [p('multi', 'a.txt'), p('multi', 'c.bin'), p('multi', 'sub', 'b.txt')])
          for (const r of res) assert.equal(r.name, path.basename(r.path))
          assert.equal((await host.readText(p('multi', 'a.txt'))), 'A')
          assert.equal((await host.readText(p('multi', 'sub', 'b.txt'))), 'BB')
          assert.deepEqual([...(await host.read(p('multi', 'c.bin')))], [0, 1, 2, 255])
          assert.equal(await sbx.files.read(p('multi', 'sub', 'b.txt')), 'BB')
          // Same-basename files in different directories must not collide (full filename is the path).
          const same = await sbx.files.writeFiles([
            { path: p('multi', 'x', 'same.txt'), data: 'x' },
            { path: p('multi', 'y', 'same.txt'), data: 'y' },
          ])
          assert.equal(same.length, 2)
          assert.equal((await host.readText(p('multi', 'x', 'same.txt'))), 'x')
          assert.equal((await host.readText(p('multi', 'y', 'same.txt'))), 'y')
        })

        it('gzip:true on write (octet-stream + Content-Encoding: gzip) and on read', T, async () => {
          const text = 'compressible line of text\n'.repeat(20_000)
          await sbx.files.write(p('gz.txt'), text, { gzip: true })
          // Stored decompressed.
          assert.equal((await host.readText(p('gz.txt'))), text)
          assert.equal(await sbx.files.read(p('gz.txt'), { gzip: true }), text)
          const bin = pseudoRandom(200_000, 'gz')
          await sbx.files.write(p('gz.bin'), bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), { gzip: true })
          assert.equal((await host.sha(p('gz.bin'))), sha(bin))
          const got = await sbx.files.read(p('gz.bin'), { gzip: true, format: 'bytes' })
          assert.equal(sha(Buffer.from(got)), sha(bin))
        })

        it('metadata: write with metadata, getInfo/list return it (keys lower-cased)', T, async () => {
          const info = await sbx.files.write(p('meta.txt'), 'm', { metadata: { owner: 'me', Project: 'E2E-Suite' } })
          assert.equal(info.path, p('meta.txt'))
          const st = await sbx.files.getInfo(p('meta.txt'))
          assert.deepEqual(st.metadata, { owner: 'me', project: 'E2E-Suite' })
          const listed = (await sbx.files.list(dir)).find((e) => e.name === 'meta.txt')
          assert.deepEqual(listed.metadata, { owner: 'me', project: 'E2E-Suite' })
          // A file without metadata reports none.
          await sbx.files.write(p('plain.txt'), 'p')
          assert.equal((await sbx.files.getInfo(p('plain.txt'))).metadata, undefined)
          // Rewriting with other metadata updates it.
          await sbx.files.write(p('meta.txt'), 'm2', { metadata: { owner: 'you' } })
          assert.equal((await sbx.files.getInfo(p('meta.txt'))).metadata?.owner, 'you')
        })

        it('read of a missing file raises FileNotFoundError', T, async () => {
          await rejectsWith(sbx.files.read(p('missing.txt')), sdk.FileNotFoundError, assert)
        })

        it('list with depth 1 and 2', T, async () => {
          const d = p('tree')
          await host.mkdir(path.join(d, 'sub', 'deeper'), { recursive: true })
          await host.write(path.join(d, 'a.txt'), 'a')
          await host.write(path.join(d, 'sub', 'b.txt'), 'bb')
          await host.write(path.join(d, 'sub', 'deeper', 'c.txt'), 'ccc')

          const one = await sbx.files.list(d)
          assert.deepEqual(one.map((e) => [e.path, e.name, e.type]).sort(), [
            [path.join(d, 'a.txt'), 'a.txt', 'file'],
            [path.join(d, 'sub'), 'sub', 'dir'],
          ])
          assert.equal(one.find((e) => e.name === 'a.txt').size, 1)

          const two = await sbx.files.list(d, { depth: 2 })
          assert.deepEqual(two.map((e) => [e.path, e.type]).sort(), [
            [path.join(d, 'a.txt'), 'file'],
            [path.join(d, 'sub'), 'dir'],
            [path.join(d, 'sub', 'b.txt'), 'file'],
            [path.join(d, 'sub', 'deeper'), 'dir'],
          ])
          assert.equal(two.find((e) => e.name === 'b.txt').size, 2)

          await rejectsWith(sbx.files.list(p('no-such-dir')), sdk.FileNotFoundError, assert)
        })

        it('exists true/false', T, async () => {
          await host.write(p('exists.txt'), 'x')
          assert.equal(await sbx.files.exists(p('exists.txt')), true)
          assert.equal(await sbx.files.exists(dir), true)
          assert.equal(await sbx.files.exists(p('does-not-exist')), false)
        })

        it('getInfo fields for a file, a directory and a symlink', T, async () => {
          const f = p('info.txt')
          await host.write(f, 'hello')
          await host.chmod(f, 0o640)
          const mtime = new Date('2024-05-06T07:08:09.250Z')
          await host.utimes(f, mtime)
          const info = await sbx.files.getInfo(f)
          assert.equal(info.name, 'info.txt')
          assert.equal(info.type, 'file')
          assert.equal(info.path, f)
          assert.equal(info.size, 5)
          assert.equal(info.mode, 0o640)
          assert.equal(info.permissions, '-rw-r-----')
          assert.equal(info.owner, mode.owner)
          assert.equal(info.group, mode.owner)
          assert.ok(info.modifiedTime instanceof Date)
          assert.equal(info.modifiedTime.getTime(), mtime.getTime())
          assert.equal(info.symlinkTarget, undefined)

          await host.mkdir(p('info-dir'), { mode: 0o755 })
          await host.chmod(p('info-dir'), 0o750)
          const di = await sbx.files.getInfo(p('info-dir'))
          assert.equal(di.type, 'dir')
          assert.equal(di.name, 'info-dir')
          assert.equal(di.mode, 0o750)
          assert.equal(di.permissions, 'drwxr-x---')

          await host.symlink(f, p('info-link'))
          const li = await sbx.files.getInfo(p('info-link'))
          assert.equal(li.name, 'info-link')
          assert.equal(li.path, p('info-link'))
          assert.equal(li.symlinkTarget, f)
          assert.equal(li.type, 'file', "a symlink is reported with its target's type (spec §3.4)")

          await rejectsWith(sbx.files.getInfo(p('nope')), sdk.FileNotFoundError, assert)
        })

        it('files written as another user are owned by that user', T, async () => {
          await host.mkdir(p('shared'), { mode: 0o777 })
          await host.chmod(p('shared'), 0o777)
          await sbx.files.write(p('shared', 'by-nobody.txt'), 'n', { user: 'nobody' })
          const st = (await host.stat(p('shared', 'by-nobody.txt')))
          assert.equal(st.uid, 65534)
          assert.equal((await sbx.files.getInfo(p('shared', 'by-nobody.txt'))).owner, 'nobody')
          assert.equal(await sbx.files.read(p('shared', 'by-nobody.txt'), { user: 'nobody' }), 'n')
          assert.equal(await sbx.files.makeDir(p('shared', 'nobody-dir'), { user: 'nobody' }), true)
          assert.equal((await host.stat(p('shared', 'nobody-dir'))).uid, 65534)
        })

        it('makeDir returns true, then false when it exists', T, async () => {
          assert.equal(await sbx.files.makeDir(p('mk', 'a', 'b')), true)
          assert.ok((await host.stat(p('mk', 'a', 'b'))).isDir)
          assert.equal(await sbx.files.makeDir(p('mk', 'a', 'b')), false)
          assert.equal(await sbx.files.makeDir(p('mk', 'a')), false)
        })

        it('rename moves a file (creating parents) and returns the new entry', T, async () => {
          await host.write(p('before.txt'), 'moving')
          const e = await sbx.files.rename(p('before.txt'), p('renamed', 'after.txt'))
          assert.equal(e.path, p('renamed', 'after.txt'))
          assert.equal(e.name, 'after.txt')
          assert.equal(e.type, 'file')
          assert.equal(e.size, 6)
          assert.equal((await host.exists(p('before.txt'))), false)
          assert.equal((await host.readText(p('renamed', 'after.txt'))), 'moving')
          assert.equal(await sbx.files.exists(p('before.txt')), false)

          await host.mkdir(p('dir-before'))
          await host.write(p('dir-before', 'in.txt'), 'in')
          const d = await sbx.files.rename(p('dir-before'), p('dir-after'))
          assert.equal(d.type, 'dir')
          assert.equal((await host.readText(p('dir-after', 'in.txt'))), 'in')

          await rejectsWith(sbx.files.rename(p('never-was'), p('x')), sdk.FileNotFoundError, assert)
        })

        it('remove deletes files and directories recursively; a missing path is no error', T, async () => {
          await host.write(p('rm.txt'), 'x')
          await host.mkdir(p('rm-dir', 'inner'), { recursive: true })
          await host.write(p('rm-dir', 'inner', 'f'), 'x')
          await sbx.files.remove(p('rm.txt'))
          await sbx.files.remove(p('rm-dir'))
          assert.equal((await host.exists(p('rm.txt'))), false)
          assert.equal((await host.exists(p('rm-dir'))), false)
          assert.equal(await sbx.files.exists(p('rm-dir')), false)
          await sbx.files.remove(p('rm-never-existed'))
        })

        it('downloadUrl/uploadUrl on a token-less sandbox work with plain fetch', { ...T, skip: mode.manager && 'debug mode only: sandboxes of the manager have a token' }, async () => {
          await host.write(p('dl.txt'), 'download me')
          const dl = await sbx.downloadUrl(p('dl.txt'))
          const u = new URL(dl)
          assert.equal(u.origin, 'http://localhost:49983')
          assert.equal(u.pathname, '/files')
          assert.equal(u.searchParams.get('path'), p('dl.txt'))
          assert.equal(u.searchParams.get('signature'), null, 'no token, no signature')
          const res = await fetch(dl)
          assert.equal(res.status, 200)
          assert.equal(await res.text(), 'download me')

          const missing = await fetch(await sbx.downloadUrl(p('dl-missing.txt')))
          assert.equal(missing.status, 404)
          assert.equal((await missing.json()).code, 404)

          const up = await sbx.uploadUrl(p('ul', 'up.txt'))
          assert.equal(new URL(up).searchParams.get('path'), p('ul', 'up.txt'))
          const form = new FormData()
          form.append('file', new Blob(['uploaded via url']), 'up.txt')
          const ures = await fetch(up, { method: 'POST', body: form })
          assert.equal(ures.status, 200)
          const written = await ures.json()
          assert.equal(written[0].path, p('ul', 'up.txt'))
          assert.equal((await host.readText(p('ul', 'up.txt'))), 'uploaded via url')

          // Signed URLs need a token; a debug sandbox has none, and the SDK refuses an expiration
          // (auth.test.js covers signatures against a token-protected envd).
          await rejectsWith(sbx.downloadUrl(p('dl.txt'), { useSignatureExpiration: 60 }), sdk.InvalidArgumentError, assert)
          await rejectsWith(sbx.uploadUrl(p('dl.txt'), { useSignatureExpiration: 60 }), sdk.InvalidArgumentError, assert)
        })

        it('signed downloadUrl/uploadUrl through the gateway (routing headers added, spec §1.7 caveat)', { ...T, skip: !mode.manager && 'manager mode only: a debug sandbox has no token' }, async () => {
          // downloadUrl() is the bare E2B_SANDBOX_URL origin: it cannot carry the routing headers.
          const route = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983' }
          await host.write(p('dl.txt'), 'download me')
          const dl = await sbx.downloadUrl(p('dl.txt'))
          const u = new URL(dl)
          assert.equal(u.origin, mode.mgr.url)
          assert.equal(u.pathname, '/files')
          assert.equal(u.searchParams.get('path'), p('dl.txt'))
          assert.match(u.searchParams.get('signature') ?? '', /^v1_[A-Za-z0-9+/]+$/, 'a secured sandbox signs its URLs')
          const res = await fetch(dl, { headers: route })
          assert.equal(res.status, 200)
          assert.equal(await res.text(), 'download me')

          // A tampered signature and a missing one are refused by envd (the token is the signing key).
          const bad = new URL(dl)
          bad.searchParams.set('signature', 'v1_' + 'A'.repeat(43))
          const badRes = await fetch(bad, { headers: route })
          assert.equal(badRes.status, 401, `tampered signature: ${badRes.status} ${await badRes.text()}`)
          const unsigned = new URL(dl)
          unsigned.searchParams.delete('signature')
          const unsignedRes = await fetch(unsigned, { headers: route })
          assert.equal(unsignedRes.status, 401, `no signature: ${unsignedRes.status} ${await unsignedRes.text()}`)

          // With an expiration the SDK adds signature_expiration; it is honoured while valid.
          const exp = new URL(await sbx.downloadUrl(p('dl.txt'), { useSignatureExpiration: 60 }))
          const expAt = Number(exp.searchParams.get('signature_expiration'))
          assert.ok(expAt > Date.now() / 1000 && expAt <= Date.now() / 1000 + 61, `signature_expiration ${expAt}`)
          const expRes = await fetch(exp, { headers: route })
          assert.equal(expRes.status, 200)
          assert.equal(await expRes.text(), 'download me')

          const missing = await fetch(await sbx.downloadUrl(p('dl-missing.txt')), { headers: route })
          assert.equal(missing.status, 404)
          assert.equal((await missing.json()).code, 404)

          const up = await sbx.uploadUrl(p('ul', 'up.txt'), { useSignatureExpiration: 60 })
          assert.equal(new URL(up).searchParams.get('path'), p('ul', 'up.txt'))
          assert.match(new URL(up).searchParams.get('signature') ?? '', /^v1_/)
          const form = new FormData()
          form.append('file', new Blob(['uploaded via url']), 'up.txt')
          const ures = await fetch(up, { method: 'POST', body: form, headers: route })
          assert.equal(ures.status, 200)
          const written = await ures.json()
          assert.equal(written[0].path, p('ul', 'up.txt'))
          assert.equal((await host.readText(p('ul', 'up.txt'))), 'uploaded via url')

          // A download signature does not authorize an upload of the same path.
          const dlAsUp = new URL(await sbx.downloadUrl(p('ul', 'up.txt')))
          const form2 = new FormData()
          form2.append('file', new Blob(['nope']), 'up.txt')
          const wrongOp = await fetch(dlAsUp, { method: 'POST', body: form2, headers: route })
          assert.equal(wrongOp.status, 401)
          assert.equal((await host.readText(p('ul', 'up.txt'))), 'uploaded via url')
        })
      })
    }
  })
}
