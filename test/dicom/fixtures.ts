// The generated DICOM fixtures (test/fixtures/dicom/make-fixtures.py) and their reference arrays.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readNpy } from './npy'

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'dicom')

export interface Fixture {
  file: string
  image: string
  syntax: string
  transferSyntaxUid: string
  lossless: boolean
  /** Modality values of the generated pixels. */
  original: string
  /** Stored values of the generated pixels. */
  stored: string
  /** Lossy only: dcmtk/gdcm's own decoding, as modality values. */
  codec?: string
  codecTool?: string
  tolerance?: number
  /** pydicom 2.3's pixel_array with its modality LUT, where pydicom can decode the syntax. */
  pydicom: string | null
  frames?: number
}

export const fixtures: Fixture[] = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')).fixtures

export function fixturePath(fixture: Fixture | string): string {
  return join(FIXTURES, typeof fixture === 'string' ? fixture : fixture.file)
}

export function reference(path: string): Float64Array {
  return readNpy(join(FIXTURES, path)).values
}

/** Largest absolute difference between two equally long arrays (Infinity when lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
  return worst
}

/** The thirteen transfer syntaxes the app reads (the brief's list), which the fixtures must cover. */
export const READABLE_SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80',
  '1.2.840.10008.1.2.4.81',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.5'
]
