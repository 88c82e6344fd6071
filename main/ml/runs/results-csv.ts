// results.csv: one row per finished epoch, readable by a spreadsheet, pandas or Ultralytics' plots.
//
// Column names follow Ultralytics (YOLOv8/11 `results.csv`), so `ultralytics.utils.plotting.plot_results`
// draws a run: it plots every column whose name holds "loss" and then every one holding "metric",
// first halves on the top row and second halves on the bottom row, against the first column. Hence
// `epoch` first, the train losses before the val losses in the same order, and an even number of
// `metrics/` columns. The mapping onto ours:
//   time              cumulative training seconds over all sessions (EpochRecord.elapsed), as Ultralytics
//   train/<part>_loss mean training loss part of the epoch: box_loss and cls_loss first as Ultralytics,
//                     then ours (centerness_loss for FCOS, study_loss, none_loss, total_loss)
//   metrics/mAP50(B)  opacity AP at IoU 0.5 (the competition's box class; = ap/opacity)
//   metrics/final     the competition score (= final), the second metric panel of plot_results
//   val/<part>_loss   mean validation loss part
//   lr/pg0            learning rate at the epoch's last step (one parameter group)
// then the competition columns as before (ap/<class>: the AP of each of the six classes every epoch,
// studyMap, imageMap, final), final_smoothed (the mean final score of this and the two epochs before
// it, what --best-by smoothed compares: common/best-epoch.ts) and epoch_time,
// the wall-clock seconds of the epoch. No precision, recall or mAP50-95 columns: the validation
// computes only the competition metric (AP at IoU 0.5).
import { SCORED_CLASSES } from '../../../common/domain'
import type { EpochRecord } from '../../../common/contract/training'

export type { EpochRecord, LossParts } from '../../../common/contract/training'

interface Column {
  name: string
  value: (record: EpochRecord) => number | null | undefined
}

/** Ultralytics' loss parts first (box, cls), then the others in the detector's order, total last. */
function orderedLossKeys(lossKeys: readonly string[]): string[] {
  const first = ['box', 'cls'].filter((k) => lossKeys.includes(k))
  const rest = lossKeys.filter((k) => !first.includes(k) && k !== 'total')
  return [...first, ...rest, ...(lossKeys.includes('total') ? ['total'] : [])]
}

/** Every column but `epoch`, in file order: one table, so the CSV, its parser and TensorBoard agree. */
function columns(lossKeys: readonly string[]): Column[] {
  const losses = orderedLossKeys(lossKeys)
  return [
    { name: 'time', value: (r) => r.elapsed },
    ...losses.map((k) => ({ name: `train/${k}_loss`, value: (r: EpochRecord) => r.train[k] })),
    { name: 'metrics/mAP50(B)', value: (r) => r.ap.opacity },
    { name: 'metrics/final', value: (r) => r.final },
    ...losses.map((k) => ({ name: `val/${k}_loss`, value: (r: EpochRecord) => r.val?.[k] })),
    { name: 'lr/pg0', value: (r) => r.lr },
    ...SCORED_CLASSES.map((c) => ({ name: `ap/${c}`, value: (r: EpochRecord) => r.ap[c] })),
    { name: 'studyMap', value: (r) => r.studyMap },
    { name: 'imageMap', value: (r) => r.imageMap },
    { name: 'final', value: (r) => r.final },
    { name: 'final_smoothed', value: (r) => r.finalSmoothed },
    { name: 'epoch_time', value: (r) => r.seconds }
  ]
}

export function resultsHeader(lossKeys: readonly string[]): string[] {
  return ['epoch', ...columns(lossKeys).map((c) => c.name)]
}

function cell(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return ''
  return String(Number(value.toPrecision(6)))
}

export function resultsRow(record: EpochRecord, lossKeys: readonly string[]): string[] {
  return [String(record.epoch), ...columns(lossKeys).map((c) => cell(c.value(record)))]
}

export function formatResultsCsv(records: readonly EpochRecord[], lossKeys: readonly string[]): string {
  const lines = [resultsHeader(lossKeys), ...records.map((r) => resultsRow(r, lossKeys))]
  return lines.map((fields) => fields.join(',')).join('\n') + '\n'
}

/** The scalars of one epoch under the same names and values as the CSV columns (for TensorBoard). */
export function epochScalars(record: EpochRecord, lossKeys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const column of columns(lossKeys)) {
    const text = cell(column.value(record))
    if (text !== '') out[column.name] = Number(text)
  }
  return out
}

/** Parses results.csv back into column -> value maps (empty cells are null). */
export function parseResultsCsv(text: string): Array<Record<string, number | null>> {
  const [headerLine, ...lines] = text.trim().split(/\r?\n/)
  const header = headerLine.split(',')
  return lines.map((line) => {
    const fields = line.split(',')
    return Object.fromEntries(
      header.map((name, i) => [name, fields[i] === '' || fields[i] === undefined ? null : Number(fields[i])])
    )
  })
}
