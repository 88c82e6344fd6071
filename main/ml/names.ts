// The names a user can choose from (CLI choices, form options, config schemas). Kept apart from the
// modules that implement them so that the CLI and the UI can list them without loading tfjs.

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const
export type BackendChoice = (typeof BACKEND_CHOICES)[number]

export const BACKBONE_NAMES = [
  'efficientnet-b0',
  'efficientnet-b1',
  'efficientnet-b2',
  'efficientnet-b3',
  'mobilenetv2',
  'resnet18',
  'resnet34'
] as const
export type BackboneName = (typeof BACKBONE_NAMES)[number]

export const HEAD_NAMES = ['efficientdet', 'fcos'] as const
export type HeadName = (typeof HEAD_NAMES)[number]

export const PRESET_NAMES = ['tiny', 'standard'] as const
export type PresetName = (typeof PRESET_NAMES)[number]

export const OPTIMIZER_NAMES = ['adamw', 'adam', 'sgd'] as const
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number]
