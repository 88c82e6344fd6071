// Mutations of a seed for the parser fuzz test, as fast-check arbitraries: byte flips, insertions and
// deletions, element lengths (huge, odd, past the end), VRs, header facts, item lengths inside
// encapsulated pixel data, truncation, and sequences nested deep. Each says what it did, so a
// failure names a case that can be rebuilt by hand.
import fc from 'fast-check'
import { encode, nestedSequence, splice, type ElementSpot, type Seed } from './seeds'

export interface Mutation {
  describe: string
  /** The file bytes to parse. */
  bytes: Uint8Array
}

const VRS = ['OB', 'OW', 'SQ', 'UN', 'UT', 'US', 'UL', 'SS', 'FD', 'LO', 'CS', 'AT', 'XX', 'ob', '\0\0', 'SV']

/** Values that break length arithmetic: undefined, huge, around 2^31, odd, past the end, zero. */
function lengthValues(spot: ElementSpot, fileLength: number): number[] {
  const four = [0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, 0x80000001, fileLength, fileLength * 2 + 1]
  const near = [0, 1, spot.length + 1, Math.max(0, spot.length - 1), spot.length * 2, spot.length + 3]
  return spot.lengthSize === 4 ? [...four, ...near] : [0xffff, 0xfffe, 0x8001, ...near.map((n) => n & 0xffff)]
}

/** Values for the US image facts (rows, columns, samples, bits, representation, planar config). */
const US_VALUES = [0, 1, 2, 3, 4, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 64, 255, 256, 4096, 32767, 32768, 65535]
const FACT_TAGS = new Set([
  'x00280002',
  'x00280006',
  'x00280010',
  'x00280011',
  'x00280100',
  'x00280101',
  'x00280102',
  'x00280103'
])
/** Values for text facts (Number of Frames, window, rescale, photometric, UIDs). */
const TEXT_VALUES = ['0', '-1', '2', '3', '65536', '99999999', '2147483648', 'abc', '1e9', 'nan', '', ' ', '\\', 'PALETTE COLOR', 'YBR_FULL', 'RGB']
const TEXT_TAGS = new Set(['x00280008', 'x00281050', 'x00281051', 'x00281052', 'x00281053', 'x00280004', 'x00020010', 'x00080018'])

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')

function writeUint(bytes: Uint8Array, at: number, size: 2 | 4, value: number, littleEndian: boolean): void {
  if (at < 0 || at + size > bytes.length) return
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (size === 2) view.setUint16(at, value & 0xffff, littleEndian)
  else view.setUint32(at, value >>> 0, littleEndian)
}

function textValue(spot: ElementSpot, text: string, full: Uint8Array): Uint8Array {
  // rewrite the value in place when it fits, else grow the element (its length field follows)
  const value = new TextEncoder().encode(text.length % 2 ? `${text} ` : text)
  const out = splice(full, spot.dataOffset, value, Math.min(spot.length, full.length - spot.dataOffset))
  writeUint(out, spot.lengthAt, spot.lengthSize, value.length, spot.littleEndian)
  return out
}

