// What the back-end tests share: calls through the contract (validated both ways) and waiting for a job.
import type { JobInfo } from '../../common/contract'
import { dispatch } from '../../main/backend/dispatch'
import type { Backend } from '../../main/backend/index'

/** A call as a page makes it: the request and the response checked against the contract; errors thrown. */
export function caller(backend: () => Backend) {
  return async <T>(name: Parameters<typeof dispatch>[1], request: unknown): Promise<T> => {
    const envelope = await dispatch(backend().handlers, name, request, { validateResponses: true })
    if (!envelope.ok) throw new Error(envelope.error.message)
    return envelope.value as T
  }
}

/** Resolves with the job once it is done, failed or cancelled. */
export function jobEnded(backend: Backend, jobId: string): Promise<JobInfo> {
  return new Promise((resolve) => {
    const check = (job: JobInfo | null) => {
      if (job && job.jobId === jobId && ['done', 'failed', 'cancelled'].includes(job.state)) {
        stop()
        resolve(job)
      }
    }
    const stop = backend.jobs.onJob(check)
    check(backend.jobs.get(jobId))
  })
}
