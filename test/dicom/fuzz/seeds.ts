// The valid files the parser fuzz test starts from, with a map of where their structure lies
// (element headers, lengths, VRs, fragments, regions) so mutations can aim at it.
import { readFileSync, readdirSync } from 'node:fs'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type { DataSet, Element } from 'dicom-parser'
import { dicomParser } from '../../../main/core/dicom/parse'
import { TS } from '../../../main/core/dicom/transfer-syntax'
import { writeDicom, type DicomImage } from '../../../main/core/dicom/write'
import { FIXTURES, fixturePath } from '../fixtures'

/** An element header in a seed: offsets into `Seed.full`. */
export interface ElementSpot {
  tag: string
  at: number
  vrAt: number | null
  lengthAt: number
  lengthSize: 2 | 4
  dataOffset: number
  length: number
  littleEndian: boolean
  /** Top-level element of the data set (not in a sequence, not the meta group). */
  topLevel: boolean
}

export interface Seed {
  name: string
  transferSyntaxUid: string
  /** The file with its data set inflated (a deflated seed is deflated again by `encode`). */
  full: Uint8Array
  /** Where the data set starts in `full` (0 for a bare data set). */
  dataSetStart: number
  deflated: boolean
  explicit: boolean
  littleEndian: boolean
  elements: ElementSpot[]
  /** Item headers of the encapsulated pixel data (offset table first), as offsets into `full`. */
  items: Array<{ at: number; length: number }>
  /** Named byte ranges of `full`, for truncation inside each. */
  regions: Array<{ name: string; start: number; end: number }>
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'SQ', 'SV', 'UC', 'UR', 'UT', 'UN', 'UV'])
const identity = (bytes: Uint8Array) => bytes

/** The file bytes of a (mutated) `full`: deflated again when the seed is deflated. */
export function encode(seed: Seed, full: Uint8Array): Uint8Array {
  if (!seed.deflated) return full
  const body = deflateRawSync(full.subarray(Math.min(seed.dataSetStart, full.length)))
  const file = new Uint8Array(seed.dataSetStart + body.length)
  file.set(full.subarray(0, seed.dataSetStart))
  file.set(body, seed.dataSetStart)
  return file
}

/** Maps a valid file (deflated data set already inflated in `full`) into a seed. */
export function seedOf(name: string, full: Uint8Array, rawSyntax?: string): Seed {
  const meta = rawSyntax ? null : dicomParser.readPart10Header(full)
  const dataSetStart = meta ? (meta as DataSet & { position: number }).position : 0
  const dataSet = dicomParser.parseDicom(full, {
    inflater: identity,
    ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {})
  })
  const transferSyntaxUid = rawSyntax ?? dataSet.string('x00020010')!.replace(/\0/g, '').trim()
  const explicit = transferSyntaxUid !== TS.implicitLittle
  const littleEndian = transferSyntaxUid !== TS.explicitBig
  const elements: ElementSpot[] = []
  const items: Seed['items'] = []
  const collect = (set: DataSet, topLevel: boolean) => {
    for (const element of Object.values(set.elements)) {
      if (element.dataOffset === undefined) continue // the syntax dicom-parser assumes for a bare data set
      const inMeta = element.tag < 'x00030000'
      const vrExplicit = inMeta || explicit
      const long = vrExplicit && LONG_VRS.has(element.vr ?? '')
      const headerSize = vrExplicit ? (long ? 12 : 8) : 8
      const at = element.dataOffset - headerSize
      elements.push({
        tag: element.tag,
        at,
        vrAt: vrExplicit ? at + 4 : null,
        lengthAt: vrExplicit ? (long ? at + 8 : at + 6) : at + 4,
        lengthSize: vrExplicit && !long ? 2 : 4,
        dataOffset: element.dataOffset,
        length: element.length,
        littleEndian: inMeta || littleEndian,
        topLevel: topLevel && !inMeta
      })
      for (const item of element.items ?? []) {
        items.push({ at: item.dataOffset - 8, length: item.length })
        if (item.dataSet) collect(item.dataSet, false)
      }
      if (element.tag === 'x7fe00010' && element.encapsulatedPixelData) pixelItems(element, items)
    }
  }
  collect(dataSet, true)
  elements.sort((a, b) => a.at - b.at)
  items.sort((a, b) => a.at - b.at)
  return {
    name,
    transferSyntaxUid,
    full,
    dataSetStart,
    deflated: transferSyntaxUid === TS.deflatedLittle,
    explicit,
    littleEndian,
    elements,
    items,
    regions: regionsOf(full, dataSetStart, elements, items)
  }
}

