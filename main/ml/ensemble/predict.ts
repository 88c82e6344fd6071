// Predicting with an ensemble: each member through the one top-level prediction function (so trained,
// imported and nested ensemble members all work), one after the other, then fused (fuse.ts) into
// an ordinary PredictionSet that predictions.json, evaluation and submissions take unchanged.
import type { Progress } from '../../../common/domain'
import type { PredictContext, PredictOptions, PredictionSet } from '../predict/run'
import { assertNoCycle, memberFolder, type EnsembleConfigFile } from './config'
import { fuseMembers } from './fuse'

export type MemberPredictor = (options: PredictOptions, ctx: PredictContext) => Promise<PredictionSet>

/** What an ensemble's PredictionSet says about its members (also written to predictions.json). */
export interface EnsembleDescription {
  members: Array<{
    name: string
    run: string
    weight: number
    checkpoint: PredictionSet['checkpoint']
    runtime: string
  }>
  fusion: EnsembleConfigFile['fusion']
}

export async function predictEnsemble(
  dir: string,
  config: EnsembleConfigFile,
  options: PredictOptions,
  ctx: PredictContext,
  predictMember: MemberPredictor
): Promise<PredictionSet & { ensemble: EnsembleDescription }> {
  await assertNoCycle(dir)
  const sets: PredictionSet[] = []
  const n = config.members.length
  for (const [i, member] of config.members.entries()) {
    ctx.signal?.throwIfAborted()
    const run = await memberFolder(dir, member)
    const label = `member ${i + 1} of ${n} (${member.name})`
    const onProgress = ctx.onProgress
      ? (p: Progress) => ctx.onProgress!({ ...p, stage: `${label}: ${p.stage}` })
      : undefined
    sets.push(
      await predictMember(
        { ...options, run, checkpoint: member.checkpoint ?? options.checkpoint },
        { ...ctx, onProgress }
      )
    )
  }
  const first = sets[0]
  const settings = first.settings
  const fused = fuseMembers(sets, {
    weights: config.members.map((m) => m.weight),
    iouThreshold: config.fusion.iouThreshold,
    skipBoxThreshold: config.fusion.skipBoxThreshold,
    maxDetections: settings.maxDetections
  })
  const names = new Set(sets.map((s) => s.checkpoint.name))
  return {
    ...first,
    run: dir,
    // the ensemble has no checkpoint of its own: its folder, and the newest member's epoch
    checkpoint: {
      dir,
      name: names.size === 1 ? first.checkpoint.name : 'best',
      epoch: Math.max(...sets.map((s) => s.checkpoint.epoch)),
      globalStep: Math.max(...sets.map((s) => s.checkpoint.globalStep))
    },
    images: fused.images,
    studies: fused.studies,
    priors: fused.priors,
    settings,
    errors: uniqueErrors(sets.flatMap((s) => s.errors)),
    ensemble: {
      members: config.members.map((m, i) => ({
        name: m.name,
        run: sets[i].run,
        weight: m.weight,
        checkpoint: sets[i].checkpoint,
        runtime: sets[i].runtime.name
      })),
      fusion: config.fusion
    }
  }
}

function uniqueErrors(errors: PredictionSet['errors']): PredictionSet['errors'] {
  const seen = new Set<string>()
  return errors.filter((e) => {
    const key = `${e.path}\n${e.reason}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
