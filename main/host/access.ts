// Who may talk to the web host: a request must carry the access token (header, cookie or ?token=)
// and, when a browser says where it comes from, come from the host's own origin. Loopback hosts
// also check the Host header so a DNS-rebinding page cannot reach the API under another name.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

export interface AccessPolicy {
  token: string
  port: number
  /** True when bound to a loopback address: only loopback host names are accepted. */
  loopbackOnly: boolean
}

export type AccessDecision =
  { allowed: true; tokenFromQuery: boolean } | { allowed: false; status: 401 | 403; reason: string }

export function newToken(): string {
  return randomBytes(24).toString('hex')
}

/** Cookies are not isolated by port, so the name carries it (two hosts on one machine stay apart). */
export function tokenCookieName(port: number): string {
  return `cxr-studio-token-${port}`
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

export function checkAccess(policy: AccessPolicy, headers: IncomingHttpHeaders, url: URL): AccessDecision {
  const host = headers.host ?? ''
  if (policy.loopbackOnly && !isLoopbackHost(host, policy.port)) {
    return {
      allowed: false,
      status: 403,
      reason: `host ${JSON.stringify(host)} is not a loopback address of this server`
    }
  }
  const origin = headers.origin
  if (origin !== undefined && origin !== `http://${host}`) {
    return { allowed: false, status: 403, reason: `requests from origin ${origin} are refused` }
  }
  if (headers['sec-fetch-site'] === 'cross-site') {
    return { allowed: false, status: 403, reason: 'cross-site requests are refused' }
  }
  const fromQuery = url.searchParams.get('token')
  const presented = [tokenFromHeader(headers), ...tokensFromCookies(headers, policy.port), fromQuery].filter(
    (value): value is string => Boolean(value)
  )
  if (presented.length === 0) {
    return {
      allowed: false,
      status: 401,
      reason: 'this server needs the access token; open the URL printed by `cxr-studio serve`'
    }
  }
  if (!presented.some((candidate) => sameToken(candidate, policy.token))) {
    return {
      allowed: false,
      status: 401,
      reason: 'wrong access token; open the URL printed by `cxr-studio serve`'
    }
  }
  return { allowed: true, tokenFromQuery: fromQuery !== null && sameToken(fromQuery, policy.token) }
}

export function isLoopbackHost(hostHeader: string, port: number): boolean {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader)
  if (!match) return false
  const [, name, hostPort] = match
  return LOOPBACK_NAMES.has(name.toLowerCase()) && Number(hostPort ?? 80) === port
}

export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address)
}

function tokenFromHeader(headers: IncomingHttpHeaders): string | null {
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(headers.authorization ?? '')
  return match ? match[1] : null
}

/**
 * Every value of our cookie, as sent. The token is hex and set without encoding, so nothing is
 * decoded (a malformed escape cannot throw), and a cookie planted under the same name by another
 * page of this machine (cookies ignore ports) cannot hide the real one: any of them may match.
 */
function tokensFromCookies(headers: IncomingHttpHeaders, port: number): string[] {
  const name = tokenCookieName(port)
  const values: string[] = []
  for (const part of (headers.cookie ?? '').split(';')) {
    const equals = part.indexOf('=')
    if (equals > 0 && part.slice(0, equals).trim() === name) values.push(part.slice(equals + 1).trim())
  }
  return values
}

function sameToken(candidate: string, token: string): boolean {
  const a = Buffer.from(candidate)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}
