// TensorBoard event files written by hand: TFRecord framing (length, masked CRC32C, payload, masked
// CRC32C) around Event protobufs that carry scalar Summaries. No TensorFlow needed to write or read.

/** One scalar point, as TensorBoard's scalar dashboard shows it. */
export interface ScalarEvent {
  tag: string
  step: number
  value: number
  /** Seconds since the epoch. */
  wallTime: number
}

// ---- CRC32C (Castagnoli), the checksum TFRecord uses ----

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** TFRecord stores a rotated, offset CRC so that CRCs of CRCs do not degenerate. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes)
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0
}

// ---- a tiny protobuf encoder for the fields we need ----

class ProtoWriter {
  private readonly parts: number[] = []

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value))
    do {
      let byte = Number(v & 0x7fn)
      v >>= 7n
      if (v > 0n) byte |= 0x80
      this.parts.push(byte)
    } while (v > 0n)
    return this
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType)
  }

  double(field: number, value: number): this {
    const bytes = new Uint8Array(8)
    new DataView(bytes.buffer).setFloat64(0, value, true)
    this.tag(field, 1).parts.push(...bytes)
    return this
  }

  float(field: number, value: number): this {
    const bytes = new Uint8Array(4)
    new DataView(bytes.buffer).setFloat32(0, value, true)
    this.tag(field, 5).parts.push(...bytes)
    return this
  }

  int64(field: number, value: number): this {
    return this.tag(field, 0).varint(Math.trunc(value))
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2)
      .varint(value.length)
      .parts.push(...value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
// Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }

function encodeEvent(
  wallTime: number,
  step: number,
  body: { fileVersion?: string; scalars?: Array<[string, number]> }
): Uint8Array {
  const event = new ProtoWriter().double(1, wallTime).int64(2, step)
  if (body.fileVersion) event.string(3, body.fileVersion)
  if (body.scalars) {
    const summary = new ProtoWriter()
    for (const [tag, value] of body.scalars)
      summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish())
    event.bytes(5, summary.finish())
  }
  return event.finish()
}

/** One TFRecord: uint64 length, masked CRC of the length, payload, masked CRC of the payload (all little-endian). */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length + 4)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(payload.length), true)
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(payload, 12)
  view.setUint32(12 + payload.length, maskedCrc32c(payload), true)
  return out
}

/** The first record of every event file: TensorBoard checks it names the format version. */
export function fileVersionRecord(wallTime: number): Uint8Array {
  return frameRecord(encodeEvent(wallTime, 0, { fileVersion: 'brain.Event:2' }))
}

/** One record holding several scalars of the same step (TensorBoard splits them by tag). */
export function scalarsRecord(step: number, scalars: Record<string, number>, wallTime: number): Uint8Array {
  const finite = Object.entries(scalars).filter(([, v]) => Number.isFinite(v))
  return frameRecord(encodeEvent(wallTime, step, { scalars: finite }))
}

// ---- reading back (tests, resume) ----

class ProtoReader {
  pos = 0
  constructor(readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.bytes.length
  }

  varint(): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error('protobuf: varint runs past the end')
      const byte = this.bytes[this.pos++]
      result |= BigInt(byte & 0x7f) << shift
      if (!(byte & 0x80)) return result
      shift += 7n
    }
  }

  /** Reads one field: [field number, wire type, value]. */
  field(): [number, number, bigint | number | Uint8Array] {
    const key = Number(this.varint())
    const wire = key & 7
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
    let value: bigint | number | Uint8Array
    if (wire === 0) value = this.varint()
    else if (wire === 1) {
      value = view.getFloat64(this.pos, true)
      this.pos += 8
    } else if (wire === 5) {
      value = view.getFloat32(this.pos, true)
      this.pos += 4
    } else if (wire === 2) {
      const length = Number(this.varint())
      value = this.bytes.subarray(this.pos, this.pos + length)
      this.pos += length
    } else throw new Error(`protobuf: unsupported wire type ${wire}`)
    return [key >> 3, wire, value]
  }
}

export interface DecodedEvent {
  wallTime: number
  step: number
  fileVersion?: string
  scalars: Array<{ tag: string; value: number }>
}

/** Where an event file stops being readable: the byte its first bad record starts at, and why. */
export interface TornTail {
  at: number
  /** Bytes from `at` to the end of the file, all dropped. */
  bytes: number
  reason: string
}

/**
 * The records of an event file up to the first one that is cut short or fails a CRC, and what is
 * dropped from there on (null when every record is whole). After a bad record the framing cannot
 * be trusted, so nothing behind it is read.
 */
export function readIntactRecords(file: Uint8Array): { records: Uint8Array[]; torn: TornTail | null } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const records: Uint8Array[] = []
  let pos = 0
  const torn = (reason: string) => ({
    records,
    torn: { at: pos, bytes: file.length - pos, reason: `event file: ${reason} at byte ${pos}` }
  })
  while (pos < file.length) {
    if (pos + 12 > file.length) return torn('truncated record header')
    const length = Number(view.getBigUint64(pos, true))
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(file.subarray(pos, pos + 8)))
      return torn('bad length CRC')
    const payload = file.subarray(pos + 12, pos + 12 + length)
    if (payload.length !== length || pos + 16 + length > file.length) return torn('truncated record')
    if (view.getUint32(pos + 12 + length, true) !== maskedCrc32c(payload)) return torn('bad data CRC')
    records.push(payload)
    pos += 16 + length
  }
  return { records, torn: null }
}

/** Splits an event file into records, checking both CRCs of each; throws on a corrupt record. */
export function readRecords(file: Uint8Array): Uint8Array[] {
  const { records, torn } = readIntactRecords(file)
  if (torn) throw new Error(torn.reason)
  return records
}

export function decodeEvent(payload: Uint8Array): DecodedEvent {
  const event: DecodedEvent = { wallTime: 0, step: 0, scalars: [] }
  const reader = new ProtoReader(payload)
  while (!reader.done()) {
    const [field, , value] = reader.field()
    if (field === 1) event.wallTime = value as number
    else if (field === 2) event.step = Number(BigInt.asIntN(64, value as bigint))
    else if (field === 3) event.fileVersion = new TextDecoder().decode(value as Uint8Array)
    else if (field === 5) {
      const summary = new ProtoReader(value as Uint8Array)
      while (!summary.done()) {
        const [summaryField, , valueBytes] = summary.field()
        if (summaryField !== 1) continue
        const entry = new ProtoReader(valueBytes as Uint8Array)
        let tag = ''
        let scalar = NaN
        while (!entry.done()) {
          const [f, , v] = entry.field()
          if (f === 1) tag = new TextDecoder().decode(v as Uint8Array)
          else if (f === 2) scalar = v as number
        }
        event.scalars.push({ tag, value: scalar })
      }
    }
  }
  return event
}

/** Every scalar of an event file, in file order; throws on a torn or corrupt record. */
export function readScalars(file: Uint8Array): ScalarEvent[] {
  return scalarsOf(readRecords(file))
}

/** The scalars of the records before a torn or corrupt one (a reader showing curves of a damaged file). */
export function readIntactScalars(file: Uint8Array): ScalarEvent[] {
  return scalarsOf(readIntactRecords(file).records)
}

function scalarsOf(records: readonly Uint8Array[]): ScalarEvent[] {
  const out: ScalarEvent[] = []
  for (const record of records) {
    const event = decodeEvent(record)
    for (const { tag, value } of event.scalars)
      out.push({ tag, step: event.step, value, wallTime: event.wallTime })
  }
  return out
}
