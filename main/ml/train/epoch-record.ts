// What an epoch leaves behind: its record (a row of results.csv, the epoch scalars of the TensorBoard
// file), the trainer state moved on to the next epoch, and a line in words for train.log.
import { join } from 'node:path'
import { SCORED_CLASSES } from '../../../common/domain'
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
 * Adds a finished epoch to the trainer state and moves it to the start of the next one; returns
 * whether the epoch is the new best and whether early stopping says to stop.
 */
export function closeEpoch(
  state: TrainerState,
  record: EpochRecord,
  patience: number,
  scheduleProgress: number
): { improved: boolean; stop: boolean } {
  const verdict = observeEpoch(state, record, patience)
  state.history.push(record)
  state.epoch++
  state.stepInEpoch = 0
  state.epochLoss = { sums: {}, count: 0 }
  state.scheduleProgress = scheduleProgress
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

export function epochLine(record: EpochRecord, best: BestScore | null): string {
  const f = (v: number | null | undefined) =>
    v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4)
  return (
    `epoch ${record.epoch}: train loss ${f(record.train.total)}, val loss ${f(record.val?.total)}, ` +
    `final ${f(record.final)} (study mAP ${f(record.studyMap)}, opacity AP ${f(record.ap.opacity)}, none AP ${f(record.ap.none)}), ` +
    `lr ${record.lr.toExponential(2)}, ${record.seconds.toFixed(1)} s` +
    (best ? `; best ${best.metric} ${best.value.toFixed(4)} at epoch ${best.epoch}` : '')
  )
}
