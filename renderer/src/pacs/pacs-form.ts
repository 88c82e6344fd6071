// The PACS view's forms as plain state: a server (its password or token typed, sent once, never
// shown again) and a study search, the requests they make, the problems per field; and how the
// view words sizes and cache states. The back end validates both requests again.
import {
  PacsQuery,
  PacsServerDraft,
  type PacsAuthKind,
  type PacsServer,
  type PacsStudy
} from '../../../common/contract'

export interface ServerForm {
  /** The saved server being edited, or '' for a new one. */
  id: string
  name: string
  url: string
  auth: PacsAuthKind
  user: string
  /** Typed password or token; '' keeps the stored one (the field never shows it). */
  secret: string
  timeoutSeconds: string
}

export type ServerErrors = Partial<Record<'name' | 'url' | 'user' | 'secret' | 'timeoutSeconds', string>>

export function emptyServerForm(): ServerForm {
  return { id: '', name: '', url: '', auth: 'none', user: '', secret: '', timeoutSeconds: '30' }
}

/** A saved server in the form: everything but its secret. */
export function serverFormOf(server: PacsServer): ServerForm {
  return {
    id: server.id,
    name: server.name,
    url: server.url,
    auth: server.auth,
    user: server.user ?? '',
    secret: '',
    timeoutSeconds: String(server.timeoutSeconds)
  }
}

/**
 * The draft to save or test, or the problems per field. A new server with basic or bearer auth needs
 * its secret; a saved one keeps the stored secret when the field is left empty (`hasSecret`).
 */
export function serverDraft(
  form: ServerForm,
  hasSecret = false
): { draft: PacsServerDraft; errors: null } | { draft: null; errors: ServerErrors } {
  const errors: ServerErrors = {}
  const timeout = Number(form.timeoutSeconds.trim())
  if (!form.timeoutSeconds.trim() || !Number.isFinite(timeout) || timeout <= 0 || timeout > 3600)
    errors.timeoutSeconds = 'seconds between 1 and 3600'
  const secret = form.secret === '' ? undefined : form.secret
  if (form.auth !== 'none' && secret === undefined && !(form.id && hasSecret))
    errors.secret = form.auth === 'basic' ? 'type the password' : 'paste the token'
  const auth =
    form.auth === 'basic'
      ? { kind: 'basic' as const, user: form.user.trim(), password: secret }
      : form.auth === 'bearer'
        ? { kind: 'bearer' as const, token: secret }
        : { kind: 'none' as const }
  const parsed = PacsServerDraft.safeParse({
    ...(form.id ? { id: form.id } : {}),
    name: form.name,
    url: form.url.trim(),
    auth,
    ...(errors.timeoutSeconds ? {} : { timeoutSeconds: timeout })
  })
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] === 'auth' ? (issue.path[1] === 'user' ? 'user' : 'secret') : issue.path[0]
      const key = (['name', 'url', 'user', 'secret', 'timeoutSeconds'] as const).find((k) => k === field)
      if (key && !errors[key]) errors[key] = issue.message
    }
  if (Object.keys(errors).length || !parsed.success) return { draft: null, errors }
  return { draft: parsed.data, errors: null }
}

export interface SearchForm {
  patientName: string
  patientId: string
  /** `YYYY-MM-DD` from a date input, or ''. */
  dateFrom: string
  dateTo: string
  modality: string
  accession: string
}

export type SearchErrors = Partial<Record<keyof SearchForm, string>>

export function emptySearchForm(): SearchForm {
  return { patientName: '', patientId: '', dateFrom: '', dateTo: '', modality: '', accession: '' }
}

const compactDate = (value: string) => value.replaceAll('-', '')

/** The QIDO-RS query of the form (empty fields left out; a date range open at either end). */
export function searchQuery(
  form: SearchForm
): { query: PacsQuery; errors: null } | { query: null; errors: SearchErrors } {
  const errors: SearchErrors = {}
  const [from, to] = [compactDate(form.dateFrom.trim()), compactDate(form.dateTo.trim())]
  if (from && to && from > to) errors.dateTo = 'the end is before the start'
  const studyDate = from || to ? (from === to ? from : `${from}-${to}`) : undefined
  const text = (value: string) => value.trim() || undefined
  const candidate = {
    patientName: text(form.patientName),
    patientId: text(form.patientId),
    studyDate,
    modality: text(form.modality)?.toUpperCase(),
    accession: text(form.accession)
  }
  const query = Object.fromEntries(Object.entries(candidate).filter(([, value]) => value !== undefined))
  const parsed = PacsQuery.safeParse(query)
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] === 'studyDate' ? 'dateFrom' : (issue.path[0] as keyof SearchForm)
      errors[field] ??= issue.message
    }
  if (Object.keys(errors).length || !parsed.success) return { query: null, errors }
  return { query: parsed.data, errors: null }
}

/** `20200314` → `2020-03-14` (anything else as the server gave it). */
export function showDate(studyDate: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(studyDate)
  return match ? `${match[1]}-${match[2]}-${match[3]}` : studyDate
}

/** DICOM person names use ^ between components. */
export function showName(patientName: string): string {
  return patientName.replaceAll('^', ' ').trim()
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export const CACHE_LABELS: Record<'none' | 'complete' | 'incomplete', string> = {
  none: 'not cached',
  complete: 'cached',
  incomplete: 'partial (a retrieve resumes it)'
}

export function cacheLabel(study: Pick<PacsStudy, 'cached'>): string {
  return CACHE_LABELS[study.cached ?? 'none']
}
