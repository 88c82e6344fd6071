// A run's config.json as rows a person can read, and what differs between runs. Only the `train`
// and `detector` objects are compared: they are what the user chose; versions and fingerprints
// belong on the run's own page.
import { formatStrategy, type Strategy } from '../../../common/training'

/** Keys left out of comparisons: always different (the run's own folder) or repeating other keys. */
const NOT_COMPARED = ['train.out', 'train.defaults']

export type ConfigRows = Array<[key: string, value: string]>

/** `{ train: { lr: 0.01, optimizer: { name: 'adamw' } } }` → `[['train.lr', '0.01'], ['train.optimizer.name', 'adamw']]`. */
export function flattenConfig(value: unknown, prefix = ''): ConfigRows {
  if (isStrategy(value)) return [[prefix, formatStrategy(value)]]
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
    if (!entries.length) return [[prefix, '{}']]
    return entries.flatMap(([key, inner]) => flattenConfig(inner, prefix ? `${prefix}.${key}` : key))
  }
  return [[prefix, formatValue(value)]]
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

function isStrategy(value: unknown): value is Strategy {
  const kind = (value as { kind?: unknown } | null)?.kind
  return (
    typeof kind === 'string' &&
    ['no_freeze', 'freeze', 'freeze_unfreeze', 'unfreeze_milestones'].includes(kind)
  )
}

/** The user's choices of a run: config.json's `train` and `detector`, flattened. */
export function comparableConfig(config: Record<string, unknown> | null): Map<string, string> {
  const rows = [
    ...flattenConfig(config?.train ?? {}, 'train'),
    ...flattenConfig(config?.detector ?? {}, 'detector')
  ].filter(([key]) => !NOT_COMPARED.some((skip) => key === skip || key.startsWith(`${skip}.`)))
  return new Map(rows)
}

export interface DiffRow {
  key: string
  /** One value per run, in the order given; '—' where a run lacks the key. */
  values: string[]
}

/** Only the keys whose values differ between the runs. */
export function configDiff(configs: ReadonlyArray<Record<string, unknown> | null>): DiffRow[] {
  const flat = configs.map(comparableConfig)
  const keys = [...new Set(flat.flatMap((map) => [...map.keys()]))].sort()
  return keys
    .map((key) => ({ key, values: flat.map((map) => map.get(key) ?? '—') }))
    .filter((row) => new Set(row.values).size > 1)
}

/** The run page's table: the choices, then the model, backend and data it ended up with. */
export function configTable(config: Record<string, unknown> | null): ConfigRows {
  if (!config) return []
  const pick = (key: string) => flattenConfig(config[key] ?? null, key)
  return [
    ...[...comparableConfig(config).entries()],
    ...pick('parameters'),
    ...pick('initialisation'),
    ...pick('backend').filter(([key]) => !key.startsWith('backend.kernels')),
    ...pick('dataset'),
    ...pick('versions')
  ]
}
