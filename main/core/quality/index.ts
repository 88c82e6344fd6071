// The data-quality report: every rule's findings, counts, and what each filter policy drops.
import { FILTER_POLICIES, type Dataset, type FilterPolicy } from '../../../common/dataset'
import type { ProgressListener } from '../../../common/domain'
import { DEFAULT_POLICY, explainPolicy } from '../dataset/policy'
import { findPixelDuplicates, type PixelDecoder } from './pixel-hashes'
import {
  issue,
  labelRules,
  QUALITY_RULE_NAMES,
  QUALITY_RULES,
  type QualityIssue,
  type QualityRule,
  type Severity
} from './rules'

export {
  QUALITY_RULES,
  QUALITY_RULE_NAMES,
  type QualityIssue,
  type QualityRule,
  type Severity
} from './rules'
export { findPixelDuplicates, type PixelDecoder, type PixelHashResult } from './pixel-hashes'

export interface QualityReportOptions {
  /** Decoder for the pixel-identical rule (a DecodePool); without one that rule is skipped and the report says so. */
  pool?: PixelDecoder | null
  /** Workspace for the pixel-hash cache. */
  workspace?: string
  /** The active policy, whose drops the CLI and UI show first. */
  policy?: FilterPolicy
  onProgress?: ProgressListener
  signal?: AbortSignal
}

export interface PolicyEffect {
  kept: number
  dropped: Array<{ imageId: string; studyId: string; path: string | null; reason: string }>
}

export interface QualityReport {
  root: string
  policy: FilterPolicy
  /** Ordered by rule (as in QUALITY_RULES), then by dataset order. */
  issues: QualityIssue[]
  /** Issues per rule, every rule listed (0 when clean). */
  counts: Record<QualityRule, number>
  bySeverity: Record<Severity, number>
  /** For every policy: how many labelled train images it keeps, and which it drops and why. */
  policies: Record<FilterPolicy, PolicyEffect>
  pixelCheck: {
    /** False when no decoder was given: the pixel-identical rule did not run. */
    ran: boolean
    /** Images sharing rows x columns with another (the only ones that can be identical). */
    candidates: number
    decoded: number
    cached: number
    identicalGroups: number
  }
}

export async function qualityReport(
  dataset: Dataset,
  options: QualityReportOptions = {}
): Promise<QualityReport> {
  const issues = labelRules(dataset)
  const pixelCheck: QualityReport['pixelCheck'] = {
    ran: false,
    candidates: 0,
    decoded: 0,
    cached: 0,
    identicalGroups: 0
  }

  if (options.pool) {
    const result = await findPixelDuplicates(dataset, options.pool, {
      workspace: options.workspace,
      onProgress: options.onProgress,
      signal: options.signal
    })
    Object.assign(pixelCheck, {
      ran: true,
      candidates: result.candidates,
      decoded: result.decoded,
      cached: result.cached,
      identicalGroups: result.groups.length
    })
    for (const { image, reason } of result.failures) {
      issues.push(
        issue('unreadable-file', `${image.record!.path}: pixels cannot be decoded: ${reason}`, {
          imageId: image.imageId,
          studyId: image.studyId,
          path: image.record!.path
        })
      )
    }
    for (const group of result.groups) {
      const studies = new Set(group.map((image) => image.studyId))
      const splits = new Set(group.map((image) => image.split))
      const scope =
        splits.size > 1
          ? ' (train and test: leakage)'
          : studies.size > 1
            ? ' (different studies)'
            : ' (same study)'
      for (const image of group) {
        const others = group.filter((other) => other !== image).map((other) => other.record!.path)
        issues.push(
          issue('pixel-identical', `${image.record!.path}: same pixels as ${others.join(', ')}${scope}`, {
            imageId: image.imageId,
            studyId: image.studyId,
            path: image.record!.path
          })
        )
      }
    }
  }

  const rank = new Map(QUALITY_RULE_NAMES.map((rule, i) => [rule, i]))
  issues.sort((a, b) => rank.get(a.rule)! - rank.get(b.rule)!) // stable: dataset order within a rule

  const counts = Object.fromEntries(QUALITY_RULE_NAMES.map((rule) => [rule, 0])) as Record<
    QualityRule,
    number
  >
  const bySeverity: Record<Severity, number> = { error: 0, warning: 0, info: 0 }
  for (const found of issues) {
    counts[found.rule]++
    bySeverity[QUALITY_RULES[found.rule].severity]++
  }

  const policies = Object.fromEntries(
    FILTER_POLICIES.map((policy) => {
      const outcome = explainPolicy(dataset, policy)
      const dropped = outcome.dropped.map(({ image, reason }) => ({
        imageId: image.imageId,
        studyId: image.studyId,
        path: image.record?.path ?? null,
        reason
      }))
      return [policy, { kept: outcome.kept.length, dropped }]
    })
  ) as Record<FilterPolicy, PolicyEffect>

  return {
    root: dataset.root,
    policy: options.policy ?? DEFAULT_POLICY,
    issues,
    counts,
    bySeverity,
    policies,
    pixelCheck
  }
}

/** The rules that found something on each image: what the studies list flags and counts. */
export interface ImageFindings {
  /** Findings naming a file, by its path. */
  byPath: Map<string, QualityRule[]>
  /** Findings naming only an imageId: a CSV row without a readable file. */
  byImageId: Map<string, QualityRule[]>
}

/**
 * Files and CSV rows flagged by `issues`, each rule once, in QUALITY_RULES order. A finding about a
 * whole study names no image and flags none, so the images the studies list flags are exactly
 * those the quality list names.
 */
export function imageFindings(issues: readonly QualityIssue[]): ImageFindings {
  const rank = new Map(QUALITY_RULE_NAMES.map((rule, i) => [rule, i]))
  const findings: ImageFindings = { byPath: new Map(), byImageId: new Map() }
  for (const found of issues) {
    const [map, key] =
      found.path !== undefined ? [findings.byPath, found.path] : [findings.byImageId, found.imageId]
    if (key === undefined) continue
    const rules = map.get(key) ?? []
    if (rules.includes(found.rule)) continue
    rules.push(found.rule)
    rules.sort((a, b) => rank.get(a)! - rank.get(b)!)
    map.set(key, rules)
  }
  return findings
}
