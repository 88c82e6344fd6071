// The merged dataset: files + label CSVs, and the filter policies that exports and training apply.
export { openDataset, type OpenDatasetOptions } from './open'
export { kagglePathIds, mergeDataset, splitOf, type LabelTables } from './merge'
export {
  applyPolicy,
  explainPolicy,
  DEFAULT_POLICY,
  POLICY_DESCRIPTIONS,
  type PolicyDrop,
  type PolicyOutcome
} from './policy'
export { readTestTruth, TEST_TRUTH_FILES, type TestTruth } from './test-truth'
