// Wire schemas of the job service: every slow thing (indexing, pixel checks, the demo, training,
// prediction) is a job with an id, a state, progress, a bounded history of events, a result or an
// error. A page that reloads, or a second tab, lists the jobs and re-attaches to their events.
import { z } from 'zod'
import { JobId, Progress } from './schemas'
import { trainingEvents } from './training'
import { RetrieveProgressEvent } from './dicomweb'

export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const
export const JobState = z.enum(JOB_STATES)

export const JOB_KINDS = [
  'open-dataset',
  'demo',
  'quality',
  'train',
  'predict',
  'export',
  'probe-backend',
  'pacs-retrieve'
] as const
export const JobKind = z.enum(JOB_KINDS)

export const JobInfo = z.object({
  jobId: JobId,
  kind: JobKind,
  /** One line for the job bar, e.g. `Training efficientdet / efficientnet-b0 on siim-demo`. */
  title: z.string(),
  state: JobState,
  progress: Progress.nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  /** Why it failed (names the file and the reason), or null. */
  error: z.string().nullable(),
  /** What it found out, when it is done (JSON; e.g. a TrainResult for training). */
  result: z.unknown(),
  /** Where it belongs: `runId`, `runDir`, `datasetId`, … */
  meta: z.record(z.string(), z.string())
})

/** The end of a job, as the last event of its history. */
export const JobEnd = z.object({ state: JobState, error: z.string().nullable() })

const jobEvent = <N extends string, P extends z.ZodType>(name: N, payload: P) =>
  z.object({
    jobId: JobId,
    /** 1, 2, 3, … per job: a page re-attaching drops what it has already seen. */
    seq: z.number().int().positive(),
    at: z.number(),
    name: z.literal(name),
    payload
  })

/** Something a job reported: training's start/step/epoch/samples/log, then `end` for every job. */
export const JobEvent = z.discriminatedUnion('name', [
  jobEvent('start', trainingEvents.start),
  jobEvent('step', trainingEvents.step),
  jobEvent('epoch', trainingEvents.epoch),
  jobEvent('samples', trainingEvents.samples),
  jobEvent('log', trainingEvents.log),
  jobEvent('retrieve', RetrieveProgressEvent),
  jobEvent('end', JobEnd)
])
export const JOB_EVENT_NAMES = JobEvent.options.map((option) => option.shape.name.value)

/** A job and the events it kept (steps thinned, epochs kept, only the latest samples): what attach returns. */
export const JobHistory = z.object({ job: JobInfo, events: z.array(JobEvent) })

export type JobState = z.infer<typeof JobState>
export type JobKind = z.infer<typeof JobKind>
export type JobInfo = z.infer<typeof JobInfo>
export type JobEnd = z.infer<typeof JobEnd>
export type JobEvent = z.infer<typeof JobEvent>
export type JobEventName = JobEvent['name']
export type JobEventOf<N extends JobEventName> = Extract<JobEvent, { name: N }>
export type JobHistory = z.infer<typeof JobHistory>
