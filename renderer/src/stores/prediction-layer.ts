// The viewer's prediction layer, kept apart from any page: which submission or stored prediction
// is loaded (with its malformed rows), the score threshold, the current image's boxes, and the
// studies list's review order. The back end holds the layer per dataset, so a reload or another
// tab asks it again (`predictionTable`) instead of forgetting what was loaded.
import { defineStore } from 'pinia'
import { computed, reactive, ref, shallowRef } from 'vue'
import type {
  ImagePredictions,
  OpacityBox,
  Prediction,
  PredictionsSummary,
  PredictionTable
} from '../../../common/contract'
import { api, describeError } from '../api'
import {
  defaultReviewFilters,
  orderRows,
  reviewRows,
  type ReviewFilters,
  type ReviewSort
} from '../predictions/review-rows'
import { predictionOverlay } from '../viewer/overlay'
import { useDatasetStore } from './dataset'

export const DEFAULT_THRESHOLD = 0.3
/** One empty list: a fresh [] per render would look like new boxes to the viewer and redraw it. */
const NO_BOXES: Prediction[] = []

export const usePredictionLayerStore = defineStore('prediction-layer', () => {
  const dataset = useDatasetStore()
  /** The dataset the layer and table below belong to. */
  const datasetId = ref<string | null>(null)
  const table = shallowRef<PredictionTable | null>(null)
  const layer = computed<PredictionsSummary | null>(() => table.value?.layer ?? null)
  const threshold = ref(DEFAULT_THRESHOLD)
  const visible = ref(true)
  const busy = ref(false)
  const error = ref<string | null>(null)
  /** The image the viewer shows, and its dataset; `image` holds its predictions once they arrive. */
  const imageId = ref<string | null>(null)
  const imageDatasetId = ref<string | null>(null)
  const image = shallowRef<ImagePredictions | null>(null)
  const sort = ref<ReviewSort>('file')
  const filters = reactive<ReviewFilters>(defaultReviewFilters())
  let syncSeq = 0
  let imageSeq = 0

  /** The layer the back end holds for this dataset (none: an empty table), and the current image's part. */
  async function sync(id: string): Promise<void> {
    const seq = ++syncSeq
    try {
      const next = await api.predictionTable({ datasetId: id })
      if (seq !== syncSeq) return
      adoptTable(id, next)
      error.value = null
    } catch (err) {
      if (seq === syncSeq) error.value = describeError(err)
      return
    }
    if (imageId.value && imageDatasetId.value === id) await loadImage(id, imageId.value)
  }

  function adoptTable(id: string, next: PredictionTable): void {
    if (id !== datasetId.value) image.value = null
    datasetId.value = id
    table.value = Object.freeze(next) as PredictionTable
    if (!next.layer && sort.value !== 'file') sort.value = 'file'
  }

  async function change(id: string, load: () => Promise<unknown>): Promise<boolean> {
    busy.value = true
    error.value = null
    try {
      await load()
      ++syncSeq
      adoptTable(id, await api.predictionTable({ datasetId: id }))
      if (imageId.value && imageDatasetId.value === id) await loadImage(id, imageId.value)
      return true
    } catch (err) {
      error.value = describeError(err)
      return false
    } finally {
      busy.value = false
    }
  }

  /** A stored prediction becomes the layer of its dataset (null: no layer). */
  function use(id: string, predictionId: string | null): Promise<boolean> {
    return change(id, () => api.usePredictions({ datasetId: id, predictionId }))
  }

  /** A Kaggle submission CSV becomes the layer; its malformed rows come back in `layer.rowErrors`. */
  function loadCsv(id: string, path: string): Promise<boolean> {
    return change(id, () => api.loadPredictions({ datasetId: id, path }))
  }

  /** The viewer moved to an image: its boxes, none score and study probabilities (once the layer is known). */
  async function showImage(id: string, next: string): Promise<void> {
    if (imageId.value !== next || imageDatasetId.value !== id) image.value = null
    imageId.value = next
    imageDatasetId.value = id
    // a sync loads the image itself once the layer is known
    if (datasetId.value !== id) await sync(id)
    else await loadImage(id, next)
  }

  async function loadImage(id: string, next: string): Promise<void> {
    const seq = ++imageSeq
    if (!layer.value || datasetId.value !== id) {
      image.value = null
      return
    }
    try {
      const answer = await api.predictions({ datasetId: id, imageId: next })
      if (seq === imageSeq && imageId.value === next && imageDatasetId.value === id) image.value = answer
    } catch (err) {
      if (seq === imageSeq) error.value = describeError(err)
    }
  }

  /** The current image's boxes, only once they belong to `id` (never the previous image's). */
  function boxesOf(id: string): Prediction[] {
    return (imageId.value === id ? image.value?.boxes : null) ?? NO_BOXES
  }

  /** Images the layer predicted: only those are reviewed (an image outside it has no misses). */
  const predictedIds = computed(() => new Set(table.value?.images.map((image) => image.imageId)))

  /**
   * The truth to review an image against: its boxes when the layer predicted it and the label files
   * have a row for it; null draws the layer's boxes plain (and no layer draws nothing at all).
   */
  function truthOf(id: string): OpacityBox[] | null {
    if (!layer.value || !predictedIds.value.has(id)) return null
    const row = dataset.rowsById.get(id)
    return row?.labelled ? row.boxes : null
  }

  /** The same overlay the viewer draws, for the legend's counts. */
  function overlayOf(id: string) {
    return predictionOverlay(boxesOf(id), threshold.value, truthOf(id))
  }

  const active = computed(() => Boolean(layer.value) && datasetId.value === dataset.summary?.datasetId)
  const reviews = computed(() =>
    active.value && table.value ? reviewRows(dataset.rows, table.value, threshold.value) : new Map()
  )
  /** The studies list (and the viewer's arrows): the dataset's filters, then the review's. */
  const rows = computed(() =>
    active.value ? orderRows(dataset.filteredRows, reviews.value, filters, sort.value) : dataset.filteredRows
  )

  function resetReview(): void {
    Object.assign(filters, defaultReviewFilters())
    sort.value = 'file'
  }

  return {
    datasetId,
    table,
    layer,
    threshold,
    visible,
    busy,
    error,
    imageId,
    image,
    sort,
    filters,
    active,
    reviews,
    rows,
    sync,
    use,
    loadCsv,
    showImage,
    boxesOf,
    truthOf,
    overlayOf,
    resetReview
  }
})
