// The back end's jobs as the job bar shows them: every running or queued job (whoever started it:
// this page, another tab, before a reload), kept current by `job` events. Ended trainings are
// announced with a toast, and in the desktop app with a system notification; ended predictions
// with a toast.
import { defineStore } from 'pinia'
import { computed, reactive } from 'vue'
import type { JobInfo, TrainResult } from '../../../common/contract'
import { api, describeError, isDesktop, newJobId } from '../api'
import { describeBest, RUN_STATE_LABELS } from '../training/format'
import { useToastsStore } from './toasts'

const LIVE: ReadonlyArray<JobInfo['state']> = ['queued', 'running']
const REFRESH_MS = 15_000

export const useJobsStore = defineStore('jobs', () => {
  const jobs = reactive(new Map<string, JobInfo>())
  /** Calls this page started under a job id, until the back end reports the job (or the call ends). */
  const pending = reactive(new Map<string, string>())
  const announced = new Set<string>()
  const toasts = useToastsStore()

  api.on('job', (job) => {
    const before = jobs.get(job.jobId)
    // a progress event sent before the job ended may arrive after its end: the end stands
    if (before && !LIVE.includes(before.state) && LIVE.includes(job.state)) return
    jobs.set(job.jobId, job)
    pending.delete(job.jobId)
    if (LIVE.includes(job.state) || before?.state === job.state) return
    if (job.kind === 'train') announce(job)
    else if (job.kind === 'predict' && job.meta.predictionId) announcePrediction(job)
  })

  /** Jobs started before this page loaded (a reload, another tab, the CLI's own back end excepted). */
  async function refresh(): Promise<void> {
    try {
      const listed = await api.listJobs()
      const ids = new Set(listed.map((job) => job.jobId))
      // a live job the back end no longer lists ended while the event socket was down
      for (const [jobId, job] of jobs) if (LIVE.includes(job.state) && !ids.has(jobId)) jobs.delete(jobId)
      for (const job of listed) {
        const known = jobs.get(job.jobId)
        // an event may have overtaken the listing
        if (!known || !LIVE.includes(job.state) || LIVE.includes(known.state)) jobs.set(job.jobId, job)
        // ended before this page knew about it: nothing to announce
        if (!LIVE.includes(job.state)) announced.add(job.jobId)
      }
    } catch (err) {
      toasts.show({ tone: 'error', text: `Could not list the running jobs: ${describeError(err)}` })
    }
  }
  void refresh()
  // events lost while the socket reconnects must not leave a finished job in the bar for good
  setInterval(() => {
    if ([...jobs.values()].some((job) => LIVE.includes(job.state))) void refresh()
  }, REFRESH_MS)

  const active = computed(() => {
    const live = [...jobs.values()].filter((job) => LIVE.includes(job.state))
    const waiting = [...pending.entries()]
      .filter(([jobId]) => !jobs.has(jobId))
      .map(([jobId, title]) => placeholder(jobId, title))
    return [...live, ...waiting].sort((a, b) => a.createdAt - b.createdAt)
  })

  /** The newest live training job of a run, if any. */
  function trainingOf(runId: string): JobInfo | null {
    return (
      [...jobs.values()]
        .filter((job) => job.kind === 'train' && job.meta.runId === runId && LIVE.includes(job.state))
        .sort((a, b) => b.createdAt - a.createdAt)[0] ?? null
    )
  }

  /** Runs a call that reports progress under a job id; it shows in the bar until the call settles. */
  async function track<T>(title: string, kind: string, run: (jobId: string) => Promise<T>): Promise<T> {
    const jobId = newJobId(kind)
    pending.set(jobId, title)
    try {
      return await run(jobId)
    } finally {
      pending.delete(jobId)
      const job = jobs.get(jobId)
      // the call's answer is the outcome; the bar must not keep a job whose end event is still on its way
      if (job && LIVE.includes(job.state)) jobs.delete(jobId)
    }
  }

  async function cancel(jobId: string): Promise<boolean> {
    try {
      return (await api.cancelJob({ jobId })).cancelled
    } catch (err) {
      toasts.show({ tone: 'error', text: describeError(err) })
      return false
    }
  }

  function announce(job: JobInfo): void {
    if (announced.has(job.jobId)) return
    announced.add(job.jobId)
    const result = job.result as Partial<TrainResult> | null
    const outcome =
      job.state === 'failed'
        ? `failed: ${job.error ?? 'unknown error'}`
        : job.state === 'cancelled'
          ? 'cancelled (checkpoint written)'
          : RUN_STATE_LABELS[result?.status ?? 'completed'] +
            (result?.best ? ` — ${describeBest(result.best)}` : '')
    const runName = job.meta.runDir?.split(/[\\/]/).filter(Boolean).pop()
    const text = `${job.title}${runName && !job.title.includes(runName) ? ` (run ${runName})` : ''}: ${outcome}`
    const runId = job.meta.runId
    toasts.show({
      tone: job.state === 'failed' ? 'error' : job.state === 'done' ? 'ok' : 'info',
      text,
      link: runId ? { to: `/runs/${runId}`, label: 'Open the run' } : undefined
    })
    if (isDesktop) notifyDesktop(job.state === 'failed' ? 'Training failed' : 'Training ended', text)
  }

  /** A prediction started from the GUI ended: where to find it. */
  function announcePrediction(job: JobInfo): void {
    if (announced.has(job.jobId)) return
    announced.add(job.jobId)
    const outcome =
      job.state === 'done'
        ? 'done'
        : job.state === 'cancelled'
          ? 'cancelled'
          : `failed: ${job.error ?? 'unknown error'}`
    toasts.show({
      tone: job.state === 'failed' ? 'error' : job.state === 'done' ? 'ok' : 'info',
      text: `${job.title}: ${outcome}`,
      link: job.state === 'done' ? { to: '/predictions', label: 'Open Predictions' } : undefined
    })
  }

  return { jobs, active, refresh, trainingOf, track, cancel }
})

function placeholder(jobId: string, title: string): JobInfo {
  return {
    jobId,
    kind: 'open-dataset',
    title,
    state: 'queued',
    progress: null,
    createdAt: Date.now(),
    startedAt: null,
    endedAt: null,
    error: null,
    result: null,
    meta: {}
  }
}

/** A system notification (the desktop app; a browser tab gets only the toast). */
function notifyDesktop(title: string, body: string): void {
  if (typeof Notification === 'undefined') return
  const show = () => new Notification(title, { body, silent: false })
  if (Notification.permission === 'granted') show()
  else if (Notification.permission !== 'denied')
    void Notification.requestPermission().then((permission) => permission === 'granted' && show())
}
