import { Option, type Command } from 'commander'
import { FILTER_POLICIES, type FilterPolicy } from '../../../common/dataset'
import { openDataset, POLICY_DESCRIPTIONS } from '../../core/dataset'
import { DecodePool } from '../../core/dicom/pool'
import { UserError } from '../../core/errors'
import { QUALITY_RULE_NAMES, QUALITY_RULES, qualityReport, type QualityReport } from '../../core/quality'
import { printJson, workspaceOf } from '../context'
import { stderrProgress } from '../progress'

interface QualityOptions {
  json?: boolean
  policy: FilterPolicy
  pixels: boolean
  limit: string
}

export function registerQuality(program: Command): void {
  program
    .command('quality')
    .description(
      'data-quality report of a dataset folder: label/file mismatches, duplicates, boxes, and what the filter policy drops'
    )
    .argument('<dir>', 'dataset folder (Kaggle layout, or any folder of DICOMs)')
    .option('--json', 'print the report as one JSON document')
    .addOption(
      new Option(
        '--policy <policy>',
        `filter policy whose drops are listed (${FILTER_POLICIES.map((p) => `${p}: ${POLICY_DESCRIPTIONS[p]}`).join('; ')})`
      )
        .choices(FILTER_POLICIES)
        .default('keep-boxed')
    )
    .option('--no-pixels', 'skip decoding pixels (no pixel-identical check)')
    .option('--limit <n>', 'findings listed per rule without --json (0 = all)', '20')
    .action(async (dir: string, options: QualityOptions, command: Command) => {
      const limit = Number(options.limit)
      if (!Number.isInteger(limit) || limit < 0)
        throw new UserError(`--limit: expected a whole number >= 0, found '${options.limit}'`)
      const workspace = workspaceOf(command)
      const progress = stderrProgress()
      // decoded images are hashed once, so a small LRU is enough
      const pool = options.pixels ? new DecodePool({ cacheBytes: 64 * 1024 * 1024 }) : null
      let report: QualityReport
      try {
        const dataset = await openDataset(dir, { workspace, onProgress: progress })
        report = await qualityReport(dataset, {
          pool,
          workspace,
          policy: options.policy,
          onProgress: progress
        })
      } finally {
        progress.stop()
        await pool?.close()
      }
      if (options.json) printJson(report)
      else process.stdout.write(formatQuality(report, limit))
    })
}

/** The readable report of `cxr-studio quality`: findings grouped by rule, then the policies' effect. */
export function formatQuality(report: QualityReport, limit: number): string {
  const { error, warning, info } = report.bySeverity
  const out = [`Quality of ${report.root}: ${error} error(s), ${warning} warning(s), ${info} note(s)`]
  const pixels = report.pixelCheck
  out.push(
    pixels.ran
      ? `Pixel check: ${pixels.candidates} image(s) share a size with another; ${pixels.decoded} decoded, ${pixels.cached} from cache; ${pixels.identicalGroups} identical group(s)`
      : 'Pixel check: skipped (--no-pixels)'
  )
  for (const rule of QUALITY_RULE_NAMES) {
    const found = report.issues.filter((issue) => issue.rule === rule)
    if (found.length === 0) continue
    const { severity, title } = QUALITY_RULES[rule]
    out.push('', `${severity.toUpperCase()}  ${rule} (${found.length}): ${title}`)
    const shown = limit === 0 ? found : found.slice(0, limit)
    for (const issue of shown) out.push(`  ${issue.message}`)
    if (shown.length < found.length)
      out.push(`  ... and ${found.length - shown.length} more (--limit 0 or --json for all)`)
  }
  if (report.issues.length === 0) out.push('', 'No findings.')

  const active = report.policies[report.policy]
  out.push('', `Policy ${report.policy} (active): ${POLICY_DESCRIPTIONS[report.policy]}`)
  out.push(`  keeps ${active.kept} labelled train image(s), drops ${active.dropped.length}`)
  const dropped = limit === 0 ? active.dropped : active.dropped.slice(0, limit)
  for (const drop of dropped) out.push(`  drop ${drop.path ?? drop.imageId}: ${drop.reason}`)
  if (dropped.length < active.dropped.length)
    out.push(`  ... and ${active.dropped.length - dropped.length} more`)
  const others = FILTER_POLICIES.filter((p) => p !== report.policy).map(
    (p) => `${p} keeps ${report.policies[p].kept}, drops ${report.policies[p].dropped.length}`
  )
  out.push(`Other policies: ${others.join('; ')}`)
  return out.join('\n') + '\n'
}
