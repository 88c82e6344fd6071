// Reading the CSP <meta> tag of a built index.html as a browser would.

/** An HTML attribute value with its character references decoded. */
function decodeAttribute(value: string): string {
  const named: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' }
  return value.replace(/&(#\d+|#x[\da-f]+|[a-z]+);/gi, (entity, body: string) =>
    body.startsWith('#')
      ? String.fromCodePoint(body[1].toLowerCase() === 'x' ? parseInt(body.slice(2), 16) : Number(body.slice(1)))
      : (named[body] ?? entity)
  )
}

/** The policy of the page's `<meta http-equiv="Content-Security-Policy">` and where the tag starts, or null. */
export function cspMeta(html: string): { policy: string; at: number } | null {
  const tag = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html)
  return tag ? { policy: decodeAttribute(tag[1]), at: tag.index } : null
}
