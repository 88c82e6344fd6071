// DICOM RLE encoder (PS3.5 annex G): one PackBits segment per byte plane, most significant byte first.

const HEADER_BYTES = 64
const MAX_SEGMENTS = 15

/**
 * Encodes one greyscale frame. Samples are split into byte planes (for 16-bit: high bytes, then low
 * bytes); each plane is PackBits-compressed row by row, since runs must not cross a row (G.3.1).
 */
export function encodeRleFrame(
  samples: Uint8Array | Uint16Array | Int16Array,
  rows: number,
  columns: number
): Uint8Array {
  const bytesPerSample = samples instanceof Uint8Array ? 1 : 2
  if (bytesPerSample > MAX_SEGMENTS) throw new RangeError('too many RLE segments')
  const segments: Uint8Array[] = []
  const plane = new Uint8Array(columns)
  for (let byte = bytesPerSample - 1; byte >= 0; byte--) {
    const shift = byte * 8
    const out = new GrowableBytes(rows * columns + rows * Math.ceil(columns / 128) + 2)
    for (let row = 0; row < rows; row++) {
      const start = row * columns
      for (let col = 0; col < columns; col++) plane[col] = (samples[start + col] >> shift) & 0xff
      packBitsRow(plane, out)
    }
    // segments start on even offsets; decoders stop after rows*columns bytes so the pad is ignored
    if (out.length % 2 === 1) out.push(0)
    segments.push(out.bytes())
  }

  const total = HEADER_BYTES + segments.reduce((sum, s) => sum + s.length, 0)
  const frame = new Uint8Array(total)
  const header = new DataView(frame.buffer)
  header.setUint32(0, segments.length, true)
  let offset = HEADER_BYTES
  segments.forEach((segment, i) => {
    header.setUint32(4 + i * 4, offset, true)
    frame.set(segment, offset)
    offset += segment.length
  })
  return frame
}

/** PackBits: `n` in 0..127 copies n+1 literal bytes, `-n` in -1..-127 repeats the next byte n+1 times. */
function packBitsRow(row: Uint8Array, out: GrowableBytes): void {
  const n = row.length
  let i = 0
  while (i < n) {
    let run = 1
    while (i + run < n && run < 128 && row[i + run] === row[i]) run++
    if (run >= 3) {
      out.push(257 - run)
      out.push(row[i])
      i += run
      continue
    }
    // a literal run ends where a replicate run of 3 or more begins (shorter repeats cost nothing extra inside it)
    let end = i
    while (end < n && end - i < 128) {
      if (end + 2 < n && row[end] === row[end + 1] && row[end] === row[end + 2]) break
      end++
    }
    out.push(end - i - 1)
    for (let k = i; k < end; k++) out.push(row[k])
    i = end
  }
}

class GrowableBytes {
  private buffer: Uint8Array
  length = 0
  constructor(capacity: number) {
    this.buffer = new Uint8Array(Math.max(16, capacity))
  }
  push(byte: number): void {
    if (this.length === this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2)
      bigger.set(this.buffer)
      this.buffer = bigger
    }
    this.buffer[this.length++] = byte
  }
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }
}
