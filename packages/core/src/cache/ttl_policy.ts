import { parseDuration } from '../duration.js'
import type { Ttl } from './cache_options.js'

/** Resolves a TTL setting to milliseconds for one write; `undefined` means no expiry. */
export function resolveTtlMs<T>(ttl: Ttl<T>, value: T, key: string, now: number): number | undefined {
  const duration = typeof ttl === 'function' ? ttl(value, { key, now: new Date(now) }) : ttl
  if (duration === Number.POSITIVE_INFINITY) return undefined
  return parseDuration(duration)
}

/**
 * Checks a TTL setting where it is given, so a bad one throws at `createCache` or at the call
 * rather than leaving a value silently uncached; a function is checked on each write instead.
 * @throws InvalidDurationError
 */
export function checkTtl<T>(ttl: Ttl<T> | undefined): void {
  if (ttl === undefined || typeof ttl === 'function' || ttl === Number.POSITIVE_INFINITY) return
  parseDuration(ttl)
}
