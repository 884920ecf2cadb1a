import type { RateLimitResult } from '../result.js'

/** Which header fields to send. */
export interface HeaderOptions {
  /** `RateLimit-Policy` and `RateLimit`, as in draft-ietf-httpapi-ratelimit-headers-12. Default true. */
  standard?: boolean
  /** `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds), for older clients. Default false. */
  legacy?: boolean
}

/**
 * The response header fields of a decision:
 * - `RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400`: every rule, as a Structured Field List;
 * - `RateLimit: "burst";r=50;t=30, "daily";r=999;t=86400`: what is left of each, and seconds until it is whole;
 * - `Retry-After` (seconds) when denied;
 * - optionally the legacy `X-RateLimit-*` of the deciding rule.
 *
 * @example
 * for (const [name, value] of Object.entries(rateLimitHeaders(result))) response.setHeader(name, value)
 */
export function rateLimitHeaders(
  result: RateLimitResult,
  options: HeaderOptions = {},
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (options.standard !== false) {
    headers['RateLimit-Policy'] = result.rules
      .map(
        (rule) => `${sfString(rule.name)};q=${rule.limit};w=${Math.max(1, Math.ceil(rule.windowMs / 1000))}`,
      )
      .join(', ')
    headers.RateLimit = result.rules
      .map((rule) => `${sfString(rule.name)};r=${rule.remaining};t=${Math.ceil(rule.resetMs / 1000)}`)
      .join(', ')
  }
  if (options.legacy === true) {
    headers['X-RateLimit-Limit'] = String(result.limit)
    headers['X-RateLimit-Remaining'] = String(result.remaining)
    headers['X-RateLimit-Reset'] = String(Math.ceil((result.decidedAt + result.resetMs) / 1000))
  }
  const retryAfter = retryAfterSeconds(result)
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter)
  return headers
}

/** `Retry-After` in whole seconds (at least 1) for a denial that can be retried; else undefined. */
export function retryAfterSeconds(result: RateLimitResult): number | undefined {
  if (result.allowed || !Number.isFinite(result.retryAfterMs)) return undefined
  return Math.max(1, Math.ceil(result.retryAfterMs / 1000))
}

/** The problem type of a 429 (draft-ietf-httpapi-ratelimit-headers-12, "Problem Types"). */
export const QUOTA_EXCEEDED_TYPE = 'https://iana.org/assignments/http-problem-types#quota-exceeded'

/** The `application/problem+json` body (RFC 9457) of a 429. */
export interface QuotaExceededProblem {
  type: typeof QUOTA_EXCEEDED_TYPE
  title: string
  status: 429
  detail: string
  /** The rules that denied the request. */
  'violated-policies': string[]
}

/** The problem+json body of a denial. */
export function quotaExceededProblem(result: RateLimitResult): QuotaExceededProblem {
  const violated = result.rules.filter((rule) => !rule.allowed).map((rule) => rule.name)
  const retryAfter = retryAfterSeconds(result)
  return {
    type: QUOTA_EXCEEDED_TYPE,
    title: 'Request quota exceeded',
    status: 429,
    detail:
      retryAfter === undefined
        ? `This request exceeds the capacity of ${violated.join(', ') || result.policy}.`
        : `Quota ${violated.join(', ') || result.policy} exceeded; retry in ${retryAfter} s.`,
    'violated-policies': violated.length > 0 ? violated : [result.policy],
  }
}

/** An sf-string (RFC 9651 §3.3.3): quoted, with `\` and `"` escaped. Rule names are printable ASCII. */
function sfString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}
