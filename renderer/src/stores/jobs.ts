// Progress of the long calls this page started (indexing, demo generation, pixel checks).
import { defineStore } from 'pinia'
import { reactive } from 'vue'
import type { JobProgress } from '../../../common/contract'
import { api, newJobId } from '../api'

export const useJobsStore = defineStore('jobs', () => {
  const active = reactive(new Map<string, JobProgress & { title: string }>())
  api.on('progress', (progress) => {
    const job = active.get(progress.jobId)
    if (job) active.set(progress.jobId, { ...job, ...progress })
  })

  /** Runs a call that reports progress under a job id; the job shows until the call settles. */
  async function track<T>(title: string, kind: string, run: (jobId: string) => Promise<T>): Promise<T> {
    const jobId = newJobId(kind)
    active.set(jobId, { jobId, title, stage: 'starting', done: 0, total: 0 })
    try {
      return await run(jobId)
    } finally {
      active.delete(jobId)
    }
  }

  function cancel(jobId: string): void {
    void api.cancelJob({ jobId })
  }

  return { active, track, cancel }
})
