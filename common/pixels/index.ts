// The pixel pipeline shared by the decode workers, the model input and the renderer.
export type { DecodedImage, GrayImage, StoredPixels, VoiLut, VoiWindow } from './types'
export { hasIntegralRescale, modalityValues, storedRange } from './modality'
export {
  chooseVoi,
  displayLut,
  fileWindow,
  linearVoi,
  renderDisplay,
  renderGray,
  robustWindow,
  voiLutValue,
  windowFromRange
} from './voi'
export type { DisplayOptions, VoiChoice } from './voi'
export {
  boxFromLetterbox,
  boxToLetterbox,
  letterbox,
  letterboxGeometry,
  resizeGray,
  resizeThroughLut
} from './resize'
export type { LetterboxGeometry, PixelBox } from './resize'
