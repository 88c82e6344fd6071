import type { Command } from 'commander'
import { registerCoco } from './coco'
import { registerCocoResults } from './coco-results'
import { registerDecode } from './decode'
import { registerDemo } from './demo'
import { registerEda } from './eda'
import { registerEvaluate } from './evaluate'
import { registerIndex } from './index-cmd'
import { registerPredict } from './predict'
import { registerQuality } from './quality'
import { registerScore } from './score'
import { registerServe } from './serve'
import { registerStart } from './start'
import { registerSubmit } from './submit'
import { registerSubmitCoco } from './submit-coco'
import { registerTrain } from './train'
import { registerValidateSubmission } from './validate-submission'
import { registerYolo } from './yolo'

/** Every `cxr-studio` command, registered on the root program in this order (shown in --help). */
export const commands: Array<(program: Command) => void> = [
  registerStart,
  registerServe,
  registerIndex,
  registerEda,
  registerQuality,
  registerDecode,
  registerCoco,
  registerYolo,
  registerScore,
  registerValidateSubmission,
  registerDemo,
  registerTrain,
  registerEvaluate,
  registerPredict,
  registerSubmit,
  registerSubmitCoco,
  registerCocoResults
]
