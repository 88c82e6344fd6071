// A job started from a form (a prediction, an export): whether it is starting, why it could not
// start, the job it started and how that job ended (JobProgress reports the end into `ended`).
import { computed, ref, type Ref } from 'vue'
import type { JobInfo } from '../../../common/contract'
import { describeError } from '../api'

export function useJobLaunch<Job extends { jobId: string }>() {
  const starting = ref(false)
  const startError = ref<string | null>(null)
  const started = ref(null) as Ref<Job | null>
  const ended = ref<JobInfo | null>(null)
  /** Started and not ended: the form waits for it. */
  const live = computed(() => Boolean(started.value) && !ended.value)

  /** Starts a job with `call`; when it cannot start, the last job stays and the reason shows. */
  async function launch(call: () => Promise<Job>): Promise<Job | null> {
    starting.value = true
    startError.value = null
    ended.value = null
    try {
      started.value = await call()
      return started.value
    } catch (err) {
      startError.value = describeError(err)
      return null
    } finally {
      starting.value = false
    }
  }

  return { starting, startError, started, ended, live, launch }
}
