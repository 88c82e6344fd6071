// One training session over a prepared run: the epoch loop (steps, validation, the epoch's record,
// checkpoints and samples) until the epochs, the time limit, early stopping or a cancel end it.
import { join } from 'node:path'
import { describeBestRule } from '../../../common/best-epoch'
import type { ProgressListener } from '../../../common/domain'
import { writeJsonAtomic } from '../../core/fs-atomic'
import type { BackendInfo } from '../backend/ladder'
import type { Batch } from '../data/loader'
import type { ImageSample } from '../data/samples'
import { DEFAULT_PREDICTION } from '../predict/predict-images'
import { checkpointDir, findCheckpoint, type CheckpointName } from '../runs/checkpoint'
import type { EventFile } from '../runs/event-file'
import { epochScalars, type EpochRecord } from '../runs/results-csv'
import { RUN_FILES, type RunLog } from '../runs/run-folder'
import type { RunStatusWriter } from '../runs/run-status'
import { saveTrainingCheckpoint } from './checkpointing'
import type { TrainingClock } from './clock'
import { EPOCHS_UNTIL_TIME_LIMIT, type TrainConfig } from './config'
import { closeEpoch, epochLine, epochRecord, stepScalars, writeResults } from './epoch-record'
import type { EmitTrainingEvent, TrainResult, TrainStatus } from './events'
import type { RunData } from './run-data'
import type { TrainerState } from './run-record'
import { pickSampleImages, samplesEvent } from './samples'
import { LossMeter } from './step'
import { formatStrategy, frozenStagesAt } from './strategy'
import type { TrainingModel } from './training-model'
import { validate, type ValidationResult } from './validate'

export interface SessionParts {
  runDir: string
  config: TrainConfig
  backend: BackendInfo
  resumed: boolean
  data: RunData
  model: TrainingModel
  state: TrainerState
  clock: TrainingClock
  log: RunLog
  events: EventFile
  status: RunStatusWriter
  lossKeys: string[]
  emit: EmitTrainingEvent
  signal?: AbortSignal
  onProgress?: ProgressListener
}

/** How an epoch's training ended: its steps all ran, or the session stops here. */
type EpochTraining = { done: true; train: EpochRecord['train']; lr: number } | { done: false; stop: Stop }

/** Why the session ends before its epochs are done. */
interface Stop {
  status: TrainStatus
  reason: string
}

export class TrainingSession {
  private readonly settings = { ...DEFAULT_PREDICTION }
  private epochsThisSession = 0
  /** The validation images shown after every epoch (samples.json, the `samples` event). */
  private readonly sampleImages: ImageSample[]

  constructor(private readonly parts: SessionParts) {
    this.sampleImages = pickSampleImages(parts.data.val, parts.config.seed)
  }

  /** The plan in train.log, results.csv as far as the run got, and the `start` event. */
  async start(): Promise<void> {
    const { runDir, config, data, model, state, log, lossKeys, clock } = this.parts
    await writeResults(runDir, state.history, lossKeys)
    const { batchSize, stepsPerEpoch } = data
    const { threads, microBatch } = model
    log.write(
      `data: ${data.train.length} train / ${data.val.length} validation images (${data.fingerprint.boxes} boxes), ${stepsPerEpoch} steps per epoch of ${batchSize}; ` +
        `${threads > 1 ? `each batch split over ${threads} threads; ` : ''}` +
        `${microBatch < Math.ceil(batchSize / threads) ? `gradients accumulated over passes of ${microBatch} image(s); ` : ''}` +
        `strategy ${formatStrategy(config.strategy)}, ${config.optimizer.name} lr ${config.lr}, ${config.epochs} epochs` +
        (clock.timeLimitMs ? `, time limit ${config.timeLimitMinutes} min` : '')
    )
    await log.flush()
    this.parts.emit('start', {
      runDir,
      backend: this.parts.backend,
      resumed: this.parts.resumed,
      trainImages: data.train.length,
      valImages: data.val.length,
      stepsPerEpoch,
      epochs: config.epochs,
      timeLimitMinutes: config.timeLimitMinutes,
      untilTimeLimit: config.timeLimitMinutes !== null && config.epochs === EPOCHS_UNTIL_TIME_LIMIT,
      startEpoch: state.epoch + 1,
      parameters: model.detector.parameterCount()
    })
  }

