import type { Command } from 'commander'
import type { Dataset } from '../../../common/dataset'
import { STUDY_CLASSES } from '../../../common/domain'
import { openDataset } from '../../core/dataset'
import { computeEda, type Eda, type Summary } from '../../core/eda'
import { formatLabelError } from '../../core/labels'
import { workspaceOf, printJson } from '../context'
import { stderrProgress } from '../progress'

export function registerEda(program: Command): void {
  program
    .command('eda')
    .description(
      'label distribution (from the CSVs, before any filter policy) and the DICOM header mix of a dataset folder'
    )
    .argument('<dir>', 'dataset folder (Kaggle layout, or any folder of DICOMs)')
    .option('--json', 'print the report as one JSON document')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const progress = stderrProgress()
      let dataset: Dataset
      try {
        dataset = await openDataset(dir, { workspace: workspaceOf(command), onProgress: progress })
      } finally {
        progress.stop()
      }
      warnSkippedRows(dataset)
      const eda = computeEda(dataset)
      if (options.json) printJson(eda)
      else process.stdout.write(formatEda(eda, dataset))
    })
}

/** Rows the CSV parser could not use, listed on stderr: the counts are of the rows that loaded. */
const LISTED_ROW_ERRORS = 20
function warnSkippedRows(dataset: Dataset): void {
  const errors = dataset.labelErrors
  for (const error of errors.slice(0, LISTED_ROW_ERRORS))
    process.stderr.write(`warning: ${formatLabelError(error)}\n`)
  if (errors.length > LISTED_ROW_ERRORS)
    process.stderr.write(
      `warning: ... and ${errors.length - LISTED_ROW_ERRORS} more (cxr-studio quality lists all)\n`
    )
}

const n = (value: number) => value.toLocaleString('en-US')
const pct = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : '-')
const px = (s: Summary | null) => (s ? `min ${n(s.min)}  median ${n(s.median)}  max ${n(s.max)}` : '-')
const fixed = (s: Summary | null, digits: number) =>
  s
    ? `min ${s.min.toFixed(digits)}  median ${s.median.toFixed(digits)}  max ${s.max.toFixed(digits)}  mean ${s.mean.toFixed(digits)}`
    : '-'
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([key, count]) => `${key}: ${n(count)}`)
    .join('  ') || '-'

/** The readable report of `cxr-studio eda` (without --json). */
export function formatEda(eda: Eda, dataset: Dataset): string {
  const out: string[] = []
  const layout = dataset.kaggleLayout ? 'Kaggle layout' : 'folder of DICOMs'
  out.push(`Dataset  ${dataset.root}  (${layout})`, '')

  const { studies, images } = eda
  out.push(
    `Studies  ${n(studies.total)}  (rows of ${dataset.labelFiles.study ?? 'train_study_level.csv: absent'})`
  )
  for (const cls of STUDY_CLASSES)
    out.push(
      `  ${cls.padEnd(15)}${n(studies[cls]).padStart(8)}  ${pct(studies[cls], studies.total).padStart(6)}`
    )
  if (studies.notOneHot) out.push(`  ${'not one-hot'.padEnd(15)}${n(studies.notOneHot).padStart(8)}`)
  out.push(
    `Images   ${n(images.total)}  (rows of ${dataset.labelFiles.image ?? 'train_image_level.csv: absent'}): ` +
      `${n(images.withBoxes)} with boxes, ${n(images.withoutBoxes)} without`,
    `Positives without boxes  ${n(eda.positivesWithoutBoxes.images)} images, ${n(eda.positivesWithoutBoxes.studies)} studies`,
    ''
  )

  out.push(`Boxes    ${n(eda.boxes.total)}`)
  out.push(`  width (px)    ${fixed(eda.boxes.width, 1)}`, `  height (px)   ${fixed(eda.boxes.height, 1)}`)
  out.push(`  area/image    ${fixed(eda.boxes.areaFraction, 4)}`)
  const boxCounts = [...new Set(Object.values(eda.boxesPerImage).flatMap((h) => Object.keys(h ?? {})))].sort(
    (a, b) => Number(a) - Number(b)
  )
  if (boxCounts.length > 0) {
    out.push('Boxes per image, by study class')
    out.push(`  ${'boxes'.padEnd(15)}${boxCounts.map((k) => k.padStart(7)).join('')}`)
    for (const [cls, histogram] of Object.entries(eda.boxesPerImage)) {
      if (!histogram || Object.keys(histogram).length === 0) continue
      out.push(`  ${cls.padEnd(15)}${boxCounts.map((k) => n(histogram[k] ?? 0).padStart(7)).join('')}`)
    }
  }
  out.push(`Images per study  ${counts(eda.imagesPerStudy)}`, '')

  out.push(
    `Files    ${n(eda.files.total)} readable (train ${n(eda.files.train)}, test ${n(eda.files.test)}), ${n(eda.files.unreadable)} unreadable`
  )
  out.push(`  rows (px)     ${px(eda.imageSize.rows)}`, `  columns (px)  ${px(eda.imageSize.columns)}`)
  out.push(
    `  rows histogram     ${counts(eda.imageSize.rowsHistogram)}`,
    `  columns histogram  ${counts(eda.imageSize.columnsHistogram)}`
  )
  out.push(`  bits stored   ${counts(eda.bitsStored)}`, `  photometric   ${counts(eda.photometric)}`)
  out.push('  transfer syntax')
  for (const ts of eda.transferSyntax)
    out.push(`    ${n(ts.count).padStart(7)}  ${ts.uid.padEnd(24)} ${ts.name}`)
  return out.join('\n') + '\n'
}
