// What the web host answers when a request cannot be served: a status and a reason, thrown from
// wherever the problem is found and turned into the response in one place (server.ts).

/** A request the client got wrong (malformed URL, oversized body): a 4xx naming the reason. */
export class HttpError extends Error {
  override name = 'HttpError'

  constructor(
    readonly status: 400 | 404 | 405 | 413 | 415,
    message: string,
    /** Close the connection after answering (a body was left unread). */
    readonly closeConnection = false
  ) {
    super(message)
  }
}

/** The client went away (closed or reset the connection mid-body or mid-response): nothing to answer or log. */
export function isClientGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE'
}

/** A path's percent-escapes decoded; a malformed escape (`%zz`, half a UTF-8 sequence) is a 400. */
export function decodePathname(pathname: string): string {
  try {
    return decodeURIComponent(pathname)
  } catch {
    throw new HttpError(400, 'malformed URL: the path has an invalid percent-escape')
  }
}