  /** Trains epoch after epoch; every way out writes checkpoints/last. */
  async run(): Promise<TrainResult> {
    const { config, state, clock } = this.parts
    while (state.epoch < config.epochs) {
      if (this.epochsThisSession > 0 && state.stepInEpoch === 0 && clock.epochWouldOverrun()) {
        return this.finish({
          status: 'time-limit',
          reason: `time limit of ${config.timeLimitMinutes} min: another epoch would not fit`
        })
      }
      const frozen = this.freezeFor(state.epoch)
      const epochStart = clock.now()
      const training = await this.trainEpoch(state.epoch)
      if (!training.done) return this.finish(training.stop)

      const validation = await this.validateEpoch()
      if (validation === 'cancelled')
        return this.finish({ status: 'cancelled', reason: 'cancelled during validation' })
      const record = epochRecord(state.epoch, training.train, validation, {
        lr: training.lr,
        seconds: (clock.now() - epochStart) / 1000,
        elapsed: clock.totalElapsed(state) / 1000,
        frozen
      })
      const { improved, stop } = closeEpoch(state, record, {
        patience: config.patience,
        rule: config.bestBy ?? 'final',
        scheduleProgress: clock.scheduleProgress(state.scheduleProgress)
      })
      this.epochsThisSession++
      await this.recordEpoch(record, improved)
      if (validation) await this.recordSamples(record.epoch, validation)

      if (stop && state.epoch < config.epochs) {
        return this.finish({
          status: 'early-stopped',
          reason: `early stop: no better validation score for ${config.patience} epochs (best epoch ${state.best?.epoch}: ${state.best ? describeBestRule(state.best) : '-'})`
        })
      }
    }
    return this.finish({ status: 'completed', reason: `completed ${config.epochs} epochs` })
  }

  /** Applies the strategy's frozen backbone stages for a 0-based epoch; returns them. */
  private freezeFor(epoch: number): string[] {
    const { config, model, state, log } = this.parts
    const frozen = frozenStagesAt(config.strategy, epoch, model.backboneStages)
    model.freeze(frozen)
    if (state.stepInEpoch === 0)
      log.write(
        `epoch ${epoch + 1}: ${frozen.length ? `backbone frozen (${frozen.length}/${model.backboneStages.length} stages)` : 'all layers train'}`
      )
    return frozen
  }

  /** The optimizer steps of an epoch, from where a resumed run left off. */
  private async trainEpoch(epoch: number): Promise<EpochTraining> {
    const { config, data, state, clock, signal } = this.parts
    // a resumed epoch reports the mean over all its steps, the earlier session's included
    const meter = new LossMeter()
    meter.sums = { ...state.epochLoss.sums }
    meter.count = state.epochLoss.count
    let lr = clock.lrAt(Math.max(0, state.globalStep - 1))
    for await (const batch of data.trainLoader.batches(epoch, state.stepInEpoch)) {
      if (signal?.aborted) return { done: false, stop: { status: 'cancelled', reason: 'cancelled' } }
      if (clock.stepWouldOverrun())
        return {
          done: false,
          stop: { status: 'time-limit', reason: `time limit of ${config.timeLimitMinutes} min reached` }
        }
      lr = clock.lrAt(state.globalStep)
      await this.step(batch, meter, lr)
    }
    if (signal?.aborted) return { done: false, stop: { status: 'cancelled', reason: 'cancelled' } }
    return { done: true, train: meter.mean(), lr }
  }

