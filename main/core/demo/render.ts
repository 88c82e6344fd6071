// Pixels of one planned demo image: the same seed and plan always give the same stored values.
import { renderHardStoredPixels } from './hard-pixels'
import { renderChest } from './phantom'
import type { PlannedImage } from './plan'
import { toStoredPixels, type StoredImage } from './pixels'
import { Random } from './random'

/**
 * Anatomy and detector noise come from streams keyed by the image id, independent of the opacities,
 * so rendering a planned image without its opacities changes exactly the pixels inside its boxes.
 */
export function renderStoredPixels(seed: number, image: PlannedImage): StoredImage {
  if (image.hard) return renderHardStoredPixels(seed, image)
  const random = new Random(seed, `pixels ${image.imageId}`)
  const density = renderChest(
    image.geometry,
    image.opacities,
    image.rows,
    image.columns,
    random.fork('anatomy')
  )
  return toStoredPixels(density, image.format, random.fork('detector'))
}
