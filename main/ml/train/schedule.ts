// Learning-rate schedule: linear warm-up, then cosine decay to a floor.

export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number
  warmupSteps: number
  totalSteps: number
  /** The floor at the end, as a fraction of the peak. */
  minLrRatio: number
}

/**
 * Learning rate of 0-based optimizer step `step`. With a time limit, `timeFraction` (elapsed / limit)
 * moves the decay along too, so a run cut short by the clock still ends at a low learning rate.
 */
export function learningRate(step: number, options: ScheduleOptions, timeFraction = 0): number {
  const { lr, warmupSteps, totalSteps, minLrRatio } = options
  // warm-up from lr/warmupSteps so the very first step already moves (never a zero step)
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps
  const stepProgress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps)
  const progress = Math.min(1, Math.max(stepProgress, timeFraction))
  const floor = lr * minLrRatio
  return floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress))
}
