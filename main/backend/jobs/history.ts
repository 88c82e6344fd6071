// The events a job keeps for pages that attach later: bounded whatever the run's length. A 10,000-step
// run keeps about 2,000 evenly spread steps (plus the latest), every epoch, the latest samples and
// the last few hundred log lines — enough to redraw the dashboard, a few MB at most.
import type { JobEvent, JobEventName } from '../../../common/contract'

/** `last`: only the newest; `recent`: the newest `max`; `thin`: at most `max` spread over the whole job. */
export type Retention = { keep: 'last' } | { keep: 'recent'; max: number } | { keep: 'thin'; max: number }

export const DEFAULT_RETENTION: Record<JobEventName, Retention> = {
  start: { keep: 'last' },
  step: { keep: 'thin', max: 2000 },
  epoch: { keep: 'thin', max: 5000 },
  samples: { keep: 'last' },
  log: { keep: 'recent', max: 300 },
  retrieve: { keep: 'last' },
  end: { keep: 'last' }
}

/** One event name's kept events. */
class Lane {
  private kept: JobEvent[] = []
  /** `thin`: keep every stride-th event; the stride doubles each time the lane fills up. */
  private stride = 1
  private seen = 0
  private newest: JobEvent | null = null

  constructor(private readonly retention: Retention) {}

  add(event: JobEvent): void {
    const { retention } = this
    this.newest = event
    if (retention.keep === 'last') {
      this.kept = [event]
    } else if (retention.keep === 'recent') {
      this.kept.push(event)
      if (this.kept.length > retention.max) this.kept.splice(0, this.kept.length - retention.max)
    } else {
      if (this.seen++ % this.stride === 0) this.kept.push(event)
      if (this.kept.length > retention.max) {
        this.kept = this.kept.filter((_, i) => i % 2 === 0)
        this.stride *= 2
      }
    }
  }

  events(): JobEvent[] {
    const { newest } = this
    return newest && this.kept[this.kept.length - 1] !== newest ? [...this.kept, newest] : this.kept
  }
}

export class EventHistory {
  private readonly lanes = new Map<JobEventName, Lane>()

  constructor(private readonly retention: Record<JobEventName, Retention> = DEFAULT_RETENTION) {}

  add(event: JobEvent): void {
    let lane = this.lanes.get(event.name)
    if (!lane) this.lanes.set(event.name, (lane = new Lane(this.retention[event.name])))
    lane.add(event)
  }

  /** Everything kept, in the order it happened. */
  events(): JobEvent[] {
    return [...this.lanes.values()].flatMap((lane) => lane.events()).sort((a, b) => a.seq - b.seq)
  }
}
