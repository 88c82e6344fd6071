// Deflated (1.2.840.10008.1.2.1.99) files made at test time from a deflated fixture: its data set
// inflated, elements spliced in, and deflated again as a stream, so a file that inflates to
// hundreds of megabytes is built without ever holding those megabytes.
import { readFileSync } from 'node:fs'
import { constants, createDeflateRaw, inflateRawSync } from 'node:zlib'
import { fixturePath } from './fixtures'

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'SQ', 'UC', 'UR', 'UT', 'UN'])

/** The fixture split into its preamble + meta group and its inflated data set. */
export function splitDeflated(fixture = 'files/mono2_u8.deflated.dcm'): {
  meta: Uint8Array
  dataSet: Uint8Array
} {
  const file = new Uint8Array(readFileSync(fixturePath(fixture)))
  const view = new DataView(file.buffer, file.byteOffset)
  // (0002,0000) UL group length right after the DICM marker: 8 bytes of header, 4 of value
  const metaEnd = 132 + 12 + view.getUint32(140, true)
  return { meta: file.slice(0, metaEnd), dataSet: new Uint8Array(inflateRawSync(file.subarray(metaEnd))) }
}

/** Byte offset of the first top-level element whose group is at least `group` (explicit VR LE, defined lengths). */
export function elementOffset(dataSet: Uint8Array, group: number): number {
  const view = new DataView(dataSet.buffer, dataSet.byteOffset, dataSet.byteLength)
  let at = 0
  while (at + 8 <= dataSet.length) {
    if (view.getUint16(at, true) >= group) return at
    const vr = String.fromCharCode(dataSet[at + 4], dataSet[at + 5])
    at += LONG_VRS.has(vr) ? 12 + view.getUint32(at + 8, true) : 8 + view.getUint16(at + 6, true)
  }
  return dataSet.length
}

function privateCreator(group: number): Uint8Array {
  const bytes = new Uint8Array(8 + 8)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, group, true)
  view.setUint16(2, 0x0010, true)
  bytes.set([0x4c, 0x4f], 4) // LO
  view.setUint16(6, 8, true)
  bytes.set(new TextEncoder().encode('CXR TEST'), 8)
  return bytes
}

function obHeader(group: number, element: number, length: number): Uint8Array {
  const bytes = new Uint8Array(12)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, group, true)
  view.setUint16(2, element, true)
  bytes.set([0x4f, 0x42], 4) // OB
  view.setUint32(8, length, true)
  return bytes
}

/** Raw-deflates `parts`, where a number stands for that many zero bytes (written in 1 MB pieces). */
export async function deflateParts(parts: Array<Uint8Array | number>): Promise<Uint8Array> {
  const deflate = createDeflateRaw({ level: constants.Z_BEST_COMPRESSION })
  const chunks: Buffer[] = []
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk))
  const ended = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve)
    deflate.on('error', reject)
  })
  const zeros = new Uint8Array(1 << 20)
  const write = (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) => deflate.write(bytes, (err) => (err ? reject(err) : resolve())))
  for (const part of parts) {
    if (typeof part !== 'number') await write(part)
    else
      for (let left = part; left > 0; left -= zeros.length)
        await write(zeros.subarray(0, Math.min(left, zeros.length)))
  }
  deflate.end()
  await ended
  const body = Buffer.concat(chunks)
  // the data set is padded to an even length, as the writer does
  return body.length % 2 ? Buffer.concat([body, Buffer.alloc(1)]) : body
}

/**
 * A deflated file whose data set holds a private OB element of `zeros` zero bytes: in group 0009
 * (before the image elements and the pixel data) or in group 7FE1 (after the pixel data).
 */
export async function deflatedWithZeros(
  where: 'before-pixels' | 'after-pixels',
  zeros: number
): Promise<Uint8Array> {
  const { meta, dataSet } = splitDeflated()
  const group = where === 'before-pixels' ? 0x0009 : 0x7fe1
  const at = elementOffset(dataSet, group + 1)
  const body = await deflateParts([
    dataSet.subarray(0, at),
    privateCreator(group),
    obHeader(group, 0x1000, zeros),
    zeros,
    dataSet.subarray(at)
  ])
  const file = new Uint8Array(meta.length + body.length)
  file.set(meta)
  file.set(body, meta.length)
  return file
}