  /** One optimizer step, its scalars in the TensorBoard file and its `step` event. */
  private async step(batch: Batch, meter: LossMeter, lr: number): Promise<void> {
    const { config, data, model, state, clock, events } = this.parts
    const t0 = clock.now()
    const result = await model.step(batch, lr, config.gradClip)
    meter.add(result.losses, batch.samples.length)
    state.stepInEpoch++
    state.globalStep++
    model.updateAverage(state.globalStep)
    state.epochLoss = { sums: { ...meter.sums }, count: meter.count }
    clock.observeStep((clock.now() - t0) / 1000)
    events.add(state.globalStep, stepScalars(result.losses, lr, result.gradNorm))
    this.parts.emit('step', {
      epoch: state.epoch + 1,
      epochs: config.epochs,
      step: state.stepInEpoch,
      stepsPerEpoch: data.stepsPerEpoch,
      globalStep: state.globalStep,
      loss: result.losses,
      lr,
      gradNorm: result.gradNorm,
      imagesPerSecond: clock.imagesPerSecond(batch.samples.length),
      etaSeconds: clock.remainingSeconds(state),
      elapsedSeconds: clock.totalElapsed(state) / 1000
    })
    this.parts.onProgress?.(clock.progress(state))
  }

  /** Validation with the averaged weights; null without a validation split. */
  private async validateEpoch(): Promise<ValidationResult | null | 'cancelled'> {
    const { data, model, clock, signal } = this.parts
    const v0 = clock.now()
    let validation: ValidationResult | null = null
    if (data.val.length > 0) {
      try {
        validation = await model.withAverage(() =>
          validate(model.detector, data.valLoader, data.valTruth, this.settings, data.classPriors, {
            signal,
            microBatch: model.microBatch
          })
        )
      } catch (err) {
        if (signal?.aborted) return 'cancelled'
        throw err
      }
    }
    clock.observeValidation((clock.now() - v0) / 1000)
    return validation
  }

  /** results.csv, the TensorBoard scalars, the log line, the checkpoints, status.json and the `epoch` event. */
  private async recordEpoch(record: EpochRecord, improved: boolean): Promise<void> {
    const { runDir, config, state, log, events, lossKeys, status } = this.parts
    await writeResults(runDir, state.history, lossKeys)
    events.add(record.epoch, epochScalars(record, lossKeys))
    log.write(epochLine(record, state.best, improved))
    // last first: a stop between the two leaves last holding the new best, which findCheckpoint
    // and a resume (restoreBest) recognise; the other order would leave a best that last never saw
    await this.checkpoint('last')
    if (improved) await this.checkpoint('best')
    await Promise.all([events.flush(), log.flush()])
    await status.write('running', { epochs: state.history.length, best: state.best })
    this.parts.emit('epoch', { ...record, epochs: config.epochs, improved, best: state.best })
  }

  /** The sample images as this epoch's validation predicted them: samples.json and the `samples` event. */
  private async recordSamples(epoch: number, validation: ValidationResult): Promise<void> {
    if (this.sampleImages.length === 0) return
    const { runDir, data } = this.parts
    const samples = samplesEvent(
      epoch,
      data.dataset.root,
      this.sampleImages,
      data.valTruth.images,
      validation
    )
    await writeJsonAtomic(join(runDir, RUN_FILES.samples), samples)
    this.parts.emit('samples', samples)
  }

  private checkpoint(name: CheckpointName): Promise<string> {
    const { runDir, model, state, clock } = this.parts
    return saveTrainingCheckpoint(runDir, name, model, state, clock.totalElapsed(state))
  }

  /** Ends the session: checkpoints/last where it stopped, the reason in the log, status.json, the result. */
  private async finish({ status, reason }: Stop): Promise<TrainResult> {
    const { runDir, backend, state, log, events } = this.parts
    state.status = status
    await this.checkpoint('last')
    log.write(
      `${reason}; last checkpoint at epoch ${state.epoch + 1} step ${state.stepInEpoch} (global step ${state.globalStep})`
    )
    await Promise.all([events.flush(), log.flush()])
    await this.parts.status.write(status, { epochs: state.history.length, best: state.best })
    return {
      runDir,
      status,
      epochsCompleted: state.history.length,
      globalStep: state.globalStep,
      best: state.best,
      lastCheckpoint: checkpointDir(runDir, 'last'),
      bestCheckpoint: await findCheckpoint(runDir, 'best'),
      backend,
      history: state.history
    }
  }
}
