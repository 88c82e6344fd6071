// Following a job without gaps: subscribe first (buffering), then attach (the kept history), then
// merge by `seq`. A live event that skips a number (the event socket dropped and reconnected)
// means events were lost: re-attach, buffering again, and merge the history in.
import type { JobEvent, JobHistory, JobInfo } from '../../../common/contract'

/** Re-attaches in a row before settling for what arrived (each one normally closes the hole). */
const MAX_RETRIES = 3

export interface JobSource {
  /** Every job's events as they happen; returns the unsubscribe. */
  subscribe(listener: (event: JobEvent) => void): () => void
  attach(jobId: string): Promise<JobHistory>
}

export interface FollowCallbacks {
  /** Events in `seq` order, each seen once. */
  onEvents(events: JobEvent[]): void
  /** The job as the latest attach saw it. */
  onJob?(job: JobInfo): void
  onError?(err: unknown): void
}

export class JobFollower {
  private lastSeq = 0
  private attaching = false
  private buffered: JobEvent[] = []
  private unsubscribe: (() => void) | null = null
  private stopped = false

  constructor(
    private readonly source: JobSource,
    readonly jobId: string,
    private readonly callbacks: FollowCallbacks
  ) {}

  /** Subscribes, then attaches; resolves once the history is delivered. */
  async start(): Promise<void> {
    this.unsubscribe = this.source.subscribe((event) => this.onLive(event))
    await this.attach()
  }

  stop(): void {
    this.stopped = true
    this.unsubscribe?.()
    this.unsubscribe = null
    this.buffered = []
  }

  private onLive(event: JobEvent): void {
    if (this.stopped || event.jobId !== this.jobId) return
    if (this.attaching) {
      this.buffered.push(event)
    } else if (event.seq <= this.lastSeq) {
      // a repeat
    } else if (event.seq > this.lastSeq + 1) {
      this.buffered.push(event)
      void this.attach()
    } else {
      this.deliver([event])
    }
  }

  private async attach(retry = 0): Promise<void> {
    this.attaching = true
    try {
      const history = await this.source.attach(this.jobId)
      if (this.stopped) return
      this.callbacks.onJob?.(history.job)
      const historyEnd = Math.max(this.lastSeq, ...history.events.map((event) => event.seq))
      const firstLive = Math.min(...this.buffered.map((event) => event.seq).filter((seq) => seq > historyEnd))
      if (Number.isFinite(firstLive) && firstLive > historyEnd + 1 && retry < MAX_RETRIES) {
        // the socket missed events after the snapshot: take what it has, keep buffering, ask again
        this.deliver(history.events)
        return this.attach(retry + 1)
      }
      const merged = [...history.events, ...this.buffered]
      this.buffered = []
      this.attaching = false
      this.deliver(merged)
    } catch (err) {
      this.attaching = false
      // what was buffered is still newer than anything delivered
      const waiting = this.buffered
      this.buffered = []
      if (!this.stopped) {
        this.deliver(waiting)
        this.callbacks.onError?.(err)
      }
    }
  }

  private deliver(events: JobEvent[]): void {
    const fresh: JobEvent[] = []
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (event.jobId !== this.jobId || event.seq <= this.lastSeq) continue
      fresh.push(event)
      this.lastSeq = event.seq
    }
    if (fresh.length) this.callbacks.onEvents(fresh)
  }
}
