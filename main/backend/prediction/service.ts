// Prediction as a back-end feature: predict, evaluate and submit run as jobs in the predict worker,
// in the same queue as training (one model at a time on the machine's cores).
import type { PredictJob, PredictJobResult } from '../../ml/predict/job'
import type { JobHandle, JobService } from '../jobs/job-service'
import { runIdOf } from '../training/run-folders'
import { ML_QUEUE } from '../training/service'

const TITLES: Record<PredictJob['kind'], string> = {
  predict: 'Predicting',
  submit: 'Writing a submission for',
  evaluate: 'Evaluating'
}

export function predictionJob(jobs: JobService, job: PredictJob): JobHandle<PredictJobResult> {
  const run = job.options.run
  return jobs.startWorker<PredictJobResult>(
    {
      kind: 'predict',
      title: `${TITLES[job.kind]} ${run}`,
      queue: ML_QUEUE,
      meta: { runDir: run, runId: runIdOf(run), action: job.kind }
    },
    'predict-worker',
    job
  )
}
