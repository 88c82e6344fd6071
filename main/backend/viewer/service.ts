// What the viewer asks for: stored pixels (the selected image first, neighbours as prefetch),
// thumbnails from the bounded disk cache, the tag panel, and the prediction layer of a submission.
import type {
  BinaryResult,
  DecodedImageMeta,
  DicomTag,
  ImagePredictions,
  ImagePreviewMeta,
  PredictionsSummary,
  PredictionTable,
  ThumbnailMeta
} from '../../../common/contract'
import { UserError } from '../../core/errors'
import type { DatasetService } from '../datasets/service'
import { validateFileUnder } from '../folders'
import { cachedThumbnail, pixelPayload, previewPayload, type ImageDecoder } from './pixels'
import { imagePredictions, predictionTable, readSubmissionLayer } from './predictions'
import { ThumbnailCache } from './thumbnail-cache'

/** A decode failure as the user's error, naming the file (a superseded request already does). */
function decodeError(err: Error, relPath: string): Error {
  if (err instanceof UserError) return err
  return new UserError(err.name === 'DecodeSupersededError' ? err.message : `${relPath}: ${err.message}`)
}

export interface ViewerServiceOptions {
  workspace: string
  datasets: DatasetService
  decoder: () => Promise<ImageDecoder>
  /** Bound of the workspace's on-disk thumbnail cache; default 256 MB. */
  thumbnailCacheBytes?: number
}

export class ViewerService {
  private readonly thumbnails: ThumbnailCache

  constructor(private readonly options: ViewerServiceOptions) {
    this.thumbnails = new ThumbnailCache(options.workspace, options.thumbnailCacheBytes)
  }

  async pixels(
    datasetId: string,
    imageId: string,
    prefetch = false
  ): Promise<BinaryResult<DecodedImageMeta>> {
    const { absPath, image } = (await this.options.datasets.session(datasetId)).file(imageId)
    const pool = await this.options.decoder()
    const started = performance.now()
    const decoded = await pool
      // the page shows one image: when it selects the next, this decode is dropped (DecodePool.preview)
      .decodeWithStats(absPath, image.record!.path, {
        priority: prefetch ? 'prefetch' : 'view',
        abandonable: !prefetch
      })
      .catch((err: Error) => {
        throw decodeError(err, image.record!.path)
      })
    return pixelPayload(imageId, decoded.image, decoded.stats, performance.now() - started)
  }

  /** A reduced image for the viewer to show at once, or null when imagePixels is as quick. */
  async preview(datasetId: string, imageId: string): Promise<BinaryResult<ImagePreviewMeta>> {
    const { absPath, image } = (await this.options.datasets.session(datasetId)).file(imageId)
    const pool = await this.options.decoder()
    const started = performance.now()
    const preview = await pool.preview(absPath, image.record!.path).catch((err: Error) => {
      throw decodeError(err, image.record!.path)
    })
    return previewPayload(imageId, preview, performance.now() - started)
  }

  async thumbnail(datasetId: string, imageId: string, size: number): Promise<BinaryResult<ThumbnailMeta>> {
    const session = await this.options.datasets.session(datasetId)
    const { absPath, image } = session.file(imageId)
    return cachedThumbnail(
      await this.options.decoder(),
      this.thumbnails,
      session.cacheDir,
      { absPath, relPath: image.record!.path, mtimeMs: image.record!.mtimeMs },
      size
    )
  }

  async tags(datasetId: string, imageId: string): Promise<DicomTag[]> {
    const { image, absPath } = (await this.options.datasets.session(datasetId)).file(imageId)
    const { readDicomTags } = await import('./dicom-tags')
    return readDicomTags(absPath, image.record!.path)
  }

  /**
   * A submission CSV as the layer; its malformed rows are reported, the others loaded. Read only from
   * the workspace or an opened dataset's folder, in the browser and in the app alike: a path typed
   * or sent by any page holding the token never reaches the rest of the machine.
   */
  async loadPredictions(datasetId: string, path: string): Promise<PredictionsSummary> {
    const session = await this.options.datasets.session(datasetId)
    const { workspace } = this.options
    const datasetRoots = [
      session.dataset.root,
      ...(await this.options.datasets.recent.list()).map((recent) => recent.root)
    ]
    const rule =
      `prediction files are read only from the workspace (${workspace}) or an opened dataset's folder ` +
      `(${session.dataset.root}); copy the file into one of them`
    const file = await validateFileUnder(path, [workspace, ...new Set(datasetRoots)], rule)
    session.layer = await readSubmissionLayer(file)
    return session.layer.summary
  }

  async predictions(datasetId: string, imageId: string): Promise<ImagePredictions> {
    const session = await this.options.datasets.session(datasetId)
    const image = session.dataset.images.find((i) => i.imageId === imageId)
    return imagePredictions(session.layer, { imageId, studyId: image?.studyId ?? '' })
  }

  async predictionTable(datasetId: string): Promise<PredictionTable> {
    return predictionTable((await this.options.datasets.session(datasetId)).layer)
  }
}