function pixelItems(pixelData: Element, items: Seed['items']): void {
  // the offset table item starts the value; each fragment's data follows its 8-byte item header
  items.push({ at: pixelData.dataOffset, length: pixelData.basicOffsetTable ? pixelData.basicOffsetTable.length * 4 : 0 })
  for (const fragment of pixelData.fragments ?? []) items.push({ at: fragment.position - 8, length: fragment.length })
}

function regionsOf(full: Uint8Array, dataSetStart: number, elements: ElementSpot[], items: Seed['items']) {
  const pixel = elements.find((e) => e.tag === 'x7fe00010')!
  const regions = [
    { name: 'preamble', start: 0, end: dataSetStart ? 128 : 0 },
    { name: 'DICM marker', start: dataSetStart ? 128 : 0, end: dataSetStart ? 132 : 0 },
    { name: 'meta group', start: dataSetStart ? 132 : 0, end: dataSetStart },
    { name: 'data set', start: dataSetStart, end: pixel.at },
    { name: 'pixel data header', start: pixel.at, end: pixel.dataOffset },
    { name: 'pixel data', start: pixel.dataOffset, end: full.length }
  ]
  items
    .filter((item) => item.at >= pixel.dataOffset)
    .forEach((item, i) => regions.push({ name: `pixel item ${i}`, start: item.at, end: item.at + 8 + item.length }))
  return regions.filter((region) => region.end > region.start)
}

/** A fixture file as a seed (a deflated one with its data set inflated). */
export function fixtureSeed(file: string): Seed {
  const bytes = new Uint8Array(readFileSync(fixturePath(file)))
  const meta = dicomParser.readPart10Header(bytes) as DataSet & { position: number }
  const syntax = meta.string('x00020010')!.replace(/\0/g, '').trim()
  if (syntax !== TS.deflatedLittle) return seedOf(file, bytes)
  const inflated = inflateRawSync(bytes.subarray(meta.position)) // a known small fixture
  const full = new Uint8Array(meta.position + inflated.length)
  full.set(bytes.subarray(0, meta.position))
  full.set(inflated, meta.position)
  return seedOf(file, full)
}

/** Every committed fixture: every transfer syntax the app reads, and one it refuses. */
export function fixtureSeeds(): Seed[] {
  return readdirSync(`${FIXTURES}/files`)
    .filter((name) => name.endsWith('.dcm'))
    .sort()
    .map((name) => fixtureSeed(`files/${name}`))
}

const image: DicomImage = {
  rows: 24,
  columns: 20,
  bitsAllocated: 16,
  bitsStored: 12,
  pixelRepresentation: 0,
  photometric: 'MONOCHROME2',
  pixels: Uint16Array.from({ length: 24 * 20 }, (_, i) => (i * 37) % 4096),
  studyInstanceUid: '1.2.3.4',
  seriesInstanceUid: '1.2.3.4.5',
  sopInstanceUid: '1.2.3.4.5.6',
  modality: 'DX'
}

