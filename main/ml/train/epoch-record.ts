// What an epoch leaves behind: its record (a row of results.csv, the epoch scalars of the TensorBoard
// file), the trainer state moved on to the next epoch, and a line in words for train.log.
import { join } from 'node:path'
import { describeBestRule, smoothedScore } from '../../../common/best-epoch'
import { SCORED_CLASSES } from '../../../common/domain'
import type { BestBy } from '../../../common/training'
import { writeFileAtomic } from '../../core/fs-atomic'
import { EventFile } from '../runs/event-file'
import { formatResultsCsv, type EpochRecord, type LossParts } from '../runs/results-csv'
import { RUN_FILES, type RunLog } from '../runs/run-folder'
import { observeEpoch } from './early-stop'
import type { BestScore } from './events'
import type { TrainerState } from './run-record'
import type { ValidationResult } from './validate'

export function epochRecord(
  epoch: number,
  train: LossParts,
  validation: ValidationResult | null,
  facts: Pick<EpochRecord, 'lr' | 'seconds' | 'elapsed' | 'frozen'>
): EpochRecord {
  return {
    epoch: epoch + 1,
    train,
    val: validation?.losses ?? null,
    ap: validation
      ? validation.report.ap
      : (Object.fromEntries(SCORED_CLASSES.map((c) => [c, null])) as EpochRecord['ap']),
    studyMap: validation?.report.studyMap ?? null,
    imageMap: validation?.report.imageMap ?? null,
    final: validation?.report.final ?? null,
    ...facts
  }
}

/**
 * Adds a finished epoch (with its smoothed score) to the trainer state and moves it to the start of
 * the next one; returns whether the epoch is the new best by `rule` and whether early stopping says
 * to stop.
 */
export function closeEpoch(
  state: TrainerState,
  record: EpochRecord,
  options: { patience: number; rule: BestBy; scheduleProgress: number }
): { improved: boolean; stop: boolean } {
  record.finalSmoothed = smoothedScore([...state.history, record], state.history.length)?.value ?? null
  const verdict = observeEpoch(state, record, options.patience, options.rule, state.history)
  state.history.push(record)
  state.epoch++
  state.stepInEpoch = 0
  state.epochLoss = { sums: {}, count: 0 }
  state.scheduleProgress = options.scheduleProgress
  return verdict
}

export async function writeResults(
  runDir: string,
  history: readonly EpochRecord[],
  lossKeys: readonly string[]
): Promise<void> {
  await writeFileAtomic(join(runDir, RUN_FILES.results), formatResultsCsv(history, lossKeys))
}

/**
 * The run's TensorBoard file, without what a resumed run's checkpoint had not reached yet; a torn
 * tail (the file cut mid-record) is dropped and said in train.log.
 */
export function openRunEvents(runDir: string, state: TrainerState, log: RunLog): Promise<EventFile> {
  return EventFile.open(
    runDir,
    (step, tags) =>
      tags.every((t) => t.startsWith('step/')) ? step <= state.globalStep : step <= state.history.length,
    (message) => log.write(message)
  )
}

/** The per-step scalars of the TensorBoard file. */
export function stepScalars(losses: LossParts, lr: number, gradNorm: number): Record<string, number> {
  const scalars: Record<string, number> = {}
  for (const [key, value] of Object.entries(losses)) scalars[`step/${key}`] = value
  return { ...scalars, 'step/lr': lr, 'step/grad_norm': gradNorm }
}

/** The epoch in words; when it is the new best, why (`improved`), else which epoch still is. */
export function epochLine(record: EpochRecord, best: BestScore | null, improved = false): string {
  const f = (v: number | null | undefined) =>
    v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4)
  const perClass = SCORED_CLASSES.map((c) => `${c} ${f(record.ap[c])}`).join(', ')
  const verdict = !best
    ? ''
    : improved
      ? `; new best: ${describeBestRule(best)}, ${better(best)}`
      : `; best epoch ${best.epoch} (${describeBestRule(best)})`
  return (
    `epoch ${record.epoch}: train loss ${f(record.train.total)}, val loss ${f(record.val?.total)}, ` +
    `final ${f(record.final)}${record.finalSmoothed !== null && record.finalSmoothed !== undefined ? ` (smoothed ${f(record.finalSmoothed)})` : ''}, ` +
    `study mAP ${f(record.studyMap)}, AP ${perClass}, ` +
    `lr ${record.lr.toExponential(2)}, ${record.seconds.toFixed(1)} s` +
    verdict
  )
}

function better(best: BestScore): string {
  const rule = best.rule ?? 'final'
  if (best.metric === 'val/total') return 'the lowest so far'
  return `the highest so far by --best-by ${rule} (an equal one only with a lower val loss)`
}
