// Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99): everything after the file meta group
// is one raw deflate stream, and a few hundred kilobytes of it can inflate to gigabytes. So nothing
// is inflated without a bound: a header only as far as its pixel data element (at most the
// allowance below), a whole data set only up to the image its header declares plus the allowance.
import type { DataSet } from 'dicom-parser'
import { constants, createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib'
import { FileReadError, errorMessage } from '../errors'
import { declaredPixelBytes, imageFacts, type ImageFacts } from './facts'
import {
  type FileMeta,
  parseComplete,
  parseInflatedDataSet,
  parseUntilPixelData,
  readFileMeta,
  requirePixelData
} from './parse'
import { TS } from './transfer-syntax'

const MB = 1024 * 1024

/**
 * What a deflated data set may hold besides its pixels. A radiograph's header is a few kB; the
 * largest non-pixel content met in practice (vendor private blobs, icon images, overlays) is a few
 * MB. 16 MB covers that several times over, and is all a bomb can cost beyond its declared image.
 */
export const OTHER_ELEMENTS_ALLOWANCE = 16 * MB

/**
 * The most a deflated data set is ever inflated to, whatever its header declares: Rows, Columns and
 * Number of Frames are the file's own word, and a header claiming a 65535 x 65535 x 1000-frame image
 * would otherwise license a bomb of that size. 1 GB is twenty times the largest chest radiograph.
 */
export const MAX_INFLATED = 1024 * MB

/** Inflated size at which a header is first parsed (then 4x more each time, up to the allowance). */
const FIRST_LOOK = 64 * 1024

/** A whole data set: the meta group's syntax, then the data set (inflated if it was deflated). */
export async function parseWholeFile(
  bytes: Uint8Array,
  path: string
): Promise<{ dataSet: DataSet; transferSyntaxUid: string }> {
  const meta = readFileMeta(bytes, path, true) as FileMeta
  if (meta.transferSyntaxUid !== TS.deflatedLittle) return parseComplete(bytes, path)
  const compressed = bytes.subarray(meta.dataSetStart)
  const header = await inflateHeader(bytes.subarray(0, meta.dataSetStart), [compressed], path)
  requirePixelData(header.dataSet, path)
  const inflated = inflateDataSet(compressed, imageFacts(header.dataSet), path)
  const dataSet = parseInflatedDataSet(inflated, path)
  requirePixelData(dataSet, path)
  return { dataSet, transferSyntaxUid: meta.transferSyntaxUid }
}

/**
 * Inflates a deflated data set only as far as its pixel data element and parses that header.
 * `metaBytes` is the file up to the data set; `compressed` yields the rest of the file in order.
 * A data set that goes on past the allowance without reaching its pixel data is refused.
 */
export async function inflateHeader(
  metaBytes: Uint8Array,
  compressed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  path: string
): Promise<{ dataSet: DataSet; transferSyntaxUid: string }> {
  const inflate = createInflateRaw({ flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH })
  const feeding = feed(inflate, compressed)
  // the meta bytes, then the inflated ones: one buffer that grows, so each look parses it in place
  let buffer = new Uint8Array(metaBytes.length + FIRST_LOOK)
  buffer.set(metaBytes)
  let length = metaBytes.length
  const sofar = () => buffer.subarray(0, length)
  try {
    let nextLook = FIRST_LOOK
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      if (length + chunk.length > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, length + chunk.length))
        grown.set(sofar())
        buffer = grown
      }
      buffer.set(chunk, length)
      length += chunk.length
      const inflated = length - metaBytes.length
      if (inflated < nextLook) continue
      const outcome = parseUntilPixelData(sofar(), path, false)
      if (outcome !== 'more') return outcome
      if (inflated >= OTHER_ELEMENTS_ALLOWANCE) return refuseLongHeader(sofar(), path)
      nextLook = Math.min(nextLook * 4, OTHER_ELEMENTS_ALLOWANCE)
    }
  } catch (err) {
    if (err instanceof FileReadError) throw err
    // a corrupt stream: the header may still have come out whole before the damage
    const outcome = parseUntilPixelData(sofar(), path, false)
    if (outcome !== 'more') return outcome
    throw new FileReadError(path, `deflated data set cannot be inflated: ${errorMessage(err)}`)
  } finally {
    inflate.destroy()
    // the caller closes the file once this returns: no read of it may still be under way
    await feeding
  }
  // the stream ended below the allowance: this is the whole data set
  const outcome = parseUntilPixelData(sofar(), path, true)
  if (outcome === 'more') throw new FileReadError(path, 'truncated file')
  return outcome
}

/** Past the allowance: a long header is refused, unless it is malformed for another reason first. */
function refuseLongHeader(bytes: Uint8Array, path: string): never {
  try {
    parseUntilPixelData(bytes, path, true)
  } catch (err) {
    if (!(err instanceof FileReadError) || !err.reason.startsWith('truncated file')) throw err
  }
  throw new FileReadError(
    path,
    `deflated data set inflates beyond ${OTHER_ELEMENTS_ALLOWANCE / MB} MB before its pixel data, more than any header needs`
  )
}

/**
 * Writes `compressed` into the inflater as it asks for more, and stops when it is destroyed. zlib
 * streams respect back-pressure, so a bomb is inflated only as far as the reader reads.
 */
async function feed(inflate: InflateRaw, compressed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
  const pieces =
    Symbol.asyncIterator in compressed
      ? compressed[Symbol.asyncIterator]()
      : (compressed as Iterable<Uint8Array>)[Symbol.iterator]()
  try {
    while (!inflate.destroyed) {
      const next = await pieces.next()
      if (inflate.destroyed) break
      if (next.done) {
        inflate.end()
        break
      }
      if (!inflate.write(next.value)) await drainedOrClosed(inflate)
    }
  } catch (err) {
    inflate.destroy(err as Error)
  } finally {
    await pieces.return?.()
  }
}

function drainedOrClosed(inflate: InflateRaw): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      inflate.off('drain', done)
      inflate.off('close', done)
      resolve()
    }
    inflate.on('drain', done)
    inflate.on('close', done)
  })
}

/**
 * The whole inflated data set. zlib stops as soon as the output passes the cap (maxOutputLength),
 * so a bomb costs at most the cap, never its inflated size.
 */
function inflateDataSet(compressed: Uint8Array, facts: ImageFacts, path: string): Uint8Array {
  const image = declaredPixelBytes(facts)
  const cap = Math.min(image + OTHER_ELEMENTS_ALLOWANCE, MAX_INFLATED)
  try {
    return inflateRawSync(compressed, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: cap })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE')
      throw new FileReadError(path, `deflated data set cannot be inflated: ${errorMessage(err)}`)
    const declared = `${facts.columns} x ${facts.rows} pixels, ${facts.samplesPerPixel} sample(s), ${facts.bitsAllocated} bits, ${facts.numberOfFrames} frame(s) = ${size(image)}`
    throw new FileReadError(
      path,
      cap === MAX_INFLATED
        ? `deflated data set inflates beyond ${MAX_INFLATED / MB} MB, the most CXR Studio inflates (its header declares ${declared})`
        : `deflated data set inflates beyond ${(cap / MB).toFixed(1)} MB, more than its image needs (${declared}, plus ${OTHER_ELEMENTS_ALLOWANCE / MB} MB for the other elements)`
    )
  }
}

function size(bytes: number): string {
  return bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`
}
