// Builders for label CSVs and submissions in the exact Kaggle formats, shared by the metric tests.
import type { StudyClass } from '../../common/domain'

export type Corners = [number, number, number, number]

export interface TruthSpec {
  studies: Array<{ studyId: string; cls: StudyClass }>
  images: Array<{ imageId: string; studyId: string; boxes: Corners[] }>
}

const STUDY_COLUMNS: StudyClass[] = ['negative', 'typical', 'indeterminate', 'atypical']

export function studyCsv(spec: TruthSpec): string {
  const lines = ['id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance']
  for (const s of spec.studies)
    lines.push([`${s.studyId}_study`, ...STUDY_COLUMNS.map((c) => (c === s.cls ? '1' : '0'))].join(','))
  return lines.join('\n') + '\n'
}

export function imageCsv(spec: TruthSpec): string {
  const lines = ['id,boxes,label,StudyInstanceUID']
  for (const image of spec.images) {
    const boxes = image.boxes.map(
      ([x1, y1, x2, y2]) => `{'x': ${x1}, 'y': ${y1}, 'width': ${x2 - x1}, 'height': ${y2 - y1}}`
    )
    const label = image.boxes.length
      ? image.boxes.map((b) => `opacity 1 ${b.join(' ')}`).join(' ')
      : 'none 1 0 0 1 1'
    lines.push(
      `${image.imageId}_image,${boxes.length ? `"[${boxes.join(', ')}]"` : ''},${label},${image.studyId}`
    )
  }
  return lines.join('\n') + '\n'
}

export function submissionCsv(rows: Array<[string, string]>): string {
  return ['id,PredictionString', ...rows.map(([id, ps]) => `${id},${ps}`)].join('\n') + '\n'
}

/** A small seeded generator (mulberry32) so random cases are reproducible from their seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
