import { createRouter, createWebHashHistory } from 'vue-router'
import HomeView from './views/HomeView.vue'

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
      component: () => import('./views/ViewerView.vue'),
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
