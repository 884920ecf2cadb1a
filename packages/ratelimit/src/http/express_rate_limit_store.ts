import { InvalidOptionError } from '@cachekit/core'
import type { RateLimiter } from '../rate_limiter.js'

/** What express-rate-limit passes to a store's `init`. */
export interface ExpressRateLimitStoreInit {
  windowMs?: number
  limit?: unknown
  max?: unknown
  skipFailedRequests?: boolean
}

/** express-rate-limit's `ClientRateLimitInfo`. */
export interface ClientRateLimitInfo {
  totalHits: number
  resetTime: Date | undefined
}

/** An express-rate-limit (7, 8) `Store`. */
export interface ExpressRateLimitStore {
  readonly localKeys: false
  readonly prefix: string
  init(options: ExpressRateLimitStoreInit): void
  get(key: string): Promise<ClientRateLimitInfo | undefined>
  increment(key: string): Promise<ClientRateLimitInfo>
  decrement(key: string): Promise<void>
  resetKey(key: string): Promise<void>
}

/**
 * Our limiter under express-rate-limit's middleware, for apps that keep its options and headers:
 * `rateLimit({ store: expressRateLimitStore(limiter), limit: 100, windowMs: 60_000 })`. The limiter
 * decides (on Redis, atomically, with its algorithm); express-rate-limit reads the decision as a hit
 * count: `limit - remaining` when allowed, `limit + 1` when denied. So its `limit` must be the
 * limiter's, and `init` refuses a different one. `decrement` (for `skipFailedRequests` and
 * `skipSuccessfulRequests`) is a refund.
 *
 * express-rate-limit's own stores count denied hits; ours counts nothing for a denial. With
 * `skipFailedRequests` it decrements after its own 429 too, so the store remembers, per key, the
 * denials not yet decremented and gives back nothing for those.
 */
export function expressRateLimitStore(limiter: RateLimiter): ExpressRateLimitStore {
  const rule = limiter.rules[0]!
  const info = (allowed: boolean, remaining: number, resetMs: number): ClientRateLimitInfo => ({
    totalHits: allowed ? rule.limit - remaining : rule.limit + 1,
    resetTime: new Date(Date.now() + resetMs),
  })
  const uncountedDenials = new Map<string, number>()
  let decrementsDenials = false
  return {
    localKeys: false,
    prefix: '',
    init(options) {
      decrementsDenials = options.skipFailedRequests === true
      const limit = options.limit ?? options.max
      if (typeof limit === 'number' && limit !== rule.limit)
        throw new InvalidOptionError(
          `[cachekit/ratelimit] expressRateLimitStore: express-rate-limit's \`limit\` (${limit}) must be the limiter's (${rule.limit}): the limiter decides`,
        )
    },
    async get(key) {
      const result = await limiter.peek(key)
      return { totalHits: rule.limit - result.remaining, resetTime: new Date(Date.now() + result.resetMs) }
    },
    async increment(key) {
      const result = await limiter.limit(key)
      if (!result.allowed && decrementsDenials)
        uncountedDenials.set(key, (uncountedDenials.get(key) ?? 0) + 1)
      return info(result.allowed, result.remaining, result.resetMs)
    },
    async decrement(key) {
      const denials = uncountedDenials.get(key) ?? 0
      if (denials === 0) return limiter.refund(key)
      if (denials === 1) uncountedDenials.delete(key)
      else uncountedDenials.set(key, denials - 1)
    },
    resetKey: (key) => limiter.reset(key),
  }
}
