// YOLO export in the Ultralytics layout: images/{train,val}/<id>.png, labels/{train,val}/<id>.txt, dataset.yaml.
import { join } from 'node:path'
import type { Dataset } from '../../../common/dataset'
import { writeFileAtomic } from '../fs-atomic'
import type { ExportPlan, PlannedImage } from './plan'
import { writeYoloRecipes, type Recipes } from './recipes'
import { pixelsDescription, runExport, type ExportOptions, type ExportSummary } from './run'

/** `cls cx cy w h` per box, normalised to the image (6 decimals: 1/1000 px at 1000 px). */
export function yoloLabel(item: PlannedImage): string {
  const n = (v: number) => String(Math.round(v * 1e6) / 1e6)
  return item.boxes
    .map((b) =>
      [
        b.category,
        n((b.x + b.width / 2) / item.width),
        n((b.y + b.height / 2) / item.height),
        n(b.width / item.width),
        n(b.height / item.height)
      ].join(' ')
    )
    .map((line) => line + '\n')
    .join('')
}

/** dataset.yaml; strings are written as JSON, which YAML reads as double-quoted scalars. */
export function yoloDatasetYaml(plan: ExportPlan, outDir: string, datasetRoot: string): string {
  const { options } = plan
  return [
    `# CXR Studio YOLO export of ${JSON.stringify(datasetRoot)}`,
    `# policy ${options.policy}, validation fraction ${options.valFraction}, seed ${options.seed}, categories ${options.categories}`,
    `# ${plan.frame}`,
    `# pixels: ${pixelsDescription(plan)}`,
    `path: ${JSON.stringify(outDir)}`,
    'train: images/train',
    'val: images/val',
    ...(options.test ? ['test: images/test  # no labels: the test split is for prediction'] : []),
    'names:',
    ...plan.categories.map((name, i) => `  ${i}: ${name}`),
    ''
  ].join('\n')
}

/**
 * Exports the kept train images for Ultralytics YOLO. Images are required by the layout: without
 * `images`, 8-bit PNGs at the original size are written. Images without boxes get an empty label
 * file (background images).
 */
export async function exportYolo(dataset: Dataset, options: ExportOptions): Promise<ExportSummary> {
  const withImages = { ...options, images: options.images ?? { format: 'png8' as const } }
  let recipes: Recipes | null = null
  const summary = await runExport(dataset, withImages, async (plan, items, outDir) => {
    // A few writes in flight: each one fsyncs, and thousands in a row would crawl.
    for (let start = 0; start < items.length; start += 16) {
      await Promise.all(
        items
          .slice(start, start + 16)
          .filter((item) => item.subset !== 'test')
          .map((item) =>
            writeFileAtomic(join(outDir, 'labels', item.subset, `${item.image.imageId}.txt`), yoloLabel(item))
          )
      )
    }
    await writeFileAtomic(join(outDir, 'dataset.yaml'), yoloDatasetYaml(plan, outDir, dataset.root))
    if (options.recipes) recipes = await writeYoloRecipes(plan, outDir, dataset.root, options.recipes)
    return ['dataset.yaml', 'labels/train/', 'labels/val/', ...(recipes?.files ?? [])]
  })
  return recipes ? { ...summary, recipes: (recipes as Recipes).commands } : summary
}
