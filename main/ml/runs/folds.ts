// folds.json of `cxr-studio train DATA --folds K --out DIR`: the K fold runs (DIR/fold-<i>/, each
// validated on its own fold) summed up: per fold the best epoch (by the run's --best-by rule) with its
// six APs and final score, then the mean and standard deviation over the folds. Read from the fold
// runs' own files (status.json, results.csv), so a summary written after a resume is the same.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SCORED_CLASSES, type ScoredClass } from '../../../common/domain'
import type { BestScore } from '../../../common/contract/training'
import { errorMessage } from '../../core/errors'
import { writeJsonAtomic } from '../../core/fs-atomic'
import { parseResultsCsv } from './results-csv'
import { RUN_FILES } from './run-folder'
import { readRunStatus } from './run-status'

export const FOLDS_FILE = 'folds.json'

/** The metrics a fold reports: the six APs and the final score. */
export const FOLD_METRICS = [...SCORED_CLASSES, 'final'] as const
export type FoldMetric = ScoredClass | 'final'

export interface FoldResult {
  fold: number
  runDir: string
  /** status.json's state: completed, early-stopped, cancelled, ... */
  state: string
  epochs: number
  best: BestScore | null
  /** The best epoch's values (null: no validation score, or the class is absent from the fold). */
  metrics: Record<FoldMetric, number | null>
  /** The last epoch's final score, beside the best one's. */
  lastFinal: number | null
}

export interface FoldsSummary {
  format: 'cxr-studio-folds'
  formatVersion: 1
  writtenAt: string
  folds: number
  seed: number
  bestBy: string
  runs: FoldResult[]
  /** Over the folds that have the value: mean, sample standard deviation (null with one), count. */
  mean: Record<FoldMetric, number | null>
  sd: Record<FoldMetric, number | null>
  n: Record<FoldMetric, number>
}

export function foldRunDir(out: string, fold: number): string {
  return join(out, `fold-${fold}`)
}

/** Reads the K fold runs under `out`; a fold whose files cannot be read says why. */
export async function readFoldResult(out: string, fold: number): Promise<FoldResult> {
  const runDir = foldRunDir(out, fold)
  const status = await readRunStatus(runDir)
  const text = await readFile(join(runDir, RUN_FILES.results), 'utf8').catch((err: unknown) => {
    throw new Error(`${join(runDir, RUN_FILES.results)}: ${errorMessage(err)}`)
  })
  const rows = parseResultsCsv(text)
  const best = status?.best ?? null
  const row = best ? rows.find((r) => r.epoch === best.epoch) : undefined
  const metrics = Object.fromEntries(
    FOLD_METRICS.map((m) => [m, row ? (row[m === 'final' ? 'final' : `ap/${m}`] ?? null) : null])
  ) as Record<FoldMetric, number | null>
  return {
    fold,
    runDir,
    state: status?.state ?? 'unknown',
    epochs: rows.length,
    best,
    metrics,
    lastFinal: rows.at(-1)?.final ?? null
  }
}

export function summarizeFolds(
  runs: FoldResult[],
  facts: { folds: number; seed: number; bestBy: string }
): FoldsSummary {
  const mean = {} as Record<FoldMetric, number | null>
  const sd = {} as Record<FoldMetric, number | null>
  const n = {} as Record<FoldMetric, number>
  for (const m of FOLD_METRICS) {
    const values = runs.map((r) => r.metrics[m]).filter((v): v is number => v !== null && Number.isFinite(v))
    n[m] = values.length
    mean[m] = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null
    sd[m] =
      values.length > 1
        ? Math.sqrt(values.reduce((a, v) => a + (v - mean[m]!) ** 2, 0) / (values.length - 1))
        : null
  }
  return {
    format: 'cxr-studio-folds',
    formatVersion: 1,
    writtenAt: new Date().toISOString(),
    ...facts,
    runs,
    mean,
    sd,
    n
  }
}

export async function writeFoldsSummary(out: string, summary: FoldsSummary): Promise<string> {
  const path = join(out, FOLDS_FILE)
  await writeJsonAtomic(path, summary)
  return path
}

/** The summary as a table: a row per fold, then mean ± sd. */
export function foldsTable(summary: FoldsSummary): string {
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(3))
  const head = [
    'fold',
    'best',
    ...FOLD_METRICS.map((m) => (m === 'indeterminate' ? 'indet.' : m)),
    'last final'
  ]
  const rows = summary.runs.map((r) => [
    String(r.fold),
    r.best ? `ep ${r.best.epoch}` : '-',
    ...FOLD_METRICS.map((m) => f(r.metrics[m])),
    f(r.lastFinal)
  ])
  rows.push([
    'mean±sd',
    '',
    ...FOLD_METRICS.map((m) =>
      summary.mean[m] === null
        ? '-'
        : `${f(summary.mean[m])}±${summary.sd[m] === null ? '-' : f(summary.sd[m])}`
    ),
    ''
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ')
  return [line(head), ...rows.map(line)].join('\n') + '\n'
}
