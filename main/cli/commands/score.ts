import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Option, type Command } from 'commander'
import { SCORED_CLASSES } from '../../../common/domain'
import { errorMessage, FileReadError, UserError } from '../../core/errors'
import { IMAGE_CSV_HEADER, STUDY_CSV_HEADER } from '../../core/labels'
import { score, type ScoreReport } from '../../core/metric/score'
import { truthFromCsv } from '../../core/metric/truth'
import { parseSubmissionCsv } from '../../core/submission/submission-csv'
import { printJson } from '../context'

interface ScoreOptions {
  submission: string
  studyCsv?: string
  imageCsv?: string
  truth: 'train' | 'test'
  json?: boolean
}

/** Problems printed before the score; the rest are counted. */
const MAX_LISTED = 20

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score a submission with the competition metric (VOC 2010 AP@0.5 over the six classes)')
    .argument('[dir]', 'Kaggle folder whose label CSVs are the truth')
    .requiredOption('--submission <file>', 'submission CSV (id,PredictionString)')
    .option('--study-csv <file>', 'study-level truth in train_study_level.csv format (instead of DIR)')
    .option('--image-csv <file>', 'image-level truth in train_image_level.csv format (instead of DIR)')
    .addOption(
      new Option('--truth <split>', 'with DIR: score against its train_*_level.csv or test_*_level.csv')
        .choices(['train', 'test'])
        .default('train')
    )
    .option('--json', 'print {ap, studyMap, imageMap, final} as JSON')
    .action(async (dir: string | undefined, options: ScoreOptions) => {
      const files = truthFiles(dir, options)
      const truthText = {
        study: files.study ? await readText(files.study) : studyHeaderOnly,
        image: files.image ? await readText(files.image) : imageHeaderOnly
      }
      const { truth, warnings: truthWarnings } = truthFromCsv(truthText.study, truthText.image, {
        study: files.study ?? 'study truth',
        image: files.image ?? 'image truth'
      })
      if (truth.size === 0)
        throw new UserError(
          `no ground truth read from ${[files.study, files.image].filter(Boolean).join(' and ')}`
        )
      const parsed = parseSubmissionCsv(await readText(options.submission), undefined, options.submission)
      const report = score(truth, parsed.rows)

      const problems = [
        ...truthWarnings,
        ...parsed.issues.map(
          (issue) => `${options.submission}${issue.line ? `:${issue.line}` : ''}: ${issue.message}`
        ),
        ...report.warnings.map((w) => `${options.submission}: ${w}`)
      ]
      for (const line of problems.slice(0, MAX_LISTED)) process.stderr.write(`warning: ${line}\n`)
      if (problems.length > MAX_LISTED)
        process.stderr.write(`warning: … and ${problems.length - MAX_LISTED} more\n`)

      if (options.json)
        printJson({
          ap: report.ap,
          studyMap: report.studyMap,
          imageMap: report.imageMap,
          final: report.final
        })
      else process.stdout.write(formatScore(report, options.submission))
    })
}

// Stand-ins for a truth file that was not given: the header alone, so that side has no ground truth.
const studyHeaderOnly = STUDY_CSV_HEADER.join(',') + '\n'
const imageHeaderOnly = IMAGE_CSV_HEADER.join(',') + '\n'

function truthFiles(
  dir: string | undefined,
  options: ScoreOptions
): { study: string | null; image: string | null } {
  if (dir && (options.studyCsv || options.imageCsv))
    throw new UserError('give either DIR or --study-csv/--image-csv, not both')
  if (dir)
    return {
      study: join(dir, `${options.truth}_study_level.csv`),
      image: join(dir, `${options.truth}_image_level.csv`)
    }
  if (!options.studyCsv && !options.imageCsv)
    throw new UserError('give DIR (a Kaggle folder) or --study-csv and/or --image-csv')
  return { study: options.studyCsv ?? null, image: options.imageCsv ?? null }
}

/** A text file, or a FileReadError naming it. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new FileReadError(path, code === 'ENOENT' ? 'no such file' : errorMessage(err))
  }
}

const ap = (value: number | null) => (value === null ? '     -' : value.toFixed(4))

/** The readable report of `cxr-studio score`. */
export function formatScore(report: ScoreReport, submission: string): string {
  const { counts } = report
  const out = [
    `Score of ${basename(submission)}: ${counts.scoredRows} row(s) scored, ${counts.missingIds.length} truth id(s) missing, ${counts.unknownIds.length} unknown id(s)`,
    ''
  ]
  out.push(
    `  ${'class'.padEnd(15)}${'AP'.padStart(7)}${'truth'.padStart(8)}${'preds'.padStart(8)}${'TP'.padStart(8)}${'FP'.padStart(8)}`
  )
  for (const cls of SCORED_CLASSES) {
    const c = counts.classes[cls]
    out.push(
      `  ${cls.padEnd(15)}${ap(report.ap[cls]).padStart(7)}${String(c.groundTruth).padStart(8)}${String(c.detections).padStart(8)}${String(c.truePositives).padStart(8)}${String(c.falsePositives).padStart(8)}`
    )
  }
  out.push(
    '',
    `  ${'study mAP'.padEnd(15)}${ap(report.studyMap).padStart(7)}`,
    `  ${'image mAP'.padEnd(15)}${ap(report.imageMap).padStart(7)}`
  )
  out.push(
    `  ${'final'.padEnd(15)}${ap(report.final).padStart(7)}   mean of the six APs = (4 x study mAP + AP opacity + AP none) / 6`
  )
  if (SCORED_CLASSES.some((cls) => report.ap[cls] === null))
    out.push('  (- : no ground truth for the class; left out of the means)')
  return out.join('\n') + '\n'
}
