import { parse } from 'csv-parse/sync'

export interface CsvRow {
  /** 1-based physical line (the header is line 1). */
  line: number
  fields: string[]
}

export interface CsvProblem {
  line: number
  reason: string
}

/**
 * Splits CSV text into rows with csv-parse. Both Kaggle label files hold one record per line, so
 * the whole text is parsed at once and each record maps to its line; if that fails (a stray quote
 * would otherwise swallow the rest of the file), each line is parsed on its own, so the bad line
 * becomes a problem and every other line still loads.
 */
export function readCsvLines(text: string): { rows: CsvRow[]; problems: CsvProblem[] } {
  const lines: Array<{ line: number; content: string }> = []
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((content, i) => {
      if (content.trim() !== '') lines.push({ line: i + 1, content })
    })
  const whole = parseOrNull(lines.map((l) => l.content).join('\n'))
  if (
    whole &&
    whole.length === lines.length &&
    whole.every((fields) => !fields.some((f) => /[\r\n]/.test(f)))
  ) {
    return { rows: whole.map((fields, i) => ({ line: lines[i].line, fields })), problems: [] }
  }

  const rows: CsvRow[] = []
  const problems: CsvProblem[] = []
  for (const { line, content } of lines) {
    try {
      rows.push({ line, fields: (parse(content, { relax_column_count: true }) as string[][])[0] ?? [] })
    } catch (err) {
      problems.push({ line, reason: csvReason(err) })
    }
  }
  return { rows, problems }
}

function parseOrNull(text: string): string[][] | null {
  try {
    return parse(text, { relax_column_count: true }) as string[][]
  } catch {
    return null
  }
}

function csvReason(err: unknown): string {
  const code = (err as { code?: string }).code
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'unterminated quoted field'
  if (code === 'CSV_INVALID_CLOSING_QUOTE') return 'stray characters after a closing quote'
  const message = err instanceof Error ? err.message : String(err)
  return `unreadable CSV line (${message.replace(/ at line \d+.*$/, '')})`
}

/** Quotes a CSV field when it needs it (comma, quote or line break), doubling inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/**
 * Reads a CSV with a known header. Columns are matched by name, so a reordered header or an extra
 * column (pandas' unnamed index) still loads; rows come back in `columns` order. A file whose
 * first line is already a data row (`<id><idSuffix>` and the right column count) is read
 * positionally, with one problem for the missing header.
 */
export function readCsvTable(
  text: string,
  columns: readonly string[],
  idSuffix: string
): { rows: CsvRow[]; problems: CsvProblem[] } {
  const { rows, problems } = readCsvLines(text)
  const expected = columns.join(',')
  if (rows.length === 0) {
    if (problems.length === 0)
      problems.push({ line: 1, reason: `empty file (expected the header '${expected}')` })
    return { rows: [], problems }
  }
  const [header, ...body] = rows
  const names = header.fields.map((name) => name.trim())
  const positions = columns.map((name) => names.indexOf(name))
  const missing = columns.filter((_, i) => positions[i] < 0)

  if (missing.length > 0) {
    const looksLikeData =
      header.fields.length === columns.length && header.fields[0].trim().endsWith(idSuffix)
    if (!looksLikeData) {
      problems.push({
        line: header.line,
        reason: `header: expected '${expected}', missing ${missing.map((m) => `'${m}'`).join(', ')}`
      })
      return { rows: [], problems }
    }
    problems.push({
      line: header.line,
      reason: `missing header line (expected '${expected}'); reading the columns in that order`
    })
    return { rows: withColumnCount(rows, columns.length, problems), problems: sortByLine(problems) }
  }

  const table = withColumnCount(body, names.length, problems).map((row) => ({
    line: row.line,
    fields: positions.map((p) => row.fields[p])
  }))
  return { rows: table, problems: sortByLine(problems) }
}

function withColumnCount(rows: CsvRow[], count: number, problems: CsvProblem[]): CsvRow[] {
  return rows.filter((row) => {
    if (row.fields.length === count) return true
    problems.push({ line: row.line, reason: `expected ${count} columns, found ${row.fields.length}` })
    return false
  })
}

function sortByLine(problems: CsvProblem[]): CsvProblem[] {
  return problems.sort((a, b) => a.line - b.line)
}
