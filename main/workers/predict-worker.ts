// The prediction job's process: `predict` (predictions JSON, optional submission), `submit` (Kaggle
// submission) and `evaluate` (competition metric against labels) all run inference here.
import type { PredictJob, PredictJobResult } from '../ml/predict/job'
import { runPredictJob } from '../ml/predict/job'
import { serveWorker } from './worker-runtime'

// Ctrl-C in a terminal reaches the whole process group; the parent turns it into a clean cancel.
process.on('SIGINT', () => undefined)

serveWorker<PredictJob, PredictJobResult>((job, ctx) =>
  runPredictJob(job, { signal: ctx.signal, onProgress: ctx.onProgress })
)
