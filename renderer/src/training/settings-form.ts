// The Train view's form as plain data: one string per field ('' = unset, the back end's default
// applies), turned into TrainSettings with the same zod schema the back end validates with, and
// the problems keyed by field so each shows next to its input.
import { FILTER_POLICIES } from '../../../common/dataset'
import { RunName, type FieldError } from '../../../common/contract'
import {
  BACKBONE_NAMES,
  BACKEND_CHOICES,
  BEST_BY_CHOICES,
  HEAD_NAMES,
  OPTIMIZER_NAMES,
  PRESET_NAMES,
  STRATEGY_HELP,
  STUDY_HEAD_NAMES,
  TrainSettings
} from '../../../common/training'

export type FieldKind = 'select' | 'int' | 'number' | 'text'

export interface FieldSpec {
  label: string
  kind: FieldKind
  choices?: readonly string[]
  /** A line under the input saying what the field does. */
  help?: string
}

export const FORM_FIELDS = [
  'preset',
  'head',
  'studyHead',
  'backbone',
  'imageSize',
  'epochs',
  'timeLimitMinutes',
  'batchSize',
  'lr',
  'optimizer',
  'strategy',
  'valFraction',
  'valMinPerClass',
  'folds',
  'fold',
  'bestBy',
  'seed',
  'policy',
  'backend',
  'threads',
  'pretrained'
] as const satisfies ReadonlyArray<keyof TrainSettings>
export type FormField = (typeof FORM_FIELDS)[number]
export type TrainForm = Record<FormField, string>

export const STRATEGY_CHOICES = [
  'no_freeze',
  'freeze',
  'freeze_unfreeze:10',
  'unfreeze_milestones:5,10:2'
] as const

export const FIELD_SPECS: Record<FormField, FieldSpec> = {
  preset: {
    label: 'Model size',
    kind: 'select',
    choices: PRESET_NAMES,
    help: 'tiny: ~1M parameters, trains on a laptop CPU; standard: the full-width model'
  },
  head: { label: 'Head', kind: 'select', choices: HEAD_NAMES },
  studyHead: {
    label: 'Study head',
    kind: 'select',
    choices: STUDY_HEAD_NAMES,
    help: 'spatial: attention over the stride-16 features with position channels (where and how many opacities); global: pooled features only'
  },
  backbone: { label: 'Backbone', kind: 'select', choices: BACKBONE_NAMES },
  imageSize: { label: 'Image size (px)', kind: 'int', help: 'EfficientDet: a multiple of 128' },
  epochs: { label: 'Epochs', kind: 'int' },
  timeLimitMinutes: {
    label: 'Time limit (minutes)',
    kind: 'number',
    help: 'without epochs the run trains until the clock runs out, its learning-rate decay following the clock'
  },
  batchSize: { label: 'Batch size', kind: 'int' },
  lr: { label: 'Learning rate', kind: 'number' },
  optimizer: { label: 'Optimizer', kind: 'select', choices: OPTIMIZER_NAMES },
  strategy: { label: 'Fine-tuning strategy', kind: 'text', help: STRATEGY_HELP },
  valFraction: {
    label: 'Validation fraction',
    kind: 'number',
    help: 'share of the studies of each class held out for validation'
  },
  valMinPerClass: {
    label: 'Validation studies per class (at least)',
    kind: 'int',
    help: 'raises a small split to this many studies of each class, at most half of the class; 0: the fraction alone'
  },
  folds: {
    label: 'Folds (k-fold)',
    kind: 'int',
    help: 'stratified k-fold by study: with a fold, this run validates on that fold and trains on the others'
  },
  fold: {
    label: 'Fold (0-based)',
    kind: 'int',
    help: 'the fold this run validates on; the CLI (train --folds K) trains every fold in turn'
  },
  bestBy: {
    label: 'Best epoch by',
    kind: 'select',
    choices: BEST_BY_CHOICES,
    help: 'smoothed: mean validation score of the epoch and the 2 before it; final: its own score; loss: lowest validation loss'
  },
  seed: { label: 'Seed', kind: 'int' },
  policy: {
    label: 'Filter policy',
    kind: 'select',
    choices: FILTER_POLICIES,
    help: 'which images of multi-image studies train'
  },
  backend: { label: 'Backend', kind: 'select', choices: BACKEND_CHOICES },
  threads: {
    label: 'Threads',
    kind: 'select',
    choices: ['1', '2'],
    help: '2 (the default on WASM with two cores): a helper thread computes half of each batch, batch norm over the whole batch'
  },
  pretrained: {
    label: 'Pretrained backbone (model.json)',
    kind: 'text',
    help: 'a TF.js Layers model whose backbone layers are imported by name'
  }
}

