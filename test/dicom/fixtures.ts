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
