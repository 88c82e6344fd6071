// The quality report of an open dataset: label and header rules at once, and on request the
// pixel-identical check, which decodes in the background (a job) without delaying the viewer.
import type { QualityReport } from '../../common/contract'
import { QUALITY_RULES, QUALITY_RULE_NAMES } from '../../common/quality'
import { POLICY_DESCRIPTIONS } from '../core/dataset'
import { qualityReport } from '../core/quality'
import type { DatasetSession } from './datasets/session'
import type { JobService } from './jobs/job-service'
import type { ImageDecoder } from './viewer/pixels'

export async function datasetQuality(
  session: DatasetSession,
  options: { pixels: boolean; jobId?: string; jobs: JobService; decoder: () => Promise<ImageDecoder> }
): Promise<QualityReport> {
  const background = options.pixels ? await options.decoder() : null
  // a pixel check over the whole dataset must neither delay the viewer nor flush its cache
  const pool = background && {
    decode: (absPath: string, relPath?: string) =>
      background.decode(absPath, relPath, { priority: 'background' })
  }
  const report = await options.jobs.start(
    {
      kind: 'quality',
      title: options.pixels ? `Checking the pixels of ${session.name}` : `Checking ${session.name}`,
      jobId: options.jobId,
      meta: { datasetId: session.datasetId }
    },
    ({ onProgress, signal }) =>
      qualityReport(session.dataset, {
        pool,
        workspace: session.workspace,
        policy: session.policy,
        onProgress,
        signal
      })
  ).result
  session.recordQuality(report)
  return {
    policy: report.policy,
    issues: report.issues,
    counts: report.counts,
    bySeverity: report.bySeverity,
    rules: QUALITY_RULE_NAMES.map((rule) => ({ rule, ...QUALITY_RULES[rule] })),
    policies: Object.fromEntries(
      Object.entries(report.policies).map(([policy, effect]) => [
        policy,
        { ...effect, description: POLICY_DESCRIPTIONS[policy as keyof typeof POLICY_DESCRIPTIONS] }
      ])
    ) as QualityReport['policies'],
    pixelCheck: report.pixelCheck
  }
}
