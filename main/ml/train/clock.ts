// Time in a training session: the learning rate of each step (warm-up, then cosine decay by steps or,
// under a time limit, by the clock), whether another step or epoch fits the limit, the ETA, and the
// progress a job shows.
import type { Progress } from '../../../common/domain'
import type { TrainConfig } from './config'
import type { TrainerState } from './run-record'
import { learningRate } from './schedule'

export class TrainingClock {
  readonly totalSteps: number
  readonly timeLimitMs: number | null
  private readonly warmupSteps: number
  /** How far the decay got in earlier sessions: the clock moves it on from there. */
  private readonly progressAtStart: number
  /** Smoothed seconds of a step and of a validation, for the ETA and the time limit. */
  private stepSeconds = 0
  private validationSeconds = 0

  constructor(
    readonly now: () => number,
    private readonly sessionStart: number,
    private readonly config: TrainConfig,
    private readonly stepsPerEpoch: number,
    state: TrainerState
  ) {
    this.totalSteps = stepsPerEpoch * config.epochs
    this.warmupSteps = Math.round(config.warmupEpochs * stepsPerEpoch)
    this.timeLimitMs = config.timeLimitMinutes === null ? null : config.timeLimitMinutes * 60_000
    this.progressAtStart = state.scheduleProgress
  }

  sessionElapsed(): number {
    return this.now() - this.sessionStart
  }

  /** Training milliseconds over all sessions. */
  totalElapsed(state: TrainerState): number {
    return state.elapsedMs + this.sessionElapsed()
  }

  /** Learning rate of 0-based optimizer step `step`. */
  lrAt(step: number): number {
    const limit = this.timeLimitMs
    const byTime = limit === null ? 0 : this.clockProgress(Math.min(1, this.sessionElapsed() / limit))
    const { lr, minLrRatio } = this.config
    return learningRate(
      step,
      { lr, warmupSteps: this.warmupSteps, totalSteps: this.totalSteps, minLrRatio },
      byTime
    )
  }

  /** The decay progress to record after an epoch: where the clock moved it, never backwards. */
  scheduleProgress(current: number): number {
    const limit = this.timeLimitMs
    return Math.min(
      1,
      Math.max(current, limit === null ? 0 : this.clockProgress(this.sessionElapsed() / limit))
    )
  }

  /** Whether another step would overrun the time limit. */
  stepWouldOverrun(): boolean {
    return this.outOfTime(this.stepSeconds * 1000)
  }

  /** Whether another epoch (its steps and its validation) would overrun the time limit. */
  epochWouldOverrun(): boolean {
    return this.outOfTime((this.stepSeconds * this.stepsPerEpoch + this.validationSeconds) * 1000)
  }

  observeStep(seconds: number): void {
    this.stepSeconds = this.stepSeconds === 0 ? seconds : 0.8 * this.stepSeconds + 0.2 * seconds
  }

  observeValidation(seconds: number): void {
    this.validationSeconds = seconds
  }

  imagesPerSecond(images: number): number {
    return this.stepSeconds > 0 ? images / this.stepSeconds : 0
  }

  /** Seconds until the run ends: the remaining steps and validations, or the time limit if sooner. */
  remainingSeconds(state: TrainerState): number {
    const steps = this.totalSteps - state.globalStep
    const validations = this.config.epochs - state.history.length
    const seconds = steps * this.stepSeconds + validations * this.validationSeconds
    return this.timeLimitMs === null
      ? seconds
      : Math.min(seconds, Math.max(0, (this.timeLimitMs - this.sessionElapsed()) / 1000))
  }

  /** Progress for the job: steps, or minutes of the budget when the clock binds sooner than the steps. */
  progress(state: TrainerState): Progress {
    const limit = this.timeLimitMs
    if (limit !== null && this.sessionElapsed() / limit > state.globalStep / this.totalSteps) {
      return {
        stage: 'train (minutes)',
        done: Math.round(this.sessionElapsed() / 6000) / 10,
        total: limit / 60_000
      }
    }
    return { stage: 'train', done: state.globalStep, total: this.totalSteps }
  }

  private outOfTime(neededMs: number): boolean {
    return this.timeLimitMs !== null && this.sessionElapsed() + neededMs > this.timeLimitMs
  }

  private clockProgress(sessionFraction: number): number {
    return this.progressAtStart + (1 - this.progressAtStart) * sessionFraction
  }
}
