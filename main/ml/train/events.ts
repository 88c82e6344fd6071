// Payloads of the training job's events (sent with ctx.emit by the train worker): the CLI draws
// them as progress lines, the training dashboard as live charts. Declared once, in the contract.
export type {
  BestScore,
  EpochEvent,
  LogEvent,
  SamplesEvent,
  StepEvent,
  TrainResult,
  TrainStartEvent,
  TrainStatus
} from '../../../common/contract/training'
