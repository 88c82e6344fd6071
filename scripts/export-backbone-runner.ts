// Writes the backbone of a run's checkpoint (best, else last) as a TF.js Layers weights file, for
// scripts/bench-pretrain.mjs (bundled by it): `node export-backbone-runner.js RUN --out DIR`.
// Prints one JSON line.
import { initBackend } from '../main/ml/backend/ladder'
import { resolveCheckpoint } from '../main/ml/predict/run'
import { loadCheckpoint } from '../main/ml/runs/checkpoint'
import { writeBackboneLayersModel } from '../main/ml/model/pretrained'

const [run] = process.argv.slice(2)
const out = process.argv[process.argv.indexOf('--out') + 1]
await initBackend('cpu')
const checkpoint = await resolveCheckpoint(run)
const { detector } = await loadCheckpoint(checkpoint.dir)
const written = await writeBackboneLayersModel(detector.net, out, {
  from: run,
  checkpoint: checkpoint.name,
  backbone: detector.config.backbone,
  widthMultiplier: detector.config.widthMultiplier,
  depthMultiplier: detector.config.depthMultiplier
})
detector.dispose()
process.stdout.write(JSON.stringify({ ...written, checkpoint: checkpoint.name }) + '\n')
