// Training, start to end. train() reads as the table of contents; each part lives next to it:
//   run-setup.ts       configuration, resume, the run's log and backend, the new run's folder
//   run-data.ts        the prepared dataset, split and batches
//   training-model.ts  detector, optimizer, weight average (EMA) and gradient helper thread
//   clock.ts           learning-rate schedule, time limit, ETA
//   session.ts         the epoch loop: steps, validation, the epoch's record, checkpoints and samples
//   epoch-record.ts    results.csv rows, TensorBoard scalars and log lines of an epoch
//   checkpointing.ts   checkpoints with the trainer state
//   samples.ts         the fixed validation images shown after every epoch
// Events (events.ts): start, step, epoch, samples, and every train.log line as `log`. status.json
// (runs/run-status.ts) says running from the session's start, and how it ended.
// Runs inside the train worker (or in-process in tests).
import type { Progress } from '../../../common/domain'
import { errorMessage } from '../../core/errors'
import { openDisplaySource } from '../data/display-source'
import { fitStudyFusion } from '../predict/study-fusion'
import { RunStatusWriter } from '../runs/run-status'
import type { DisplaySource } from '../data/tensor-cache'
import { TrainingClock } from './clock'
import { EPOCHS_UNTIL_TIME_LIMIT, type TrainArgs } from './config'
import { restoreBest } from './checkpointing'
import { openRunEvents } from './epoch-record'
import type { EmitTrainingEvent, TrainResult } from './events'
import { loadRunData } from './run-data'
import { initRunBackend, openRun, recordNewRun } from './run-setup'
import { TrainingSession } from './session'
import { TrainingModel } from './training-model'

export type { RunConfigFile, TrainerState } from './run-record'

export interface TrainContext {
  signal?: AbortSignal
  onProgress?: (progress: Progress) => void
  emit?: (name: string, payload: unknown) => void
  /** Where display pixels come from (default: the decode pool). */
  source?: DisplaySource
  /** Milliseconds clock (tests advance it to exercise the time limit). */
  now?: () => number
}

export async function train(args: TrainArgs, ctx: TrainContext = {}): Promise<TrainResult> {
  const now = ctx.now ?? Date.now
  const sessionStart = now()
  const emit: EmitTrainingEvent = ctx.emit ?? (() => undefined)
  const run = await openRun(args, (line) => emit('log', { line }))
  const { runDir, config, log } = run
  // status.json tells wall-clock time: `now` is the time-limit clock, which tests move by hand
  const status = new RunStatusWriter(runDir, new Date(), run.epochsDone, {
    epochsPlanned:
      config.epochs === EPOCHS_UNTIL_TIME_LIMIT && config.timeLimitMinutes !== null ? null : config.epochs,
    timeLimitMinutes: config.timeLimitMinutes
  })
  let folderWritten = Boolean(run.saved)

  const ownSource = ctx.source ? null : openDisplaySource()
  let model: TrainingModel | null = null
  try {
    // a resumed run's folder exists, so it shows as running from here; a new run's is written below
    if (folderWritten) await status.write('running')
    const backend = await initRunBackend(config, log)
    const data = await loadRunData(run, {
      source: ctx.source ?? ownSource!,
      signal: ctx.signal,
      onProgress: ctx.onProgress
    })
    const built = await TrainingModel.build(run, backend, data)
    model = built.model
    const { state } = built
    if (run.resumeFrom) await restoreBest(runDir, model, state, log)
    let saved = run.saved
    if (!saved) {
      saved = await recordNewRun(run, model.detector, backend, data, data.stepsPerEpoch)
      folderWritten = true
      await status.write('running')
    }

    const session = new TrainingSession({
      runDir,
      config,
      backend,
      resumed: Boolean(run.resumeFrom),
      data,
      model,
      state,
      clock: new TrainingClock(now, sessionStart, config, data.stepsPerEpoch, state),
      log,
      events: await openRunEvents(runDir, state, log),
      status,
      lossKeys: saved.lossKeys,
      emit,
      signal: ctx.signal,
      onProgress: ctx.onProgress
    })
    await session.start()
    const result = await session.run()
    // the box-evidence and fused study modes need a fit on the trained model's own predictions
    if (result.bestCheckpoint ?? result.lastCheckpoint) {
      await model.dispose()
      model = null
      await fitStudyAtEnd(runDir, config, log, ctx)
    }
    return result
  } catch (err) {
    log.write(`failed: ${errorMessage(err)}`)
    if (folderWritten) await recordFailure(status, err, ctx.signal).catch(() => undefined)
    throw err
  } finally {
    await model?.dispose()
    await ownSource?.close()
    if (folderWritten) await log.flush().catch(() => undefined)
  }
}

/**
 * Fits study-fusion.json on the run's labelled images (study-fusion.ts). A failure is logged, not
 * fatal: the run is complete, prediction falls back to `combined`, and `cxr-studio fit-study` can retry.
 */
async function fitStudyAtEnd(
  runDir: string,
  config: { dataset: string; workspace: string },
  log: { write(line: string): void },
  ctx: TrainContext
): Promise<void> {
  if (ctx.signal?.aborted) return
  try {
    const { file } = await fitStudyFusion(
      { run: runDir, dicomDir: config.dataset, workspace: config.workspace },
      { signal: ctx.signal, onProgress: ctx.onProgress, source: ctx.source }
    )
    const r = file.reports
    log.write(
      `study regressions fitted on ${file.fittedOn.studies} studies: cross-validated log-loss box-evidence ` +
        `${Math.min(...r['box-evidence'].crossValidation.map((c) => c.logLoss)).toFixed(4)}, fused ${Math.min(...r.fused.crossValidation.map((c) => c.logLoss)).toFixed(4)}`
    )
  } catch (err) {
    log.write(
      `study regressions not fitted (${errorMessage(err)}); fit them with: cxr-studio fit-study ${runDir} ${config.dataset}`
    )
  }
}

/**
 * status.json of a session that threw: `failed` with the reason, unless the user cancelled while the
 * data or the model were being prepared (then the run is as the last session left it, not broken).
 */
function recordFailure(status: RunStatusWriter, err: unknown, signal?: AbortSignal): Promise<void> {
  return signal?.aborted ? status.write('cancelled') : status.write('failed', { error: errorMessage(err) })
}
