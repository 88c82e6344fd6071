// Per-step curves of a run that may take 10,000 steps: at most `max` points spread evenly over the
// whole run, the newest always included. Like the back end's event history (main/backend/jobs/
// history.ts): keep every stride-th point and double the stride each time the buffer fills, so a
// chart redraws a bounded number of points however long the run grows.

export interface StepPoint {
  /** Global optimizer step, 1-based. */
  step: number
  /** Scalars at that step (`total`, `cls`, …, `lr`, `grad_norm`, `img/s`); null: not recorded. */
  values: Record<string, number | null>
}

export class DecimatedSeries {
  private kept: StepPoint[] = []
  private stride = 1
  private appended = 0
  /** True when the last point is only the newest, not one the stride keeps: the next one replaces it. */
  private provisionalTail = false

  constructor(readonly max = 2000) {}

  get points(): readonly StepPoint[] {
    return this.kept
  }

  get length(): number {
    return this.kept.length
  }

  get last(): StepPoint | undefined {
    return this.kept[this.kept.length - 1]
  }

  /** Adds a point; a step seen already gets the new values merged in (a live event over a recorded one). */
  add(point: StepPoint): void {
    const last = this.last
    if (last && point.step <= last.step) return this.insert(point)
    if (this.provisionalTail) this.kept.pop()
    const keep = this.appended++ % this.stride === 0
    this.kept.push(point)
    this.provisionalTail = !keep
    if (this.kept.length > this.max) this.thin()
  }

  /** The points as [step, value] pairs of one scalar, nulls left out. */
  pairs(key: string): Array<[number, number]> {
    const out: Array<[number, number]> = []
    for (const point of this.kept) {
      const value = point.values[key]
      if (value !== null && value !== undefined) out.push([point.step, value])
    }
    return out
  }

  /** Every scalar name seen, in first-seen order. */
  keys(): string[] {
    const names = new Set<string>()
    for (const point of this.kept) for (const key of Object.keys(point.values)) names.add(key)
    return [...names]
  }

  clear(): void {
    this.kept = []
    this.stride = 1
    this.appended = 0
    this.provisionalTail = false
  }

  /** An older step (merging a recorded run with a job's history): sorted in, or merged into its twin. */
  private insert(point: StepPoint): void {
    let lo = 0
    let hi = this.kept.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.kept[mid].step < point.step) lo = mid + 1
      else hi = mid
    }
    const twin = this.kept[lo]
    if (twin?.step === point.step) {
      this.kept[lo] = { step: point.step, values: { ...twin.values, ...point.values } }
      return
    }
    this.kept.splice(lo, 0, point)
    if (this.kept.length > this.max) this.thin()
  }

  private thin(): void {
    const tail = this.provisionalTail ? this.kept.pop()! : null
    const last = this.kept[this.kept.length - 1]
    this.kept = this.kept.filter((_, i) => i % 2 === 0)
    // the newest kept point stays: the curve must reach the present
    if (tail) this.kept.push(tail)
    else if (this.kept[this.kept.length - 1] !== last) this.kept.push(last)
    this.provisionalTail = tail !== null
    this.stride *= 2
  }
}
