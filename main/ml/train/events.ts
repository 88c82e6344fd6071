// Payloads of the training job's events (sent with ctx.emit by the train worker): the CLI draws
// them as progress lines, the training dashboard as live charts. Declared once, in the contract.
import type { z } from 'zod'
import type { TrainingEventName, trainingEvents } from '../../../common/contract/training'

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

/** The payload of each training event, inferred from the contract's schemas. */
export type TrainingEventPayloads = {
  [K in TrainingEventName]: z.infer<(typeof trainingEvents)[K]>
}

/** Sends one training event; the name picks the payload's type. */
export type EmitTrainingEvent = <K extends TrainingEventName>(
  name: K,
  payload: TrainingEventPayloads[K]
) => void
