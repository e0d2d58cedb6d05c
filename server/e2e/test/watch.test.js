// files.watchDir over filesystem.Filesystem/WatchDir (spec §3.4 WatchDir row, §3.8, §7 row Watch).
// Runs in both modes (lib/modes.js): changes made "from outside" the SDK's files API are made with
// node:fs on this host in debug mode, with commands inside the sandbox through the manager.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { modes } from '../lib/modes.js'
import { rejectsWith, sleep, versions, waitFor } from '../lib/sdk.js'

const T = { timeout: 30_000 }

const has = (events, type, name) => events.some((e) => e.type === type && e.name === name)
const show = (events) => JSON.stringify(events.map((e) => `${e.type}:${e.name}`))

for (const mode of modes('watch')) {
  describe(mode.name, () => {
    before(() => mode.setup())
    after(() => mode.teardown())

    for (const [name, sdk] of versions) {
      describe(name, () => {
        let sbx
        let dir
        let host

        before(async () => {
          sbx = await mode.create(sdk)
          ;({ dir, host } = await mode.prepare(sbx, name))
        })

        it('reports create, write and remove events with names relative to the watched dir', T, async () => {
          const d = path.join(dir, 'flat')
          await host.mkdir(d)
          const events = []
          const handle = await sbx.files.watchDir(d, (e) => { events.push(e) })
          try {
            await sbx.files.write(path.join(d, 'new.txt'), 'first')
            await waitFor(`create+write of new.txt (have ${show(events)})`, () => has(events, 'create', 'new.txt') && has(events, 'write', 'new.txt'))
            await host.append(path.join(d, 'new.txt'), ' more')
            await sbx.files.remove(path.join(d, 'new.txt'))
            await waitFor(`remove of new.txt (have ${show(events)})`, () => has(events, 'remove', 'new.txt'))
            assert.ok(events.filter((e) => e.name === 'new.txt' && e.type === 'write').length >= 1)
            for (const e of events) {
              assert.ok(['create', 'write', 'remove', 'rename', 'chmod'].includes(e.type), `event type ${e.type}`)
              assert.equal(e.entry, undefined, 'no entry without includeEntry')
            }
          } finally {
            await handle.stop()
          }
          // After stop() nothing more is delivered.
          const count = events.length
          await host.write(path.join(d, 'after-stop.txt'), 'x')
          await sleep(300)
          assert.equal(events.length, count, `events after stop: ${show(events.slice(count))}`)
        })

        it('recursive:true sees events in subdirectories, includeEntry attaches the entry', T, async () => {
          const d = path.join(dir, 'rec')
          await host.mkdir(path.join(d, 'sub'), { recursive: true })
          const events = []
          const handle = await sbx.files.watchDir(d, (e) => { events.push(e) }, { recursive: true, includeEntry: true })
          try {
            await sbx.files.write(path.join(d, 'sub', 'inner.txt'), 'inner!')
            await waitFor(`create of sub/inner.txt (have ${show(events)})`, () => has(events, 'create', 'sub/inner.txt'))
            // A directory created after the watch started is watched too.
            await host.mkdir(path.join(d, 'sub', 'later'))
            await waitFor(`create of sub/later (have ${show(events)})`, () => has(events, 'create', 'sub/later'))
            await sleep(200) // let the new directory's watch settle
            await host.write(path.join(d, 'sub', 'later', 'leaf.txt'), 'leaf')
            await waitFor(`create of sub/later/leaf.txt (have ${show(events)})`, () => has(events, 'create', 'sub/later/leaf.txt'))

            const created = events.find((e) => e.type === 'create' && e.name === 'sub/inner.txt')
            assert.ok(created.entry, 'includeEntry gives the entry on create')
            assert.equal(created.entry.name, 'inner.txt')
            assert.equal(created.entry.path, path.join(d, 'sub', 'inner.txt'))
            assert.equal(created.entry.type, 'file')
            const dirCreated = events.find((e) => e.type === 'create' && e.name === 'sub/later')
            assert.equal(dirCreated.entry?.type, 'dir')
            await waitFor('a write event with the final size', () => events.some((e) => e.type === 'write' && e.name === 'sub/inner.txt' && e.entry?.size === 6))
          } finally {
            await handle.stop()
          }
        })

        it('watch ends with TimeoutError when timeoutMs elapses', T, async () => {
          let exitErr = null
          let exited = false
          const t0 = Date.now()
          await sbx.files.watchDir(dir, () => {}, {
            timeoutMs: 1500,
            onExit: (err) => { exited = true; exitErr = err },
          })
          await waitFor('onExit after the watch deadline', () => exited, { timeoutMs: 10_000 })
          assert.ok(Date.now() - t0 >= 1400, `watch ended after ${Date.now() - t0} ms`)
          assert.ok(exitErr instanceof sdk.TimeoutError, `onExit got ${exitErr?.constructor?.name}: ${exitErr?.message}`)
        })

        it('watching a missing directory fails with FileNotFoundError, a file with InvalidArgumentError', T, async () => {
          await rejectsWith(sbx.files.watchDir(path.join(dir, 'no-such-dir'), () => {}), sdk.FileNotFoundError, assert)
          await host.write(path.join(dir, 'plain-file'), 'x')
          await rejectsWith(sbx.files.watchDir(path.join(dir, 'plain-file'), () => {}), sdk.InvalidArgumentError, assert)
        })
      })
    }
  })
}
