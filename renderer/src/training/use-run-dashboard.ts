// One run's dashboard: live while a job of this back end trains it (its kept history first, then its
// events), else the curves its folder recorded. A reload mid-training re-attaches and redraws from
// the job's history; a run written by the CLI in another process is re-read every few seconds.
import { computed, markRaw, onBeforeUnmount, reactive, ref, shallowRef, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import type { JobInfo, RunDetail } from '../../../common/contract'
import { api, describeError } from '../api'
import { useJobsStore } from '../stores/jobs'
import { epochLossSeries, epochScoreSeries,
  epochClassSeries, stepLossSeries, stepRateSeries } from './chart-options'
import {
  applyEvents,
  emptyDashboard,
  loadRecorded,
  progressOf,
  switchJob,
  type DashboardState
} from './dashboard-state'
import { JobFollower } from './follow-job'
import { describeRunState } from './format'
import { PART_OF, partRedraw, type Part } from './redraw-parts'

/** Re-read the run folder this often while it trains elsewhere (the CLI) or is not created yet. */
const POLL_MS = 3000
/** Redraw at most this often: a fast run sends tens of steps a second. */
const REDRAW_MS = 250

export function useRunDashboard(runId: () => string) {
  const route = useRoute()
  const router = useRouter()
  const jobs = useJobsStore()
  const { versions, redrawSoon, stop: stopRedraw } = partRedraw(REDRAW_MS)

  const detail = ref<RunDetail | null>(null)
  const loadError = ref<string | null>(null)
  const followError = ref<string | null>(null)
  const state = shallowRef(markRaw(emptyDashboard()))
  const jobId = ref<string | null>(null)
  const attachedJob = ref<JobInfo | null>(null)
  const cancelRequested = ref(false)
  const actionError = ref<string | null>(null)
  const resuming = ref(false)

  let follower: JobFollower | null = null
  let pollTimer: ReturnType<typeof setTimeout> | null = null
  let loadSeq = 0

  /** The job as the back end reports it now (job events), else as attach saw it. */
  const job = computed(() => (jobId.value ? (jobs.jobs.get(jobId.value) ?? attachedJob.value) : null))
  const live = computed(() => job.value?.state === 'running' || job.value?.state === 'queued')
  const summary = computed(() => detail.value?.summary ?? null)

  async function load(): Promise<void> {
    const seq = ++loadSeq
    stopFollowing()
    state.value = markRaw(emptyDashboard())
    detail.value = null
    loadError.value = null
    jobId.value = null
    cancelRequested.value = false
    const [read, listed] = await Promise.all([
      api.readRun({ runId: runId() }).catch((err: unknown) => err),
      api.listJobs().catch(() => [] as JobInfo[])
    ])
    if (seq !== loadSeq) return
    if (read instanceof Error) loadError.value = describeError(read)
    else {
      detail.value = read as RunDetail
      loadRecorded(state.value, detail.value)
    }
    const running = listed.find(
      (j) => j.kind === 'train' && j.meta.runId === runId() && (j.state === 'running' || j.state === 'queued')
    )
    // the job Start handed over, in case the listing failed
    const fromQuery = typeof route.query.job === 'string' && !listed.length ? route.query.job : null
    const found = running?.jobId ?? detail.value?.summary.jobId ?? fromQuery
    redrawSoon()
    if (found) await follow(found)
    schedulePoll()
  }

  async function follow(id: string): Promise<void> {
    stopFollowing()
    jobId.value = id
    followError.value = null
    switchJob(state.value, id)
    const current = new JobFollower(
      { subscribe: (listener) => api.on('jobEvent', listener), attach: (jobId) => api.attachJob({ jobId }) },
      id,
      {
        onEvents: (events) => {
          applyEvents(state.value, events)
          redrawSoon(events.map((event) => PART_OF[event.name]))
          if (events.some((event) => event.name === 'end')) void onJobEnded()
        },
        onJob: (info) => (attachedJob.value = info),
        onError: (err) => (followError.value = describeError(err))
      }
    )
    follower = current
    await current.start()
  }

  function stopFollowing(): void {
    follower?.stop()
    follower = null
    attachedJob.value = null
  }

  /** The job ended: the folder now has the final summary, results and samples. */
  async function onJobEnded(): Promise<void> {
    cancelRequested.value = false
    await refreshDetail()
  }

  async function refreshDetail(): Promise<void> {
    try {
      const next = await api.readRun({ runId: runId() })
      detail.value = next
      loadError.value = null
      if (jobId.value) loadRecorded(state.value, next)
      else {
        // another process writes this run: its folder is the whole truth
        const fresh = markRaw(emptyDashboard())
        loadRecorded(fresh, next)
        state.value = fresh
      }
      redrawSoon()
    } catch (err) {
      if (!jobId.value) loadError.value = describeError(err)
    }
  }

  function schedulePoll(): void {
    if (pollTimer) clearTimeout(pollTimer)
    pollTimer = setTimeout(async () => {
      pollTimer = null
      const writtenElsewhere = !live.value && detail.value?.summary.state === 'running'
      const notCreatedYet = live.value && !detail.value
      if ((writtenElsewhere || notCreatedYet) && document.visibilityState === 'visible') await refreshDetail()
      schedulePoll()
    }, POLL_MS)
  }

  watch(runId, load, { immediate: true })
  onBeforeUnmount(() => {
    stopFollowing()
    stopRedraw()
    if (pollTimer) clearTimeout(pollTimer)
  })

  /** Reads the state for one part of the page (re-run when that part's version ticks or the state is replaced). */
  function partOf<T>(part: Part, read: (s: DashboardState) => T) {
    return computed(() => {
      void versions[part]
      return read(state.value)
    })
  }
  const view = reactive({
    progress: computed(() => {
      void versions.step
      void versions.meta
      return live.value ? progressOf(state.value) : null
    }),
    stepLoss: partOf('step', stepLossSeries),
    stepRate: partOf('step', stepRateSeries),
    steps: partOf('step', (s) => s.steps.last?.step ?? 0),
    epochLoss: partOf('epoch', (s) => epochLossSeries(s.epochs, s.best)),
    epochScore: partOf('epoch', (s) => epochScoreSeries(s.epochs, s.best)),
    epochClasses: partOf('epoch', (s) => epochClassSeries(s.epochs, s.best)),
    best: partOf('epoch', (s) => s.best),
    lastEpoch: partOf('epoch', (s) => s.epochs[s.epochs.length - 1] ?? null),
    samples: partOf('samples', (s) => s.samples),
    log: partOf('log', (s) => [...s.log]),
    start: partOf('meta', (s) => s.start),
    end: partOf('meta', (s) => s.end)
  })

  const runState = computed(() => describeRunState(job.value, cancelRequested.value, view.end, summary.value))

  /** The epoch axis' end: the run's planned epochs (none when it trains until a time limit). */
  const plannedEpochs = computed(() => {
    const start = view.start
    const planned = start
      ? start.untilTimeLimit
        ? null
        : start.epochs
      : (summary.value?.epochsPlanned ?? null)
    const last = view.lastEpoch?.epoch ?? 0
    return planned && planned >= last ? Math.max(planned, 2) : undefined
  })

  async function cancel(): Promise<void> {
    if (!jobId.value) return
    actionError.value = null
    cancelRequested.value = await jobs.cancel(jobId.value)
    if (!cancelRequested.value) actionError.value = 'The job had ended already.'
  }

  /** Continues the run (to `epochs` in all, for `minutes` more); the page follows the new job. */
  async function resume(epochs: number | undefined, minutes: number | undefined): Promise<void> {
    actionError.value = null
    const completed = summary.value?.epochs ?? 0
    if (epochs !== undefined && (!Number.isInteger(epochs) || epochs <= completed)) {
      actionError.value = `Give a whole number of epochs above the ${completed} completed.`
      return
    }
    if (minutes !== undefined && !(minutes > 0)) {
      actionError.value = 'The time limit must be a positive number of minutes.'
      return
    }
    resuming.value = true
    try {
      const started = await api.resumeTraining({ runId: runId(), epochs, timeLimitMinutes: minutes })
      void router.replace({ query: { job: started.jobId } })
      await follow(started.jobId)
    } catch (err) {
      actionError.value = describeError(err)
    } finally {
      resuming.value = false
    }
  }

  return {
    detail,
    summary,
    loadError,
    followError,
    job,
    jobId,
    live,
    view,
    versions,
    runState,
    plannedEpochs,
    cancelRequested,
    actionError,
    resuming,
    cancel,
    resume
  }
}
