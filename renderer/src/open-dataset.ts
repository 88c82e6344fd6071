// Opening a folder or the demo from anywhere (home page, menu): track progress, then show the list.
import type { Router } from 'vue-router'
import type { DatasetSummary } from '../../common/contract'
import { api } from './api'
import { useDatasetStore } from './stores/dataset'
import { useJobsStore } from './stores/jobs'

export async function openFolder(path: string, router: Router): Promise<DatasetSummary> {
  const summary = await useJobsStore().track(`Indexing ${path}`, 'open', (jobId) =>
    api.openDataset({ path, jobId })
  )
  return show(summary, router)
}

export async function openDemo(router: Router): Promise<DatasetSummary> {
  const summary = await useJobsStore().track('Preparing the demo dataset', 'demo', (jobId) =>
    api.openDemo({ jobId })
  )
  return show(summary, router)
}

async function show(summary: DatasetSummary, router: Router): Promise<DatasetSummary> {
  const store = useDatasetStore()
  store.adopt(summary)
  store.resetFilters()
  await router.push(`/d/${summary.datasetId}/studies`)
  return summary
}
