/**
 * A small, strict reader for the Python literals pandas writes into train_image_level.csv
 * (`str()` of a list of dicts). It accepts lists, dicts, single/double-quoted strings (a backslash
 * takes the next character as is), ints/floats/exponents, True/False/None, whitespace and trailing
 * commas - nothing else, and it never evaluates anything.
 */
export type PyValue = number | string | boolean | null | PyValue[] | PyDict
export interface PyDict {
  [key: string]: PyValue
}

/** A syntax error at a 1-based column of the literal text. */
export class LiteralSyntaxError extends Error {
  override name = 'LiteralSyntaxError'
  constructor(
    readonly reason: string,
    readonly column: number
  ) {
    super(`${reason} at column ${column}`)
  }
}

const NUMBER = /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y
const KEYWORDS = Object.entries({ True: true, False: false, None: null } as Record<string, PyValue>)
// space, tab, newline, vertical tab, form feed, carriage return (Python's whitespace in literals)
const WHITESPACE = new Set([32, 9, 10, 11, 12, 13])

export function parsePythonLiteral(text: string): PyValue {
  let pos = 0

  const fail = (reason: string, at = pos): never => {
    throw new LiteralSyntaxError(reason, at + 1)
  }
  const skipSpace = () => {
    while (pos < text.length && WHITESPACE.has(text.charCodeAt(pos))) pos++
  }
  const describe = () => (pos < text.length ? `'${text[pos]}'` : 'end of text')

  const value = (): PyValue => {
    skipSpace()
    const ch = text[pos]
    if (ch === '[') return list()
    if (ch === '{') return dict()
    if (ch === "'" || ch === '"') return string()
    NUMBER.lastIndex = pos
    const number = NUMBER.exec(text)
    if (number) {
      pos += number[0].length
      return Number(number[0])
    }
    for (const [word, keywordValue] of KEYWORDS) {
      if (text.startsWith(word, pos) && !/\w/.test(text[pos + word.length] ?? '')) {
        pos += word.length
        return keywordValue
      }
    }
    return fail(`expected a value, found ${describe()}`)
  }

  // `[a, b, ]` and `{k: v, }` both allow one trailing comma, as Python does.
  const sequence = (close: string, item: () => void, what: string) => {
    pos++ // the opening bracket
    skipSpace()
    while (text[pos] !== close) {
      item()
      skipSpace()
      if (text[pos] === ',') {
        pos++
        skipSpace()
      } else if (text[pos] !== close) {
        fail(`expected ',' or '${close}' in ${what}, found ${describe()}`)
      }
    }
    pos++ // the closing bracket
  }

  const list = (): PyValue[] => {
    const items: PyValue[] = []
    sequence(']', () => items.push(value()), 'list')
    return items
  }

  const dict = (): PyDict => {
    const entries: PyDict = {}
    sequence(
      '}',
      () => {
        const keyStart = pos
        if (text[pos] !== "'" && text[pos] !== '"') fail(`expected a quoted key, found ${describe()}`)
        const key = string()
        skipSpace()
        if (text[pos] !== ':') fail(`expected ':' after key`)
        pos++
        if (Object.hasOwn(entries, key)) fail(`duplicate key '${key}'`, keyStart)
        entries[key] = value()
      },
      'dict'
    )
    return entries
  }

  const string = (): string => {
    const quote = text[pos]
    const start = pos
    pos++
    let out = ''
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        pos++
        if (pos >= text.length) break
      }
      out += text[pos++]
    }
    if (pos >= text.length) fail('unterminated string', start)
    pos++ // closing quote
    return out
  }

  const result = value()
  skipSpace()
  if (pos < text.length) fail(`unexpected ${describe()} after the value`)
  return result
}
