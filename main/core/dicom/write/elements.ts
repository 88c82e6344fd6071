// Encodes DICOM data elements (PS3.5 section 7) in any of the three uncompressed encodings.

/** Value representations the writer emits. */
export type Vr =
  'AE' | 'CS' | 'DA' | 'DS' | 'IS' | 'LO' | 'OB' | 'OW' | 'PN' | 'SH' | 'TM' | 'UI' | 'UL' | 'US'

export interface Encoding {
  explicitVr: boolean
  littleEndian: boolean
}

export const EXPLICIT_LE: Encoding = { explicitVr: true, littleEndian: true }

/** A data element ready to encode: text values are joined with `\`, numbers are US/UL values. */
export interface Element {
  tag: number
  vr: Vr
  value: string | string[] | number[] | Uint8Array
}

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 table 7.1-1). */
const LONG_VRS = new Set<Vr>(['OB', 'OW'])

/** Header of an element: tag, VR and length in the given encoding (vr null: an item or delimiter). */
export function elementHeader(tag: number, vr: Vr | null, length: number, encoding: Encoding): Uint8Array {
  const le = encoding.littleEndian
  const explicit = encoding.explicitVr && vr !== null
  const long = explicit && LONG_VRS.has(vr)
  const bytes = new Uint8Array(long ? 12 : 8)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, tag >>> 16, le)
  view.setUint16(2, tag & 0xffff, le)
  if (!explicit) {
    view.setUint32(4, length, le)
    return bytes
  }
  bytes[4] = vr.charCodeAt(0)
  bytes[5] = vr.charCodeAt(1)
  if (long) view.setUint32(8, length, le)
  else view.setUint16(6, length, le)
  return bytes
}

/** The value bytes of an element, padded to even length as its VR requires (UI with NUL, text with space). */
export function encodeValue(element: Element, encoding: Encoding): Uint8Array {
  const { vr, value } = element
  if (value instanceof Uint8Array) return padEven(value, 0)
  if (vr === 'US' || vr === 'UL') {
    const numbers = value as number[]
    const size = vr === 'US' ? 2 : 4
    const bytes = new Uint8Array(numbers.length * size)
    const view = new DataView(bytes.buffer)
    numbers.forEach((n, i) =>
      size === 2
        ? view.setUint16(i * 2, n, encoding.littleEndian)
        : view.setUint32(i * 4, n, encoding.littleEndian)
    )
    return bytes
  }
  const text = Array.isArray(value) ? value.join('\\') : String(value)
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7e)
      throw new RangeError(
        `(${tagString(element.tag)}) ${vr}: only ASCII text is written, got ${JSON.stringify(text)}`
      )
  }
  return padEven(new TextEncoder().encode(text), vr === 'UI' ? 0 : 0x20)
}

export function encodeElement(element: Element, encoding: Encoding): Uint8Array {
  const value = encodeValue(element, encoding)
  if (value.length > 0xfffe && !LONG_VRS.has(element.vr) && encoding.explicitVr) {
    throw new RangeError(
      `(${tagString(element.tag)}) ${element.vr}: value of ${value.length} bytes is too long`
    )
  }
  return concat([elementHeader(element.tag, element.vr, value.length, encoding), value])
}

/** Encodes elements in ascending tag order, as PS3.5 section 7.1 requires. */
export function encodeDataset(elements: Element[], encoding: Encoding): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag)
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].tag === sorted[i - 1].tag)
      throw new RangeError(`duplicate element (${tagString(sorted[i].tag)})`)
  }
  return concat(sorted.map((element) => encodeElement(element, encoding)))
}

export function padEven(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes
  const padded = new Uint8Array(bytes.length + 1)
  padded.set(bytes)
  padded[bytes.length] = pad
  return padded
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export function tagString(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0')
  return `${hex.slice(0, 4)},${hex.slice(4)}`
}
