// COCO *results* of a prediction: OUT/results.json (`[{image_id, category_id, bbox, score}]`, boxes
// as [x, y, width, height] in original DICOM pixels) and OUT/images.json, the COCO file its ids refer
// to (images with their Kaggle ids and sizes, the opacity category, no annotations). pycocotools'
// `COCO('images.json').loadRes('results.json')` reads them, and so does `importCoco` here.
import { join } from 'node:path'
import { writeJsonAtomic } from '../fs-atomic'
import { removeStaleTemps } from '../temp-files'

export interface PredictedImage {
  imageId: string
  studyId: string
  /** DICOM path relative to the dataset root. */
  path: string
  width: number
  height: number
  boxes: ReadonlyArray<{ x1: number; y1: number; x2: number; y2: number; confidence: number }>
}

export interface CocoResults {
  images: {
    info: Record<string, unknown>
    images: Array<{ id: number; file_name: string; width: number; height: number; study_id: string }>
    annotations: []
    categories: Array<{ id: number; name: string }>
  }
  results: Array<{
    image_id: number
    category_id: number
    bbox: [number, number, number, number]
    score: number
  }>
}

export const COCO_RESULTS_FILES = { images: 'images.json', results: 'results.json' } as const

export function cocoResults(images: readonly PredictedImage[], about: Record<string, unknown>): CocoResults {
  const results: CocoResults['results'] = []
  const entries = images.map((image, index) => {
    for (const box of image.boxes) {
      results.push({
        image_id: index + 1,
        category_id: 1,
        bbox: [box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1],
        score: box.confidence
      })
    }
    return {
      id: index + 1,
      file_name: image.path,
      width: image.width,
      height: image.height,
      study_id: image.studyId
    }
  })
  return {
    images: {
      info: {
        description: 'CXR Studio prediction: the images results.json refers to',
        contributor: 'CXR Studio',
        date_created: new Date().toISOString(),
        file_name: 'DICOM file, relative to dataset_root; its base name is the Kaggle image id',
        frame: 'original DICOM pixels',
        ...about
      },
      images: entries,
      annotations: [],
      categories: [{ id: 1, name: 'opacity' }]
    },
    results
  }
}

/** Writes OUT/images.json and OUT/results.json; returns the files written. */
export async function writeCocoResults(outDir: string, coco: CocoResults): Promise<string[]> {
  const files = [join(outDir, COCO_RESULTS_FILES.images), join(outDir, COCO_RESULTS_FILES.results)]
  await removeStaleTemps(outDir)
  await writeJsonAtomic(files[0], coco.images)
  await writeJsonAtomic(files[1], coco.results)
  return files
}
