// Public API of the detector models, for the trainer, the predictor and the benchmarks.
export { createDetector, loadDetector, Detector } from './detector'
export type {
  DetectionTargets,
  DetectorLosses,
  LossValues,
  PredictOptions,
  ImagePrediction,
  ParameterGroup,
  Initialisation
} from './detector'
export {
  resolveDetectorConfig,
  PRESETS,
  PRESET_NAMES,
  HEAD_NAMES,
  BOX_LOSSES,
  DetectorConfigInputSchema
} from './config'
export type { DetectorConfig, DetectorConfigInput, HeadName, PresetName } from './config'
export { readDetectorManifest, MODEL_FILE, WEIGHTS_FILE, MODEL_FORMAT } from './detector-io'
export type { DetectorManifest } from './detector-io'
export { nonMaxSuppression, weightedBoxesFusion, mergeDetections } from './postprocess'
export type { MergeMode } from './postprocess'
export { iou, flipBoxesHorizontally } from './boxes'
export type { Box, Detections } from './boxes'
export { benchmarkDetector } from './benchmark'
export type { DetectorBenchmark, BenchmarkOptions } from './benchmark'
export { variableGrads } from '../model/backprop'
export { BACKBONE_NAMES } from '../model/backbone'
export type { BackboneName } from '../model/backbone'
export type { ImportReport, ImportOptions } from '../model/pretrained'
export type { NamedWeights, WeightTensor } from '../model/weights'
