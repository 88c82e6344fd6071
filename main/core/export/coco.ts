// COCO export: OUT/train.json and OUT/val.json (plus OUT/images/{train,val}/*.png on request).
import { join } from 'node:path'
import type { Dataset } from '../../../common/dataset'
import type { StudyClass } from '../../../common/domain'
import { writeJsonAtomic } from '../fs-atomic'
import { exportedImagePath } from './images'
import { writeCocoRecipes, type Recipes } from './recipes'
import { pixelsDescription, runExport, type ExportOptions, type ExportSummary } from './run'
import type { ExportPlan, ExportSubset, PlannedImage } from './plan'

export interface CocoImage {
  id: number
  /** `images/<subset>/<imageId>.png` when images are exported, else the DICOM path in the dataset. */
  file_name: string
  width: number
  height: number
  original_width: number
  original_height: number
  study_id: string
  study_class: StudyClass | null
}

export interface CocoAnnotation {
  id: number
  image_id: number
  category_id: number
  /** [x, y, width, height] in pixels of the image this file describes. */
  bbox: [number, number, number, number]
  area: number
  iscrowd: 0
}

export interface CocoCategory {
  id: number
  name: string
}

export interface CocoDocument {
  info: Record<string, unknown>
  licenses: []
  images: CocoImage[]
  annotations: CocoAnnotation[]
  categories: CocoCategory[]
}

/** The COCO document of one subset. Category ids start at 1 (0 is background in most trainers). */
export function cocoDocument(
  plan: ExportPlan,
  subset: ExportSubset,
  items: readonly PlannedImage[],
  datasetRoot: string
): CocoDocument {
  const images: CocoImage[] = []
  const annotations: CocoAnnotation[] = []
  items.forEach((item, index) => {
    const id = index + 1
    images.push({
      id,
      file_name: plan.options.images ? exportedImagePath(item) : item.path,
      width: item.width,
      height: item.height,
      original_width: item.originalWidth,
      original_height: item.originalHeight,
      study_id: item.image.studyId,
      study_class: item.studyClass
    })
    for (const box of item.boxes) {
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: box.category + 1,
        bbox: [box.x, box.y, box.width, box.height],
        area: box.width * box.height,
        iscrowd: 0
      })
    }
  })
  const { options } = plan
  return {
    info: {
      description: `CXR Studio export (${subset}) of ${datasetRoot}`,
      contributor: 'CXR Studio',
      version: '1',
      date_created: new Date().toISOString(),
      subset,
      dataset_root: datasetRoot,
      policy: options.policy,
      val_fraction: options.valFraction,
      seed: options.seed,
      categories: options.categories,
      images: options.images
        ? `${options.images.format}, ${options.images.size ? `longest side ${options.images.size} px` : 'original size'}`
        : 'not exported',
      pixels: pixelsDescription(plan),
      file_name: options.images
        ? 'exported PNG, relative to this file'
        : 'DICOM file, relative to dataset_root',
      frame: plan.frame,
      study_classes:
        'study_class on each image is its study label (negative, typical, indeterminate, atypical)'
    },
    licenses: [],
    images,
    annotations,
    categories: plan.categories.map((name, i) => ({ id: i + 1, name }))
  }
}

/**
 * Exports the kept train images (filter policy) as COCO: OUT/train.json and OUT/val.json, split by
 * study (seeded, stratified by study class). With `images`, also writes the PNGs and describes boxes
 * in their frame.
 */
export async function exportCoco(dataset: Dataset, options: ExportOptions): Promise<ExportSummary> {
  let recipes: Recipes | null = null
  const summary = await runExport(dataset, options, async (plan, items, outDir) => {
    const files: string[] = []
    // test.json: the test images with no annotations, the file COCO results of a test prediction refer to
    for (const subset of plan.options.test ? (['train', 'val', 'test'] as const) : (['train', 'val'] as const)) {
      const file = `${subset}.json`
      await writeJsonAtomic(
        join(outDir, file),
        cocoDocument(
          plan,
          subset,
          items.filter((item) => item.subset === subset),
          dataset.root
        )
      )
      files.push(file)
    }
    if (options.recipes) {
      recipes = await writeCocoRecipes(plan, outDir, dataset.root, options.recipes)
      files.push(...recipes.files)
    }
    return files
  })
  return recipes ? { ...summary, recipes: (recipes as Recipes).commands } : summary
}
