// The back end's check of the Train form (checkTraining: problems by field, the default each unset
// field takes, the split), asked again 300 ms after the user stops typing; only the latest answer
// counts, and `answered` says whether the shown one is for the settings as they are now.
import { computed, onBeforeUnmount, ref, watch } from 'vue'
import type { TrainingCheck } from '../../../common/contract'
import { api, describeError } from '../api'

const DEBOUNCE_MS = 300

export function useTrainingCheck(
  datasetId: () => string | undefined,
  settings: () => Record<string, unknown>
) {
  const check = ref<TrainingCheck | null>(null)
  /** The settings the shown check answered, so a stale answer never enables Start. */
  const checkedFor = ref('')
  const checking = ref(false)
  const checkError = ref<string | null>(null)
  const requestKey = computed(() => JSON.stringify([datasetId(), settings()]))
  const answered = computed(() => checkedFor.value === requestKey.value)

  let timer: ReturnType<typeof setTimeout> | null = null
  let checkSeq = 0
  watch(
    requestKey,
    () => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(runCheck, DEBOUNCE_MS)
    },
    { immediate: true }
  )
  onBeforeUnmount(() => timer && clearTimeout(timer))

  async function runCheck(): Promise<void> {
    const id = datasetId()
    if (!id) return
    const key = requestKey.value
    const seq = ++checkSeq
    checking.value = true
    try {
      const answer = await api.checkTraining({ datasetId: id, settings: settings() })
      if (seq !== checkSeq) return
      check.value = answer
      checkedFor.value = key
      checkError.value = null
    } catch (err) {
      if (seq === checkSeq) checkError.value = describeError(err)
    } finally {
      if (seq === checkSeq) checking.value = false
    }
  }

  return { check, checking, checkError, answered }
}
