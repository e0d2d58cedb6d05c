// PNG checks shared by the tests that receive images (screenshots, matplotlib output).
import assert from 'node:assert/strict'
import zlib from 'node:zlib'

/** Checks a PNG's signature and that its image data inflates, and returns its IHDR size. */
export function pngSize(buf) {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature')
  assert.equal(buf.subarray(12, 16).toString('ascii'), 'IHDR')
  // The image data must inflate: a truncated or corrupt PNG fails here.
  const idat = []
  for (let off = 8; off < buf.length;) {
    const len = buf.readUInt32BE(off)
    if (buf.subarray(off + 4, off + 8).toString('ascii') === 'IDAT') idat.push(buf.subarray(off + 8, off + 8 + len))
    off += 12 + len
  }
  assert.ok(zlib.inflateSync(Buffer.concat(idat)).length > 0)
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) }
}
