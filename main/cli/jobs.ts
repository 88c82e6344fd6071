// The CLI's side of a job: the back end's job service with Node child processes, progress bars on
// stderr, the job's events to the command, and Ctrl-C as a clean cancel (a training step finishes
// and writes its checkpoint; a second Ctrl-C ends the process at once).
import type { JobEvent } from '../../common/contract'
import { JobService, type JobHandle } from '../backend/jobs/job-service'
import { stderrProgress } from './progress'

export type CliJobEvents = (event: JobEvent, progress: ReturnType<typeof stderrProgress>) => void

/** Starts a job on a fresh job service (the command's only one) and follows it to its end. */
export async function runCliJob<R>(
  start: (jobs: JobService) => JobHandle<R>,
  onEvent: CliJobEvents = () => undefined
): Promise<R> {
  const jobs = new JobService({ progressIntervalMs: 0 })
  const progress = stderrProgress()
  const handle = start(jobs)
  const stopEvents = jobs.onEvent((event) => {
    if (event.jobId === handle.jobId) onEvent(event, progress)
  })
  const stopJobs = jobs.onJob((job) => {
    if (job.jobId === handle.jobId && job.progress && job.state === 'running') progress(job.progress)
  })
  let cancelling = false
  const onSigint = () => {
    if (cancelling) process.exit(130)
    cancelling = true
    progress.stop()
    process.stderr.write('cancelling: finishing the current step (Ctrl-C again to stop at once)\n')
    jobs.cancel(handle.jobId)
  }
  process.on('SIGINT', onSigint)
  try {
    return await handle.result
  } finally {
    process.off('SIGINT', onSigint)
    stopEvents()
    stopJobs()
    progress.stop()
  }
}
