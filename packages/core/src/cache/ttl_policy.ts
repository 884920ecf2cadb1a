import { parseDuration } from '../duration.js'
import type { Ttl } from './cache_options.js'

/** Resolves a TTL setting to milliseconds for one write; `undefined` means no expiry. */
export function resolveTtlMs<T>(ttl: Ttl<T>, value: T, key: string, now: number): number | undefined {
  const duration = typeof ttl === 'function' ? ttl(value, { key, now: new Date(now) }) : ttl
  if (duration === Number.POSITIVE_INFINITY) return undefined
  return parseDuration(duration)
}
