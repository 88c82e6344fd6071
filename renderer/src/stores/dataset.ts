// The open dataset: its summary, every image row, and the studies-list filters. The viewer walks
// the filtered order, so arrows move through what the user is looking at.
import { defineStore } from 'pinia'
import { computed, reactive, ref, shallowRef } from 'vue'
import type { DatasetSummary, FilterPolicy, ImageRow } from '../../../common/contract'
import type { StudyClass } from '../../../common/domain'
import { api } from '../api'

export interface StudyFilters {
  split: 'all' | 'train' | 'test'
  label: 'all' | StudyClass | 'unlabelled'
  boxes: 'all' | 'with' | 'without'
  flags: 'all' | 'flagged' | 'clean' | 'excluded'
  search: string
}

export const useDatasetStore = defineStore('dataset', () => {
  const summary = ref<DatasetSummary | null>(null)
  const rows = shallowRef<ImageRow[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const filters = reactive<StudyFilters>({
    split: 'all',
    label: 'all',
    boxes: 'all',
    flags: 'all',
    search: ''
  })

  const rowsById = computed(() => new Map(rows.value.map((row) => [row.imageId, row])))

  const filteredRows = computed(() => {
    const needle = filters.search.trim().toLowerCase()
    return rows.value.filter(
      (row) =>
        (filters.split === 'all' || row.split === filters.split) &&
        (filters.label === 'all' ||
          (filters.label === 'unlabelled' ? row.studyLabel === null : row.studyLabel === filters.label)) &&
        (filters.boxes === 'all' || (filters.boxes === 'with') === row.boxes.length > 0) &&
        (filters.flags === 'all' ||
          (filters.flags === 'flagged' && row.flags.length > 0) ||
          (filters.flags === 'clean' && row.flags.length === 0) ||
          (filters.flags === 'excluded' && row.excluded)) &&
        (!needle || row.imageId.toLowerCase().includes(needle) || row.studyId.toLowerCase().includes(needle))
    )
  })

  async function load(datasetId: string, force = false): Promise<void> {
    if (!force && summary.value?.datasetId === datasetId && rows.value.length) return
    loading.value = true
    error.value = null
    try {
      const [nextSummary, nextRows] = await Promise.all([
        api.datasetSummary({ datasetId }),
        api.listImages({ datasetId })
      ])
      summary.value = nextSummary
      rows.value = Object.freeze(nextRows) as ImageRow[]
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
      throw err
    } finally {
      loading.value = false
    }
  }

  /** A freshly opened dataset: its rows are read again (files may have changed since last time). */
  function adopt(next: DatasetSummary): void {
    rows.value = []
    summary.value = next
  }

  async function setPolicy(policy: FilterPolicy): Promise<void> {
    if (!summary.value) return
    summary.value = await api.setPolicy({ datasetId: summary.value.datasetId, policy })
    await load(summary.value.datasetId, true)
  }

  function resetFilters(): void {
    Object.assign(filters, { split: 'all', label: 'all', boxes: 'all', flags: 'all', search: '' })
  }

  return {
    summary,
    rows,
    loading,
    error,
    filters,
    rowsById,
    filteredRows,
    load,
    adopt,
    setPolicy,
    resetFilters
  }
})
