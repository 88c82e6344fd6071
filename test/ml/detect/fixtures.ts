// Shared settings for detector tests: the WASM backend (with the project's gradient kernels) and
// a very small detector that trains in well under a second per step at 64 px.
import { initBackend } from '../../../main/ml/backend/ladder'
import type { DetectorConfigInput } from '../../../main/ml/detect'

export async function useWasmBackend(): Promise<void> {
  await initBackend('wasm')
}

/** ~0.13M parameters: quarter-width B0, 16-channel single BiFPN layer, levels P3-P5 for 64 px. */
export const TEST_DETECTOR: DetectorConfigInput = {
  imageSize: 64,
  widthMultiplier: 0.25,
  depthMultiplier: 0.25,
  neckChannels: 16,
  neckRepeats: 1,
  headRepeats: 1,
  maxLevel: 5,
  // short runs: running statistics must catch up within a few dozen steps
  batchNormMomentum: 0.9
}
