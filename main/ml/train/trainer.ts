// Training, start to end. train() reads as the table of contents; each part lives next to it:
//   run-setup.ts       configuration, resume, the run's log and backend, the new run's folder
//   run-data.ts        the prepared dataset, split and batches
//   training-model.ts  detector, optimizer, weight average (EMA) and gradient helper thread
//   clock.ts           learning-rate schedule, time limit, ETA
//   session.ts         the epoch loop: steps, validation, the epoch's record and checkpoints, the end
//   epoch-record.ts    results.csv rows, TensorBoard scalars and log lines of an epoch
//   checkpointing.ts   checkpoints with the trainer state
// Runs inside the train worker (or in-process in tests).
import type { Progress } from '../../../common/domain'
import { errorMessage } from '../../core/errors'
import { openDisplaySource } from '../data/display-source'
import type { DisplaySource } from '../data/tensor-cache'
import { TrainingClock } from './clock'
import type { TrainArgs } from './config'
import { openRunEvents } from './epoch-record'
import type { TrainResult } from './events'
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
  const run = await openRun(args)
  const { runDir, config, log } = run
  const backend = await initRunBackend(config, log)

  const ownSource = ctx.source ? null : openDisplaySource()
  let model: TrainingModel | null = null
  let folderWritten = Boolean(run.saved)
  try {
    const data = await loadRunData(run, {
      source: ctx.source ?? ownSource!,
      signal: ctx.signal,
      onProgress: ctx.onProgress
    })
    const built = await TrainingModel.build(run, backend, data)
    model = built.model
    const { state } = built
    const clock = new TrainingClock(now, sessionStart, config, data.stepsPerEpoch, state)
    const saved = run.saved ?? (await recordNewRun(run, model.detector, backend, data, data.stepsPerEpoch))
    folderWritten = true

    const session = new TrainingSession({
      runDir,
      config,
      backend,
      resumed: Boolean(run.resumeFrom),
      data,
      model,
      state,
      clock,
      log,
      events: await openRunEvents(runDir, state),
      lossKeys: saved.lossKeys,
      emit: ctx.emit ?? (() => undefined),
      signal: ctx.signal,
      onProgress: ctx.onProgress
    })
    await session.start()
    return await session.run()
  } catch (err) {
    log.write(`failed: ${errorMessage(err)}`)
    throw err
  } finally {
    await model?.dispose()
    await ownSource?.close()
    if (folderWritten) await log.flush().catch(() => undefined)
  }
}