export function emptyForm(): TrainForm {
  return Object.fromEntries(FORM_FIELDS.map((name) => [name, ''])) as TrainForm
}

/** A preset (or a run's settings) as form text; settings the form has no field for are kept aside. */
export function formFromSettings(settings: TrainSettings): { form: TrainForm; extra: TrainSettings } {
  const form = emptyForm()
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue
    if ((FORM_FIELDS as readonly string[]).includes(key)) form[key as FormField] = String(value)
    else extra[key] = value
  }
  return { form, extra: extra as TrainSettings }
}

export interface FormResult {
  /** Valid settings, or null while a field has a problem. */
  settings: TrainSettings | null
  /** What could be read (numbers that parse), for the back end's check even while the form is invalid. */
  raw: Record<string, unknown>
  errors: FieldError[]
}

/** Reads the form with the contract's schema; the run name (not a setting) is checked too. */
export function settingsFromForm(form: TrainForm, extra: TrainSettings = {}, runName = ''): FormResult {
  const raw: Record<string, unknown> = { ...extra }
  const errors: FieldError[] = []
  for (const name of FORM_FIELDS) {
    const text = form[name].trim()
    if (!text) continue
    const kind = FIELD_SPECS[name].kind
    if (kind === 'int' || kind === 'number' || name === 'threads') {
      const value = Number(text)
      if (!Number.isFinite(value)) errors.push({ field: name, message: `"${text}" is not a number` })
      else raw[name] = value
    } else {
      raw[name] = text
    }
  }
  const parsed = TrainSettings.safeParse(raw)
  if (!parsed.success)
    for (const issue of parsed.error.issues)
      errors.push({ field: String(issue.path[0] ?? 'settings'), message: issue.message })
  if (runName.trim()) {
    const named = RunName.safeParse(runName.trim())
    if (!named.success) errors.push({ field: 'name', message: named.error.issues[0].message })
  }
  return { settings: errors.length ? null : (parsed.data ?? null), raw, errors }
}

/** Problems per field (the client's first, then the back end's), each message once. */
export function errorsByField(...lists: ReadonlyArray<readonly FieldError[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const list of lists)
    for (const { field, message } of list) {
      const messages = (out[field] ??= [])
      if (!messages.includes(message)) messages.push(message)
    }
  return out
}

export interface DefaultHint {
  /** The value an unset field takes, as the input would show it. */
  value: string
  why: string
}

/** `0.01 (random initialisation with adamw)` → { value: '0.01', why: 'random initialisation with adamw' }. */
export function parseDefault(text: string): DefaultHint {
  const match = /^(.*?) \((.*)\)$/s.exec(text)
  if (!match) return { value: text, why: '' }
  let value = match[1]
  try {
    const parsed: unknown = JSON.parse(value)
    value = typeof parsed === 'string' ? parsed : typeof parsed === 'number' ? String(parsed) : value
  } catch {
    // not JSON: shown as written
  }
  return { value, why: match[2] }
}

/** The default each unset field takes, from the back end's check (`defaults`). */
export type DefaultHints = Partial<Record<FormField, DefaultHint>>

export function defaultHints(defaults: Record<string, string>): DefaultHints {
  const out: DefaultHints = {}
  for (const [field, text] of Object.entries(defaults)) out[field as FormField] = parseDefault(text)
  return out
}

/** An empty input shows the default it takes. */
export function placeholderOf(field: FormField, form: TrainForm, hints: DefaultHints): string {
  const hint = hints[field]
  if (field === 'epochs' && form.timeLimitMinutes.trim() && !form.epochs.trim()) return 'until the time limit'
  return hint ? hint.value : 'default'
}

/** The line under an unset field: the default it takes and why; nothing once the field is set. */
export function defaultNote(field: FormField, form: TrainForm, hints: DefaultHints): string {
  const hint = hints[field]
  if (form[field].trim() || !hint) return ''
  const value = field === 'epochs' && Number(hint.value) >= 10_000 ? 'until the time limit' : hint.value
  // 'default' as the reason says nothing more than the value; a reason may start with the value itself
  if (!hint.why || hint.why === 'default') return `default ${value}`
  return hint.why.startsWith(value) ? `default: ${hint.why}` : `default ${value}: ${hint.why}`
}
