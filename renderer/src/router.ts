import { createRouter, createWebHashHistory } from 'vue-router'
import { api } from './api'
import { useDatasetStore } from './stores/dataset'
import HomeView from './views/HomeView.vue'

const ViewerView = () => import('./views/ViewerView.vue')

// Hash history: the same build loads from cxr://app/index.html in Electron and from the web host.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'home', component: HomeView },
    {
      path: '/d/:datasetId/studies',
      name: 'studies',
      component: () => import('./views/StudiesView.vue'),
      props: true
    },
    {
      path: '/d/:datasetId/view/:imageId',
      name: 'viewer',
      component: ViewerView,
      props: true
    },
    {
      path: '/d/:datasetId/data',
      name: 'data',
      component: () => import('./views/DataView.vue'),
      props: true
    },
    {
      path: '/d/:datasetId/train',
      name: 'train',
      component: () => import('./views/TrainView.vue'),
      props: true
    },
    // no dataset in the address: the open one, else the most recent
    { path: '/train', name: 'train-pick', component: () => import('./views/TrainView.vue') },
    {
      path: '/d/:datasetId/export',
      name: 'export',
      component: () => import('./views/ExportView.vue'),
      props: true
    },
    // no dataset in the address: the open one, else the most recent, else home
    {
      path: '/export',
      name: 'export-pick',
      component: HomeView,
      beforeEnter: (to) => pickDataset('export', to.query)
    },
    { path: '/predictions', name: 'predictions', component: () => import('./views/PredictionsView.vue') },
    {
      path: '/predictions/:predictionId/evaluation',
      name: 'evaluation',
      component: () => import('./views/EvaluationView.vue'),
      props: true
    },
    { path: '/pacs', name: 'pacs', component: () => import('./views/PacsView.vue') },
    { path: '/runs', name: 'runs', component: () => import('./views/RunsView.vue') },
    { path: '/runs/compare', name: 'runs-compare', component: () => import('./views/CompareRunsView.vue') },
    {
      path: '/runs/:runId',
      name: 'run',
      component: () => import('./views/RunDashboardView.vue'),
      props: true
    },
    { path: '/:pathMatch(.*)*', redirect: '/' }
  ]
})

async function pickDataset(page: string, query: Record<string, unknown>) {
  const open = useDatasetStore().summary?.datasetId
  const id = open ?? (await api.recentDatasets().catch(() => []))[0]?.datasetId
  return id ? { path: `/d/${id}/${page}`, query: query as Record<string, string> } : '/'
}

// The viewer's code (cornerstone included) is fetched and compiled while the user looks at a list,
// so selecting the first image does not wait for it.
router.afterEach((to) => {
  if (to.name !== 'studies' && to.name !== 'data') return
  const idle = globalThis.requestIdleCallback ?? ((run: () => void) => setTimeout(run, 200))
  idle(() => void ViewerView(), { timeout: 2000 })
})
