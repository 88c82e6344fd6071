import type { Command } from 'commander'
import { resolve } from 'node:path'
import { readPredictionsDocument } from '../../backend/prediction/document'
import { COCO_RESULTS_FILES, cocoResults, writeCocoResults } from '../../core/export/coco-results'
import { assertOutputAllowed, datasetSource, inputSource } from '../../core/write-target'
import { printJson } from '../context'

export function registerCocoResults(program: Command): void {
  program
    .command('coco-results')
    .description(
      'write a prediction (predictions JSON of `predict --out` or of the app) as COCO results: OUT/results.json ' +
        '([{image_id, category_id, bbox, score}], original DICOM pixels) and OUT/images.json, the COCO file its ids refer to'
    )
    .argument('<predictions>', 'predictions JSON')
    .requiredOption('--out <dir>', 'folder to write (not inside the dataset folder)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, options: { out: string; json?: boolean }) => {
      const doc = await readPredictionsDocument(resolve(file))
      const out = resolve(options.out)
      await assertOutputAllowed(out, [datasetSource(doc.dataset), inputSource(resolve(file))], 'folder')
      const coco = cocoResults(doc.images, {
        dataset_root: doc.dataset,
        run: doc.run,
        checkpoint: `${doc.checkpoint.name} (epoch ${doc.checkpoint.epoch})`
      })
      const files = await writeCocoResults(out, coco)
      const summary = { out, files, images: coco.images.images.length, boxes: coco.results.length }
      if (options.json) return printJson(summary)
      process.stdout.write(
        `${summary.boxes} box(es) on ${summary.images} image(s) written to ${out}\n` +
          `  ${COCO_RESULTS_FILES.results} (results) and ${COCO_RESULTS_FILES.images} (the images they refer to)\n` +
          `  pycocotools: COCO('${COCO_RESULTS_FILES.images}').loadRes('${COCO_RESULTS_FILES.results}')\n`
      )
    })
}
