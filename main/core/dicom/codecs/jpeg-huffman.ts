// Huffman tables and the entropy-coded-segment bit reader shared by the DCT and lossless JPEG decoders.

export class JpegError extends Error {}

export interface HuffmanTable {
  /** 9-bit lookahead: (length << 8) | value, or 0 when the code is longer. */
  fast: Uint16Array
  maxCode: Int32Array
  valPtr: Int32Array
  minCode: Int32Array
  values: Uint8Array
}

export const LOOKAHEAD = 9

export function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1)
  const valPtr = new Int32Array(17)
  const minCode = new Int32Array(17)
  const fast = new Uint16Array(1 << LOOKAHEAD)
  let code = 0
  let k = 0
  for (let length = 1; length <= 16; length++) {
    valPtr[length] = k
    minCode[length] = code
    for (let i = 0; i < counts[length - 1]; i++) {
      if (length <= LOOKAHEAD) {
        const shift = LOOKAHEAD - length
        for (let fill = 0; fill < 1 << shift; fill++) fast[(code << shift) | fill] = (length << 8) | values[k]
      }
      code++
      k++
    }
    maxCode[length] = counts[length - 1] ? code - 1 : -1
    code <<= 1
  }
  maxCode[17] = 0x7fffffff
  return { fast, maxCode, valPtr, minCode, values }
}

/** Entropy-coded segment reader: byte stuffing removed, zeros fed once a marker is reached (as libjpeg does). */
export class BitReader {
  bitBuf = 0
  bitCnt = 0
  constructor(
    readonly data: Uint8Array,
    public pos: number
  ) {}

  fill(): void {
    const data = this.data
    while (this.bitCnt <= 24) {
      let byte = 0
      if (this.pos < data.length) {
        byte = data[this.pos]
        if (byte === 0xff) {
          if (data[this.pos + 1] === 0x00) this.pos += 2
          else byte = 0 // a marker: leave pos on it
        } else this.pos++
      }
      this.bitBuf = (this.bitBuf << 8) | byte
      this.bitCnt += 8
    }
  }

  receive(n: number): number {
    if (this.bitCnt < n) this.fill()
    this.bitCnt -= n
    return (this.bitBuf >>> this.bitCnt) & ((1 << n) - 1)
  }

  /** receive + EXTEND (T.81 F.2.2.1). */
  receiveExtend(n: number): number {
    const v = this.receive(n)
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v
  }

  /** The next LOOKAHEAD bits, without consuming them. */
  peek(): number {
    if (this.bitCnt < 16) this.fill()
    return (this.bitBuf >>> (this.bitCnt - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)
  }

  skip(n: number): void {
    this.bitCnt -= n
  }

  decode(t: HuffmanTable): number {
    if (this.bitCnt < 16) this.fill()
    const entry = t.fast[(this.bitBuf >>> (this.bitCnt - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)]
    if (entry) {
      this.bitCnt -= entry >> 8
      return entry & 0xff
    }
    let length = LOOKAHEAD + 1
    let code = (this.bitBuf >>> (this.bitCnt - length)) & ((1 << length) - 1)
    while (length <= 16 && code > t.maxCode[length]) {
      length++
      code = (this.bitBuf >>> (this.bitCnt - length)) & ((1 << length) - 1)
    }
    if (length > 16) throw new JpegError('corrupt JPEG data: bad Huffman code')
    this.bitCnt -= length
    return t.values[t.valPtr[length] + code - t.minCode[length]]
  }

  /** Byte-aligns and steps over the next RSTn marker. */
  restart(): void {
    this.bitBuf = 0
    this.bitCnt = 0
    const data = this.data
    while (
      this.pos < data.length &&
      !(data[this.pos] === 0xff && data[this.pos + 1] >= 0xd0 && data[this.pos + 1] <= 0xd7)
    )
      this.pos++
    this.pos += 2
  }
}

/**
 * AC coefficients whose Huffman code and magnitude bits both fit in the lookahead, decoded in one
 * table lookup (the stb_image "fast AC" trick): length 0 means "take the slow path".
 */
export interface FastAcTable {
  length: Uint8Array
  run: Uint8Array
  value: Int16Array
}

export function buildFastAc(t: HuffmanTable): FastAcTable {
  const size = 1 << LOOKAHEAD
  const table: FastAcTable = {
    length: new Uint8Array(size),
    run: new Uint8Array(size),
    value: new Int16Array(size)
  }
  for (let i = 0; i < size; i++) {
    const entry = t.fast[i]
    if (!entry) continue
    const codeLength = entry >> 8
    const s = entry & 15
    if (!s || codeLength + s > LOOKAHEAD) continue
    const magnitude = (i >> (LOOKAHEAD - codeLength - s)) & ((1 << s) - 1)
    table.value[i] = magnitude < 1 << (s - 1) ? magnitude - (1 << s) + 1 : magnitude
    table.run[i] = (entry & 0xff) >> 4
    table.length[i] = codeLength + s
  }
  return table
}

/** DC differences (DCT) or lossless differences whose code + extra bits fit in the lookahead: one lookup. */
export interface FastDiffTable {
  length: Uint8Array
  value: Int32Array
}

export function buildFastDiff(t: HuffmanTable): FastDiffTable {
  const size = 1 << LOOKAHEAD
  const table: FastDiffTable = { length: new Uint8Array(size), value: new Int32Array(size) }
  for (let i = 0; i < size; i++) {
    const entry = t.fast[i]
    if (!entry) continue
    const codeLength = entry >> 8
    const s = entry & 0xff
    if (s >= 16 || codeLength + s > LOOKAHEAD) continue
    const magnitude = s ? (i >> (LOOKAHEAD - codeLength - s)) & ((1 << s) - 1) : 0
    table.value[i] = s === 0 ? 0 : magnitude < 1 << (s - 1) ? magnitude - (1 << s) + 1 : magnitude
    table.length[i] = codeLength + s
  }
  return table
}