/** A sequence (0009,1001) nested `depth` deep, in the seed's encoding; undefined or defined lengths. */
export function nestedSequence(depth: number, explicit: boolean, littleEndian: boolean, defined: boolean): Uint8Array {
  const u16 = (n: number) => (littleEndian ? [n & 0xff, n >> 8] : [n >> 8, n & 0xff])
  const u32 = (n: number) =>
    littleEndian
      ? [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]
      : [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
  const tag = (group: number, element: number) => [...u16(group), ...u16(element)]
  const sqHeader = (length: number) =>
    explicit ? [...tag(0x0009, 0x1001), 0x53, 0x51, 0, 0, ...u32(length)] : [...tag(0x0009, 0x1001), ...u32(length)]
  const itemHeader = (length: number) => [...tag(0xfffe, 0xe000), ...u32(length)]
  const leaf = explicit
    ? [...tag(0x0009, 0x1002), 0x4c, 0x4f, ...u16(2), 0x78, 0x20]
    : [...tag(0x0009, 0x1002), ...u32(2), 0x78, 0x20]
  const levelHeader = sqHeader(0).length + 8
  const closing = [...tag(0xfffe, 0xe00d), ...u32(0), ...tag(0xfffe, 0xe0dd), ...u32(0)]
  const out = new Uint8Array(depth * (levelHeader + (defined ? 0 : closing.length)) + leaf.length)
  // level 0 is the outermost; with defined lengths each level's length covers everything inside it
  for (let level = 0; level < depth; level++) {
    const inside = (depth - level - 1) * levelHeader + leaf.length
    const header = defined
      ? [...sqHeader(inside + 8), ...itemHeader(inside)]
      : [...sqHeader(0xffffffff), ...itemHeader(0xffffffff)]
    out.set(header, level * levelHeader)
    if (!defined) out.set(closing, depth * levelHeader + leaf.length + (depth - level - 1) * closing.length)
  }
  out.set(leaf, depth * levelHeader)
  return out
}

/** Inserts `bytes` at `at`. */
export function splice(full: Uint8Array, at: number, bytes: Uint8Array, remove = 0): Uint8Array {
  const out = new Uint8Array(full.length - remove + bytes.length)
  out.set(full.subarray(0, at))
  out.set(bytes, at)
  out.set(full.subarray(at + remove), at + bytes.length)
  return out
}

/**
 * Seeds made here, for structure the fixtures lack: many fragments, a bare data set without
 * preamble or meta group, and nested sequences (undefined and defined lengths) before the pixels.
 */
export async function generatedSeeds(): Promise<Seed[]> {
  const seeds: Seed[] = []
  const fragmented = await writeDicom(image, 'jpeg-ls-lossless', { fragmentSize: 64 })
  seeds.push(seedOf('generated/jpegls-fragments.dcm', fragmented))
  const j2k = await writeDicom(image, 'j2k-lossless', { fragmentSize: 100 })
  seeds.push(seedOf('generated/j2k-fragments.dcm', j2k))
  for (const [syntax, name] of [
    ['explicit-le', 'explicit'],
    ['implicit-le', 'implicit'],
    ['explicit-be', 'bigendian']
  ] as const) {
    const file = await writeDicom(image, syntax)
    const seed = seedOf(`generated/${name}.dcm`, file)
    const at = seed.elements.find((e) => e.topLevel && e.tag > 'x00090000')!.at
    for (const defined of [false, true]) {
      const nested = splice(file, at, nestedSequence(8, seed.explicit, seed.littleEndian, defined))
      seeds.push(seedOf(`generated/${name}-nested-${defined ? 'defined' : 'undefined'}.dcm`, nested))
    }
  }
  const implicit = fixtureSeed('files/mono2_u12.implicit.dcm')
  seeds.push(seedOf('generated/bare-implicit.dcm', implicit.full.slice(implicit.dataSetStart), TS.implicitLittle))
  const explicit = fixtureSeed('files/mono2_u12.explicit.dcm')
  seeds.push(seedOf('generated/bare-explicit.dcm', explicit.full.slice(explicit.dataSetStart), TS.explicitLittle))
  return seeds
}
