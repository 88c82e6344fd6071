// An export's output path, one per format: the back end's suggestion in the workspace fills it until
// the user types one, and every path is checked as it changes (debounced): never inside a dataset,
// and whether something is there that the export would replace.
import { computed, onBeforeUnmount, reactive, ref, watch } from 'vue'
import type { OutputCheck } from '../../../common/contract'
import { api, describeError } from '../api'
import { EXPORT_FORMATS, type ExportFormat } from './export-form'

const CHECK_DEBOUNCE_MS = 300
const FORMATS = Object.keys(EXPORT_FORMATS) as ExportFormat[]

export function useOutputPath(format: () => ExportFormat, suggestion: () => string) {
  const outs = reactive(Object.fromEntries(FORMATS.map((f) => [f, ''])) as Record<ExportFormat, string>)
  /** Paths the user typed (a suggestion never replaces them). */
  const typed = reactive(Object.fromEntries(FORMATS.map((f) => [f, false])) as Record<ExportFormat, boolean>)
  const check = ref<OutputCheck | null>(null)
  const checking = ref(false)
  const checkError = ref<string | null>(null)
  let checkTimer: ReturnType<typeof setTimeout> | null = null
  let checkSeq = 0

  const out = computed({
    get: () => outs[format()],
    set: (value: string) => {
      outs[format()] = value
      typed[format()] = true
    }
  })

  watch(
    [format, suggestion],
    async () => {
      const current = format()
      if (typed[current]) return scheduleCheck()
      try {
        const answer = await api.checkOutput({ kind: EXPORT_FORMATS[current].kind, suggest: suggestion() })
        if (current !== format() || typed[current]) return
        outs[current] = answer.suggestion
        scheduleCheck()
      } catch (err) {
        checkError.value = describeError(err)
      }
    },
    { immediate: true }
  )
  watch(out, () => scheduleCheck())
  onBeforeUnmount(() => checkTimer && clearTimeout(checkTimer))

  function scheduleCheck(): void {
    if (checkTimer) clearTimeout(checkTimer)
    checkTimer = setTimeout(() => void runCheck(), CHECK_DEBOUNCE_MS)
  }

  /** Checks the path now; null when it is empty or the check failed. */
  async function runCheck(): Promise<OutputCheck | null> {
    const path = out.value.trim()
    const seq = ++checkSeq
    if (!path) {
      check.value = null
      return null
    }
    checking.value = true
    try {
      const answer = await api.checkOutput({
        path,
        kind: EXPORT_FORMATS[format()].kind,
        suggest: suggestion()
      })
      if (seq !== checkSeq) return answer
      check.value = answer
      checkError.value = null
      return answer
    } catch (err) {
      if (seq === checkSeq) {
        check.value = null
        checkError.value = describeError(err)
      }
      return null
    } finally {
      if (seq === checkSeq) checking.value = false
    }
  }

  return { out, check, checking, checkError, runCheck }
}
