// Wire schemas of ensembles: the Runs view's "Ensemble…" request (main/ml/ensemble makes the run).
import { z } from 'zod'
import { RunId, RunName } from './training'

export const EnsembleMemberRequest = z.strictObject({
  runId: RunId,
  /** How much the member's boxes count in the fusion (and its none and study probabilities in the means). */
  weight: z.number().positive().max(1000),
  /** Default: best, else last (trained runs only). */
  checkpoint: z.enum(['best', 'last']).optional()
})

export const CreateEnsembleRequest = z.strictObject({
  /** The new run folder's name under the workspace's runs/ folder. */
  name: RunName,
  members: z.array(EnsembleMemberRequest).min(2, 'an ensemble needs at least two runs').max(16),
  /** Same-class boxes of different members overlapping more than this are fused (default 0.55). */
  iouThreshold: z.number().gt(0).max(1).optional(),
  /** Member boxes below this confidence are ignored (default 0). */
  skipBoxThreshold: z.number().min(0).lt(1).optional()
})

export type EnsembleMemberRequest = z.infer<typeof EnsembleMemberRequest>
export type CreateEnsembleRequest = z.infer<typeof CreateEnsembleRequest>