/** The arbitraries of one seed; each yields the mutated file and a description. */
export function mutationsOf(seed: Seed): fc.Arbitrary<Mutation> {
  const { full, elements } = seed
  const n = full.length
  const label = (describe: string, mutated: Uint8Array, compressed = false): Mutation => ({
    describe,
    bytes: compressed ? mutated : encode(seed, mutated)
  })
  const spot = fc.integer({ min: 0, max: elements.length - 1 }).map((i) => elements[i])
  const position = fc.integer({ min: 0, max: n - 1 })

  const flips = fc
    .array(fc.tuple(position, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 })
    .map((changes) => {
      const out = full.slice()
      for (const [at, xor] of changes) out[at] ^= xor
      return label(`flip ${changes.map(([at, x]) => `${at}^${x}`).join(',')}`, out)
    })
  const insert = fc
    .tuple(position, fc.uint8Array({ minLength: 1, maxLength: 16 }))
    .map(([at, bytes]) => label(`insert ${hex(bytes)} at ${at}`, splice(full, at, bytes)))
  const remove = fc
    .tuple(position, fc.integer({ min: 1, max: 64 }))
    .map(([at, count]) => label(`delete ${count} byte(s) at ${at}`, splice(full, at, new Uint8Array(0), Math.min(count, n - at))))
  const truncate = position.map((at) => label(`truncate at ${at}`, full.slice(0, at)))
  const length = spot.chain((s) =>
    fc.constantFrom(...lengthValues(s, n)).map((value) => {
      const out = full.slice()
      writeUint(out, s.lengthAt, s.lengthSize, value, s.littleEndian)
      return label(`length of ${s.tag} at ${s.at} = ${value}`, out)
    })
  )
  const explicitSpots = elements.filter((s) => s.vrAt !== null)
  const vr = explicitSpots.length
    ? fc.tuple(fc.constantFrom(...explicitSpots), fc.constantFrom(...VRS)).map(([s, v]) => {
        const out = full.slice()
        out[s.vrAt!] = v.charCodeAt(0)
        out[s.vrAt! + 1] = v.charCodeAt(1)
        return label(`VR of ${s.tag} at ${s.at} = ${JSON.stringify(v)}`, out)
      })
    : null
  const facts = elements.filter((e) => FACT_TAGS.has(e.tag) && e.length >= 2)
  const fact = facts.length
    ? fc.tuple(fc.constantFrom(...facts), fc.constantFrom(...US_VALUES)).map(([s, value]) => {
        const out = full.slice()
        writeUint(out, s.dataOffset, 2, value, s.littleEndian)
        return label(`${s.tag} = ${value}`, out)
      })
    : null
  const texts = elements.filter((e) => TEXT_TAGS.has(e.tag) && e.lengthSize === 2)
  const text = texts.length
    ? fc
        .tuple(fc.constantFrom(...texts), fc.constantFrom(...TEXT_VALUES))
        .map(([s, value]) => label(`${s.tag} = ${JSON.stringify(value)}`, textValue(s, value, full)))
    : null
  const items = seed.items
  const item = items.length
    ? fc
        .tuple(
          fc.constantFrom(...items),
          fc.constantFrom(0xffffffff, 0x7fffffff, 0, 1, 3, n, n * 4 + 1),
          fc.boolean()
        )
        .map(([it, value, tagToo]) => {
          const out = full.slice()
          writeUint(out, it.at + 4, 4, value, seed.littleEndian)
          // and sometimes the item tag itself, so the walk meets something that is not an item
          if (tagToo) writeUint(out, it.at, 2, 0x7fe0, seed.littleEndian)
          return label(`item at ${it.at}: length ${value}${tagToo ? ', tag broken' : ''}`, out)
        })
    : null
  const topLevel = elements.filter((e) => e.topLevel)
  const nest = fc
    .tuple(fc.constantFrom(...topLevel), fc.integer({ min: 1, max: 3000 }), fc.boolean())
    .map(([at, depth, defined]) =>
      label(
        `nest ${depth} ${defined ? 'defined' : 'undefined'}-length sequences before ${at.tag}`,
        splice(full, at.at, nestedSequence(depth, seed.explicit, seed.littleEndian, defined))
      )
    )
  const arbitraries: Array<fc.Arbitrary<Mutation>> = [flips, insert, remove, truncate, length, nest]
  for (const optional of [vr, fact, text, item]) if (optional) arbitraries.push(optional)
  if (seed.deflated) {
    // the compressed stream itself: flipped or cut short
    const file = encode(seed, full)
    const compressedAt = fc.integer({ min: seed.dataSetStart, max: file.length - 1 })
    arbitraries.push(
      fc.tuple(compressedAt, fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
        const out = file.slice()
        out[at] ^= xor
        return label(`compressed byte ${at}^${xor}`, out, true)
      }),
      compressedAt.map((at) => label(`compressed stream cut at ${at}`, file.slice(0, at), true))
    )
  }
  return fc.oneof(...arbitraries)
}

/** Truncations at the start, the second byte, the middle and the last byte of every region. */
export function truncations(seed: Seed): Mutation[] {
  const points = new Map<number, string>()
  for (const { name, start, end } of seed.regions) {
    for (const at of [start, start + 1, Math.floor((start + end) / 2), end - 1]) {
      if (at >= 0 && at < seed.full.length && !points.has(at)) points.set(at, name)
    }
  }
  return [...points].map(([at, region]) => ({
    describe: `truncate in ${region} at ${at}`,
    bytes: encode(seed, seed.full.slice(0, at))
  }))
}
