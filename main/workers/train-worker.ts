// The training job's process (a Node child process under the CLI and web host, an Electron
// utilityProcess in the app). Events: `start`, `step` after every optimizer step, `epoch` after
// every epoch, `samples` after every validation and `log` for every train.log line (see
// main/ml/train/events.ts). Cancel stops after the current step and writes checkpoints/last, so the
// run can be resumed.
import type { TrainArgs } from '../ml/train/config'
import type { TrainResult } from '../ml/train/events'
import { train } from '../ml/train/trainer'
import { serveWorker } from './worker-runtime'

// Ctrl-C in a terminal reaches the whole process group; the parent turns it into a clean cancel.
process.on('SIGINT', () => undefined)

serveWorker<TrainArgs, TrainResult>((args, ctx) =>
  train(args, { signal: ctx.signal, onProgress: ctx.onProgress, emit: ctx.emit })
)
