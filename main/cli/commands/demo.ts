import type { Command } from 'commander'
import { resolve } from 'node:path'
import { STUDY_CLASSES } from '../../../common/domain'
import { DEMO_DEFAULTS, HARD_DEMO_DEFAULTS, generateDemo, type DemoSummary } from '../../core/demo'
import { printJson } from '../context'
import { nonNegativeInteger } from '../parsers'
import { stderrProgress } from '../progress'

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'write a small synthetic dataset in the Kaggle SIIM-FISABIO-RSNA layout (DICOMs, label CSVs, sample submission, test truth)'
    )
    .argument('<out>', 'folder to create (or a previous demo folder to overwrite)')
    .option(
      '--hard',
      'the benchmark variant: faint ground-glass opacities, noise, varied patients and exposures, and classes ' +
        'told apart by where and how many opacities there are, overlapping as in the real data (see README.txt)'
    )
    .option(
      '--studies <n>',
      `train studies (4-2000, default ${DEMO_DEFAULTS.studies}; --hard ${HARD_DEMO_DEFAULTS.studies})`,
      nonNegativeInteger
    )
    .option(
      '--test-studies <n>',
      `test studies (1-1000, default ${DEMO_DEFAULTS.testStudies}; --hard ${HARD_DEMO_DEFAULTS.testStudies})`,
      nonNegativeInteger
    )
    .option(
      '--seed <s>',
      `random seed; the same seed gives the same bytes (default ${DEMO_DEFAULTS.seed})`,
      nonNegativeInteger
    )
    .option('--json', 'print the summary as JSON')
    .action(
      async (
        out: string,
        opts: { hard?: boolean; studies?: number; testStudies?: number; seed?: number; json?: boolean }
      ) => {
        const progress = stderrProgress()
        let summary: DemoSummary
        try {
          summary = await generateDemo(resolve(out), {
            hard: opts.hard,
            studies: opts.studies,
            testStudies: opts.testStudies,
            seed: opts.seed,
            onProgress: progress
          })
        } finally {
          progress.stop()
        }
        if (opts.json) printJson(summary)
        else process.stdout.write(describe(summary))
      }
    )
}

function describe(summary: DemoSummary): string {
  const { train, test } = summary.splits
  const perClass = (counts: Record<string, number>) =>
    STUDY_CLASSES.map((c) => `${c} ${counts[c]}`).join(', ')
  const q = summary.quirks
  const lines = [
    `Wrote a synthetic ${summary.hard ? 'hard ' : ''}demo dataset to ${summary.outDir} (seed ${summary.seed})`,
    `  train: ${train.studies} studies (${perClass(train.studiesPerClass)}), ${train.images} images, ${train.boxes} boxes`,
    `  test:  ${test.studies} studies (${perClass(test.studiesPerClass)}), ${test.images} images; truth in test_study_level.csv and test_image_level.csv`,
    `  transfer syntaxes: ${Object.entries(summary.transferSyntaxes)
      .map(([syntax, n]) => `${syntax} ${n}`)
      .join(', ')}`,
    `  pixels: ${summary.pixelFormats.bits16} 16-bit, ${summary.pixelFormats.bits8} 8-bit, ${summary.pixelFormats.monochrome1} MONOCHROME1, ` +
      `${summary.pixelFormats.withWindow} with a window, ${summary.pixelFormats.withRescale} with rescale`,
    ...q.duplicates.map(
      (d) =>
        `  quirk: ${d.split} image ${d.duplicateImageId} is a pixel-identical, unboxed copy of ${d.boxedImageId} (study ${d.studyId})`
    ),
    ...q.positiveWithoutBoxes.map(
      (p) =>
        `  quirk: ${p.split} ${p.studyClass} study ${p.studyId} has an image without boxes (${p.imageId})`
    ),
    ...q.multiImageStudies
      .filter((m) => m.imageIds.length > 2)
      .map((m) => `  quirk: ${m.split} study ${m.studyId} has ${m.imageIds.length} images`),
    `  ${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB; see README.txt in the folder`
  ]
  return lines.join('\n') + '\n'
}
