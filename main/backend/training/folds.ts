// Stratified k-fold training (`cxr-studio train DATA --folds K --out DIR` without --fold): the K fold
// runs one after the other into DIR/fold-<i>/ (each a normal run, validated on fold i and trained on
// the others), then DIR/folds.json and a table of the six APs and the final score per fold with
// their mean ± sd. A cancelled fold stops the sequence; --resume continues it (finished folds are
// kept, an interrupted one resumes from its checkpoint, the rest start).
import type { TrainResult } from '../../../common/contract'
import type { TrainArgs } from '../../../common/training'
import { UserError } from '../../core/errors'
import {
  foldRunDir,
  readFoldResult,
  summarizeFolds,
  writeFoldsSummary,
  type FoldsSummary
} from '../../ml/runs/folds'
import { isEmptyFolder } from '../../ml/runs/run-folder'
import { readRunStatus } from '../../ml/runs/run-status'
import { resolveTrainConfig } from '../../ml/train/config'

/** States of a fold run that count as trained (a time-limited fold ends at its limit). */
const FINISHED = new Set(['completed', 'early-stopped', 'time-limit'])

export interface FoldStep {
  fold: number
  folds: number
  args: TrainArgs
  /** `new`: starts; `resume`: continues an interrupted fold; `done`: already trained, skipped. */
  action: 'new' | 'resume' | 'done'
}

export type FoldsOutcome =
  { done: true; summary: FoldsSummary; path: string } | { done: false; fold: number; result: TrainResult }

/**
 * Trains every fold with `runFold` (a training job), in order; `onFold` hears each step before it
 * runs. Returns the summary, or the fold that did not finish (cancelled).
 */
export async function trainAllFolds(
  args: TrainArgs & { folds: number },
  runFold: (step: FoldStep) => Promise<TrainResult>,
  onFold: (step: FoldStep) => void = () => undefined
): Promise<FoldsOutcome> {
  if (args.fold !== undefined)
    throw new Error('trainAllFolds trains every fold; a single fold is a plain run')
  // every argument checked once, before the first fold starts
  const config = resolveTrainConfig({ ...args, fold: 0, resume: undefined })
  if (!args.resume && !(await isEmptyFolder(args.out)))
    throw new UserError(
      `${args.out}: the folder is not empty; pass --resume to continue the folds in it, or choose another --out`
    )
  for (let fold = 0; fold < args.folds; fold++) {
    const step = await foldStep(args, fold)
    onFold(step)
    if (step.action === 'done') continue
    const result = await runFold(step)
    if (!FINISHED.has(result.status)) return { done: false, fold, result }
  }
  const runs = await Promise.all(
    Array.from({ length: args.folds }, (_, fold) => readFoldResult(args.out, fold))
  )
  const summary = summarizeFolds(runs, {
    folds: args.folds,
    seed: config.seed,
    bestBy: config.bestBy ?? 'final'
  })
  return { done: true, summary, path: await writeFoldsSummary(args.out, summary) }
}

async function foldStep(args: TrainArgs & { folds: number }, fold: number): Promise<FoldStep> {
  const out = foldRunDir(args.out, fold)
  const base = { ...args, out, fold, folds: args.folds }
  if (!args.resume || (await isEmptyFolder(out)))
    return { fold, folds: args.folds, args: { ...base, resume: undefined }, action: 'new' }
  const status = await readRunStatus(out)
  const action = status && FINISHED.has(status.state) ? 'done' : 'resume'
  return { fold, folds: args.folds, args: { ...base, resume: true }, action }
}
