// The training loop: data, model, optimizer, schedule and fine-tuning strategy; progress every step
// and every epoch; validation with the competition metric; checkpoints, cancel, resume, early stopping
// and a time limit. Runs inside the train worker (or in-process in tests).
import * as tf from '@tensorflow/tfjs-core'
import { join } from 'node:path'
import { SCORED_CLASSES, STUDY_CLASSES, type Progress } from '../../../common/domain'
import { UserError, errorMessage } from '../../core/errors'
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic'
import { initBackend } from '../backend/ladder'
import { openDisplaySource } from '../data/display-source'
import { BatchLoader } from '../data/loader'
import { prepareTrainingData } from '../data/prepare'
import type { DisplaySource } from '../data/tensor-cache'
import { PREPROCESSING } from '../data/tensor-cache'
import { createDetector, type Detector } from '../detect/detector'
import { DEFAULT_PREDICTION } from '../predict/predict-images'
import {
  checkpointDir,
  findCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointMeta,
  type CheckpointName
} from '../runs/checkpoint'
import { EventFile } from '../runs/event-file'
import { epochScalars, formatResultsCsv, type EpochRecord, type LossParts } from '../runs/results-csv'
import {
  RUN_FILES,
  RunLog,
  isEmptyFolder,
  readJson,
  readRunConfig,
  writeRunConfig,
  type RunSplit
} from '../runs/run-folder'
import {
  EPOCHS_UNTIL_TIME_LIMIT,
  resolveTrainConfig,
  resumeConfig,
  type TrainArgs,
  type TrainConfig
} from './config'
import type { BestScore, EpochEvent, StepEvent, TrainResult, TrainStartEvent, TrainStatus } from './events'
import type { NamedWeights } from '../model/weights'
import { observeEpoch } from './early-stop'
import { WeightAverage } from './ema'
import { Optimizer } from './optimizer'
import { learningRate } from './schedule'
import { GradientHelper, type Trainability } from './gradient-helper'
import {
  LossMeter,
  MIN_NORM_BATCH,
  defaultMicroBatch,
  defaultThreads,
  namedWeightVariables,
  trainStep
} from './step'
import { formatStrategy, frozenStagesAt } from './strategy'
import { freshState, runConfigFile, type RunConfigFile, type TrainerState } from './run-record'
import { validate } from './validate'
import { APP_VERSION } from './versions'

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
  const runDir = args.out
  const emit = ctx.emit ?? (() => undefined)

  // ---- run folder and configuration ----
  let config: TrainConfig
  let saved: RunConfigFile | null = null
  let resumeFrom: string | null = null
  if (args.resume) {
    saved = await readRunConfig<RunConfigFile>(runDir)
    resumeFrom = await findCheckpoint(runDir, 'last')
    if (!resumeFrom)
      throw new UserError(`${runDir}: nothing to resume (no checkpoints/last); start a new run instead`)
    config = resumeConfig(saved.train, args)
  } else {
    if (!(await isEmptyFolder(runDir))) {
      throw new UserError(
        `${runDir}: the folder is not empty; pass --resume to continue the run in it, or choose another --out`
      )
    }
    config = resolveTrainConfig(args)
  }
  // the folder is created only once the data are ready, so a refused dataset leaves nothing behind
  const log = await RunLog.open(runDir)
  log.write(args.resume ? `resuming from ${resumeFrom}` : `new run in ${runDir}`)

  const backend = await initBackend(config.backend)
  log.write(
    `backend ${backend.name} on ${backend.device} (tfjs ${backend.tfjsVersion}, ${backend.package} ${backend.backendVersion})`
  )
  for (const f of backend.fallbacks) log.write(`  not used: ${f.backend}: ${f.reason}`)

  // ---- data ----
  const ownSource = ctx.source ? null : openDisplaySource()
  const source = ctx.source ?? ownSource!
  let detector: Detector | null = null
  let optimizer: Optimizer | null = null
  let ema: WeightAverage | null = null
  let helper: GradientHelper | null = null
  let runStarted = Boolean(saved)
  try {
    const splitOverride = saved ? await readSplit(runDir) : null
    const data = await prepareTrainingData(config.dataset, {
      workspace: config.workspace,
      imageSize: config.detector.imageSize,
      policy: config.policy,
      valFraction: config.valFraction,
      seed: config.seed,
      source,
      onProgress: ctx.onProgress,
      signal: ctx.signal,
      valStudies: splitOverride?.valStudies
    })
    for (const e of data.errors) log.write(`skipped ${e.path}: ${e.reason}`)
    if (data.val.length === 0) {
      log.write(
        `warning: the validation split is empty (--val-fraction ${config.valFraction} of each class rounds to 0 studies): no metric and no best checkpoint`
      )
    }
    if (data.train.length < 2)
      throw new UserError(
        `${config.dataset}: only ${data.train.length} training image(s) after the split; need at least 2`
      )
    if (saved && saved.dataset.fingerprint.sha256 !== data.fingerprint.sha256) {
      log.write(
        `warning: the dataset changed since the run started (fingerprint ${saved.dataset.fingerprint.sha256.slice(0, 12)} -> ${data.fingerprint.sha256.slice(0, 12)})`
      )
    }
    const batchSize = Math.min(config.batchSize, data.train.length)
    const trainLoader = new BatchLoader(data.train, data.cache, {
      batchSize,
      seed: config.seed,
      augment: config.augment,
      shuffle: true
    })
    const valLoader = new BatchLoader(data.val, data.cache, {
      batchSize,
      seed: config.seed,
      augment: null,
      shuffle: false
    })
    const stepsPerEpoch = trainLoader.stepsPerEpoch

    // ---- model and optimizer ----
    let state: TrainerState
    let trainingWeights: NamedWeights | null = null
    if (resumeFrom) {
      const checkpoint = await loadCheckpoint<TrainerState>(resumeFrom, {
        optimizer: true,
        trainingWeights: true
      })
      detector = checkpoint.detector
      trainingWeights = checkpoint.trainingWeights
      state = { ...checkpoint.meta.trainer, status: 'running' }
      optimizer = new Optimizer(config.optimizer)
      optimizer.setState(checkpoint.optimizer!, namedWeightVariables(detector))
    } else {
      detector = createDetector({ ...config.detector })
      if (config.pretrained) {
        const report = await detector.importPretrained(config.pretrained)
        log.write(`pretrained: ${report.matched.length} layer(s) imported from ${config.pretrained}`)
      }
      optimizer = new Optimizer(config.optimizer)
      state = freshState()
    }
    const variables = namedWeightVariables(detector)
    const names = new Map([...variables].map(([name, variable]) => [variable, name]))
    // a checkpoint's model holds the averaged weights; the raw training weights sit beside it
    if (config.ema) ema = new WeightAverage(variables, detector, config.ema.maxDecay)
    if (trainingWeights) tf.tidy(() => detector!.setWeights(trainingWeights!))
    const backboneStages = detector
      .parameterGroups()
      .filter((g) => g.kind === 'backbone')
      .map((g) => g.name)
    const microBatch = config.microBatch ?? defaultMicroBatch(backend.name, config.detector.imageSize)
    const threads = Math.min(config.threads ?? defaultThreads(), batchSize)
    if (threads > 1) helper = await GradientHelper.start(detector, backend.name)
    const perPass = Math.min(microBatch, Math.ceil(batchSize / threads))
    if (perPass < MIN_NORM_BATCH && perPass < data.train.length) {
      log.write(
        `warning: batch norm sees ${perPass} image(s) per pass (batch ${batchSize}, ${threads} thread(s), micro-batch ${microBatch}); ` +
          `below ${MIN_NORM_BATCH} its running statistics become unreliable and validation suffers`
      )
    }
    const totalSteps = stepsPerEpoch * config.epochs
    const warmupSteps = Math.round(config.warmupEpochs * stepsPerEpoch)
    const timeLimitMs = config.timeLimitMinutes === null ? null : config.timeLimitMinutes * 60_000
    const progressAtStart = state.scheduleProgress
    const sessionElapsed = () => now() - sessionStart
    const lrAt = (step: number) => {
      const byTime =
        timeLimitMs === null
          ? 0
          : progressAtStart + (1 - progressAtStart) * Math.min(1, sessionElapsed() / timeLimitMs)
      return learningRate(
        step,
        { lr: config.lr, warmupSteps, totalSteps, minLrRatio: config.minLrRatio },
        byTime
      )
    }

    if (!saved) {
      const runConfig = runConfigFile(config, detector, backend, data, stepsPerEpoch)
      await writeRunConfig(runDir, runConfig)
      const split: RunSplit = {
        seed: config.seed,
        valFraction: config.valFraction,
        trainStudies: data.trainStudies,
        valStudies: data.valStudies
      }
      await writeJsonAtomic(join(runDir, RUN_FILES.split), split)
      saved = runConfig
      runStarted = true
    }
    const lossKeys = saved.lossKeys
    const events = await EventFile.open(runDir, (step, tags) =>
      tags.every((t) => t.startsWith('step/')) ? step <= state.globalStep : step <= state.history.length
    )
    await writeFileAtomic(join(runDir, RUN_FILES.results), formatResultsCsv(state.history, lossKeys))
    log.write(
      `data: ${data.train.length} train / ${data.val.length} validation images (${data.fingerprint.boxes} boxes), ${stepsPerEpoch} steps per epoch of ${batchSize}; ` +
        `${threads > 1 ? `each batch split over ${threads} threads; ` : ''}` +
        `${microBatch < Math.ceil(batchSize / threads) ? `gradients accumulated over passes of ${microBatch} image(s); ` : ''}` +
        `strategy ${formatStrategy(config.strategy)}, ${config.optimizer.name} lr ${config.lr}, ${config.epochs} epochs` +
        (timeLimitMs ? `, time limit ${config.timeLimitMinutes} min` : '')
    )
    await log.flush()

    const startEvent: TrainStartEvent = {
      runDir,
      backend,
      resumed: Boolean(resumeFrom),
      trainImages: data.train.length,
      valImages: data.val.length,
      stepsPerEpoch,
      epochs: config.epochs,
      timeLimitMinutes: config.timeLimitMinutes,
      untilTimeLimit: config.timeLimitMinutes !== null && config.epochs === EPOCHS_UNTIL_TIME_LIMIT,
      startEpoch: state.epoch + 1,
      parameters: detector.parameterCount()
    }
    emit('start', startEvent)

    // ---- checkpoints ----
    const meta = (): CheckpointMeta<TrainerState> => ({
      format: 'cxr-studio-checkpoint',
      formatVersion: 1,
      appVersion: APP_VERSION,
      savedAt: new Date().toISOString(),
      epoch: state.epoch,
      stepInEpoch: state.stepInEpoch,
      globalStep: state.globalStep,
      classes: detector!.config.classes,
      studyClasses: [...STUDY_CLASSES],
      inputSize: detector!.config.imageSize,
      head: detector!.config.head,
      backbone: detector!.config.backbone,
      preprocessing: { ...PREPROCESSING, mean: detector!.config.inputMean, std: detector!.config.inputStd },
      trainer: { ...state, elapsedMs: state.elapsedMs + sessionElapsed() }
    })
    const checkpoint = (name: CheckpointName) => {
      const save = (training?: NamedWeights) =>
        saveCheckpoint(runDir, name, {
          detector: detector!,
          optimizer: optimizer!.getState(),
          meta: meta(),
          trainingWeights: training
        })
      return ema ? ema.swapIn(save) : save()
    }
    const finish = async (status: TrainStatus, reason: string): Promise<TrainResult> => {
      state.status = status
      await checkpoint('last')
      log.write(
        `${reason}; last checkpoint at epoch ${state.epoch + 1} step ${state.stepInEpoch} (global step ${state.globalStep})`
      )
      await Promise.all([events.flush(), log.flush()])
      const bestDir = await findCheckpoint(runDir, 'best')
      return {
        runDir,
        status,
        epochsCompleted: state.history.length,
        globalStep: state.globalStep,
        best: state.best,
        lastCheckpoint: checkpointDir(runDir, 'last'),
        bestCheckpoint: bestDir,
        backend,
        history: state.history
      }
    }

    // ---- the loop ----
    const settings = { ...DEFAULT_PREDICTION }
    let stepSeconds = 0
    let validationSeconds = 0
    let epochsThisSession = 0
    const estimateRemaining = () => {
      const steps = totalSteps - state.globalStep
      const validations = config.epochs - state.history.length
      const seconds = steps * stepSeconds + validations * validationSeconds
      return timeLimitMs === null
        ? seconds
        : Math.min(seconds, Math.max(0, (timeLimitMs - sessionElapsed()) / 1000))
    }
    const outOfTime = (neededMs: number) => timeLimitMs !== null && sessionElapsed() + neededMs > timeLimitMs

    while (state.epoch < config.epochs) {
      const epoch = state.epoch
      if (
        epochsThisSession > 0 &&
        state.stepInEpoch === 0 &&
        outOfTime((stepSeconds * stepsPerEpoch + validationSeconds) * 1000)
      ) {
        return await finish(
          'time-limit',
          `time limit of ${config.timeLimitMinutes} min: another epoch would not fit`
        )
      }
      const frozen = frozenStagesAt(config.strategy, epoch, backboneStages)
      const trainability: Trainability = backboneStages.map((group) => [group, !frozen.includes(group)])
      for (const [group, trainable] of trainability) detector.setTrainable(group, trainable)
      if (state.stepInEpoch === 0)
        log.write(
          `epoch ${epoch + 1}: ${frozen.length ? `backbone frozen (${frozen.length}/${backboneStages.length} stages)` : 'all layers train'}`
        )
      const epochStart = now()
      const meter = new LossMeter()
      meter.sums = { ...state.epochLoss.sums }
      meter.count = state.epochLoss.count

      let lastLr = lrAt(Math.max(0, state.globalStep - 1))
      for await (const batch of trainLoader.batches(epoch, state.stepInEpoch)) {
        if (ctx.signal?.aborted) return await finish('cancelled', 'cancelled')
        if (outOfTime(stepSeconds * 1000))
          return await finish('time-limit', `time limit of ${config.timeLimitMinutes} min reached`)
        const t0 = now()
        lastLr = lrAt(state.globalStep)
        const result = helper
          ? await helper.step(
              detector,
              names,
              optimizer,
              batch,
              lastLr,
              config.gradClip,
              microBatch,
              trainability
            )
          : trainStep(detector, names, optimizer, batch, lastLr, config.gradClip, microBatch)
        meter.add(result.losses, batch.samples.length)
        state.stepInEpoch++
        state.globalStep++
        ema?.update(state.globalStep)
        state.epochLoss = { sums: { ...meter.sums }, count: meter.count }
        const seconds = (now() - t0) / 1000
        stepSeconds = stepSeconds === 0 ? seconds : 0.8 * stepSeconds + 0.2 * seconds
        events.add(state.globalStep, {
          ...prefixed('step/', result.losses),
          'step/lr': lastLr,
          'step/grad_norm': result.gradNorm
        })
        const stepEvent: StepEvent = {
          epoch: epoch + 1,
          epochs: config.epochs,
          step: state.stepInEpoch,
          stepsPerEpoch,
          globalStep: state.globalStep,
          loss: result.losses,
          lr: lastLr,
          gradNorm: result.gradNorm,
          imagesPerSecond: stepSeconds > 0 ? batch.samples.length / stepSeconds : 0,
          etaSeconds: estimateRemaining(),
          elapsedSeconds: (state.elapsedMs + sessionElapsed()) / 1000
        }
        emit('step', stepEvent)
        // under a time limit the clock is the bound: seconds of the budget, unless the steps end sooner
        const stepFraction = state.globalStep / totalSteps
        if (timeLimitMs !== null && sessionElapsed() / timeLimitMs > stepFraction) {
          ctx.onProgress?.({
            stage: 'train (minutes)',
            done: Math.round(sessionElapsed() / 6000) / 10,
            total: timeLimitMs / 60_000
          })
        } else {
          ctx.onProgress?.({ stage: 'train', done: state.globalStep, total: totalSteps })
        }
      }
      if (ctx.signal?.aborted) return await finish('cancelled', 'cancelled')

      // ---- validation and the epoch's record ----
      const v0 = now()
      let validation = null
      if (data.val.length > 0) {
        try {
          const run = () =>
            validate(detector!, valLoader, data.valTruth, settings, data.classPriors, {
              signal: ctx.signal,
              microBatch
            })
          validation = ema ? await ema.swapIn(run) : await run()
        } catch (err) {
          if (ctx.signal?.aborted) return await finish('cancelled', 'cancelled during validation')
          throw err
        }
      }
      validationSeconds = (now() - v0) / 1000
      const record: EpochRecord = {
        epoch: epoch + 1,
        train: meter.mean(),
        val: validation?.losses ?? null,
        ap: validation
          ? validation.report.ap
          : (Object.fromEntries(SCORED_CLASSES.map((c) => [c, null])) as EpochRecord['ap']),
        studyMap: validation?.report.studyMap ?? null,
        imageMap: validation?.report.imageMap ?? null,
        final: validation?.report.final ?? null,
        lr: lastLr,
        seconds: (now() - epochStart) / 1000,
        elapsed: (state.elapsedMs + sessionElapsed()) / 1000,
        frozen
      }
      const { improved, stop } = observeEpoch(state, record, config.patience)
      state.history.push(record)
      state.epoch++
      state.stepInEpoch = 0
      state.epochLoss = { sums: {}, count: 0 }
      state.scheduleProgress = Math.min(
        1,
        Math.max(
          state.scheduleProgress,
          timeLimitMs === null
            ? 0
            : progressAtStart + (1 - progressAtStart) * (sessionElapsed() / timeLimitMs)
        )
      )
      epochsThisSession++

      await writeFileAtomic(join(runDir, RUN_FILES.results), formatResultsCsv(state.history, lossKeys))
      events.add(record.epoch, epochScalars(record, lossKeys))
      log.write(epochLine(record, state.best))
      await checkpoint('last')
      if (improved) await checkpoint('best')
      await Promise.all([events.flush(), log.flush()])
      const epochEvent: EpochEvent = { ...record, epochs: config.epochs, improved, best: state.best }
      emit('epoch', epochEvent)

      if (stop && state.epoch < config.epochs) {
        return await finish(
          'early-stopped',
          `early stop: no better validation score for ${config.patience} epochs (best ${state.best?.value.toFixed(4)} at epoch ${state.best?.epoch})`
        )
      }
    }
    return await finish('completed', `completed ${config.epochs} epochs`)
  } catch (err) {
    log.write(`failed: ${errorMessage(err)}`)
    throw err
  } finally {
    await helper?.close()
    optimizer?.dispose()
    ema?.dispose()
    detector?.dispose()
    await ownSource?.close()
    if (runStarted) await log.flush().catch(() => undefined)
  }
}

async function readSplit(runDir: string): Promise<RunSplit | null> {
  return readJson<RunSplit>(join(runDir, RUN_FILES.split), 'the run split').catch(() => null)
}

function prefixed(prefix: string, values: LossParts): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]))
}

function epochLine(record: EpochRecord, best: BestScore | null): string {
  const f = (v: number | null | undefined) =>
    v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4)
  return (
    `epoch ${record.epoch}: train loss ${f(record.train.total)}, val loss ${f(record.val?.total)}, ` +
    `final ${f(record.final)} (study mAP ${f(record.studyMap)}, opacity AP ${f(record.ap.opacity)}, none AP ${f(record.ap.none)}), ` +
    `lr ${record.lr.toExponential(2)}, ${record.seconds.toFixed(1)} s` +
    (best ? `; best ${best.metric} ${best.value.toFixed(4)} at epoch ${best.epoch}` : '')
  )
}
