import { createRouter, createWebHashHistory } from 'vue-router'
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
    { path: '/:pathMatch(.*)*', redirect: '/' }
  ]
})

// The viewer's code (cornerstone included) is fetched and compiled while the user looks at a list,
// so selecting the first image does not wait for it.
router.afterEach((to) => {
  if (to.name !== 'studies' && to.name !== 'data') return
  const idle = globalThis.requestIdleCallback ?? ((run: () => void) => setTimeout(run, 200))
  idle(() => void ViewerView(), { timeout: 2000 })
})
