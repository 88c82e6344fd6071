// The model side of training: the detector (new, pretrained or from checkpoints/last), its optimizer,
// the weight average (EMA) and the optional gradient helper thread, behind one step and one
// withAverage. Owns their tensors and the helper thread until dispose().
import * as tf from '@tensorflow/tfjs-core'
import type { BackendInfo } from '../backend/ladder'
import type { Batch } from '../data/loader'
import { createDetector, type Detector } from '../detect/detector'
import type { NamedWeights } from '../model/weights'
import { loadCheckpoint } from '../runs/checkpoint'
import type { RunLog } from '../runs/run-folder'
import type { RunData } from './run-data'
import { WeightAverage } from './ema'
import { GradientHelper, type Trainability } from './gradient-helper'
import { Optimizer } from './optimizer'
import { freshState, type TrainerState } from './run-record'
import type { OpenedRun } from './run-setup'
import {
  MIN_NORM_BATCH,
  defaultMicroBatch,
  defaultThreads,
  namedWeightVariables,
  trainStep,
  type StepResult
} from './step'

export class TrainingModel {
  private trainability: Trainability = []

  private constructor(
    readonly detector: Detector,
    readonly optimizer: Optimizer,
    private readonly ema: WeightAverage | null,
    private readonly helper: GradientHelper | null,
    /** Weight names of the detector's variables (the optimizer's state is keyed by them). */
    private readonly names: ReadonlyMap<tf.Variable, string>,
    readonly backboneStages: string[],
    /** Images per forward/backward pass. */
    readonly microBatch: number,
    /** Threads that compute a step's gradients (2: with the helper). */
    readonly threads: number
  ) {}

  /**
   * The model a session trains, and the trainer state it continues from: a resumed run's
   * checkpoint (averaged model, raw training weights, optimizer state), else a fresh detector.
   */
  static async build(
    run: OpenedRun,
    backend: BackendInfo,
    data: RunData
  ): Promise<{ model: TrainingModel; state: TrainerState }> {
    const { config, resumeFrom, log } = run
    let detector: Detector | null = null
    let optimizer: Optimizer | null = null
    let ema: WeightAverage | null = null
    try {
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
      const threads = Math.min(config.threads ?? defaultThreads(backend.name), data.batchSize)
      const helper = threads > 1 ? await GradientHelper.start(detector, backend.name) : null
      const model = new TrainingModel(
        detector,
        optimizer,
        ema,
        helper,
        names,
        backboneStages,
        microBatch,
        threads
      )
      model.warnAboutSmallPasses(data, log)
      return { model, state }
    } catch (err) {
      optimizer?.dispose()
      ema?.dispose()
      detector?.dispose()
      throw err
    }
  }

  /** Freezes the given backbone stages and lets the others train (the strategy of an epoch). */
  freeze(frozen: readonly string[]): void {
    this.trainability = this.backboneStages.map((group) => [group, !frozen.includes(group)])
    for (const [group, trainable] of this.trainability) this.detector.setTrainable(group, trainable)
  }

  /** One optimizer step over `batch` (half of it in the helper thread, when there is one). */
  async step(batch: Batch, lr: number, gradClip: number): Promise<StepResult> {
    const { detector, names, optimizer, microBatch } = this
    return this.helper
      ? await this.helper.step(detector, names, optimizer, batch, lr, gradClip, microBatch, this.trainability)
      : trainStep(detector, names, optimizer, batch, lr, gradClip, microBatch)
  }

  /** Folds the weights after optimizer step `globalStep` (1-based) into the average. */
  updateAverage(globalStep: number): void {
    this.ema?.update(globalStep)
  }

  /**
   * Runs `work` with the averaged weights in the detector (validation and checkpoints use them);
   * `training` holds the raw weights training continues from. Without an average: as is.
   */
  withAverage<T>(work: (training?: NamedWeights) => Promise<T>): Promise<T> {
    return this.ema ? this.ema.swapIn(work) : work()
  }

  async dispose(): Promise<void> {
    await this.helper?.close()
    this.optimizer.dispose()
    this.ema?.dispose()
    this.detector.dispose()
  }

  private warnAboutSmallPasses({ batchSize, train }: RunData, log: RunLog): void {
    // the threads share batch-norm statistics: a pass normalises over every thread's images
    const perPass = Math.min(batchSize, this.microBatch * this.threads)
    if (perPass < MIN_NORM_BATCH && perPass < train.length) {
      log.write(
        `warning: batch norm sees ${perPass} image(s) per pass (batch ${batchSize}, ${this.threads} thread(s), micro-batch ${this.microBatch}); ` +
          `below ${MIN_NORM_BATCH} its running statistics become unreliable and validation suffers`
      )
    }
  }
}
