// The prediction job's process: `predict` (predictions JSON, optional submission), `submit` (Kaggle
// submission) and `evaluate` (competition metric against labels) all run inference here; so does
// the backend probe of the Train view (it loads tfjs, which the back end's own process never does).
import type { BackendProbe } from '../../common/contract'
import { probeBackends } from '../ml/backend/probe'
import type { PredictJob, PredictJobResult } from '../ml/predict/job'
import { runPredictJob } from '../ml/predict/job'
import { serveWorker } from './worker-runtime'

// Ctrl-C in a terminal reaches the whole process group; the parent turns it into a clean cancel.
process.on('SIGINT', () => undefined)

type PredictWorkerJob = PredictJob | { kind: 'probe-backend' }

serveWorker<PredictWorkerJob, PredictJobResult | BackendProbe>((job, ctx) =>
  job.kind === 'probe-backend'
    ? probeBackends()
    : runPredictJob(job, { signal: ctx.signal, onProgress: ctx.onProgress })
)
