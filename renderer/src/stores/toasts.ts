// Short messages in the corner of the page (a training ended, a run was deleted), gone after a while.
import { defineStore } from 'pinia'
import { ref } from 'vue'

export interface Toast {
  id: number
  tone: 'info' | 'ok' | 'error'
  text: string
  /** A route to open from the toast (e.g. the run's dashboard). */
  link?: { to: string; label: string }
}

const SHOWN_MS = { info: 6000, ok: 10_000, error: 20_000 }

export const useToastsStore = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([])
  let nextId = 1

  function show(toast: Omit<Toast, 'id'>): number {
    const id = nextId++
    toasts.value = [...toasts.value, { ...toast, id }].slice(-5)
    setTimeout(() => dismiss(id), SHOWN_MS[toast.tone])
    return id
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((toast) => toast.id !== id)
  }

  return { toasts, show, dismiss }
})
