import { channel } from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import {
  asStoreFailure,
  type CacheError,
  type Duration,
  InvalidOptionError,
  parseDuration,
} from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import type { DecideMode, Decider } from './decider.js'
import { LocalBlock } from './local_block.js'
import { MemoryDecider } from './memory/memory_decider.js'
import { type RateLimiterOptions, resolveOptions } from './options.js'
import { Availability } from './redis/availability.js'
import { RedisDecider } from './redis/redis_decider.js'
import {
  blockedResult,
  type DecisionSource,
  type RateLimitResult,
  type RawDecision,
  toResult,
  uncountedResult,
} from './result.js'
import type { Rule } from './rules.js'

/** What a limiter reports. */
export interface RateLimiterEventMap {
  /** Redis stopped answering (or the client lost its connection): the fallback decides from now on. */
  down: [{ error: CacheError | undefined }]
  /** Redis answers again: it decides from now on. */
  up: [{ downtimeMs: number }]
  /** A Redis call failed; the fallback decided that call. */
  failure: [{ operation: string; key: string | undefined; error: CacheError }]
  /** A key's stored state was not what the limiter writes (wrong type, garbage); it was dropped. */
  corrupt: [{ key: string; rules: string[] }]
}

/** Options of one decision. */
export interface LimitOptions {
  /** What the request costs, in the rules' units. A non-negative integer. Default 1. */
  cost?: number
}

const MAX_KEY_LENGTH = 1024

/** The diagnostics channel every decision of `limit` is published on (for @cachekit/monitoring). */
export const DECISION_CHANNEL = 'cachekit:ratelimit:decision'

/** What the decision channel carries: the limiter and its decision (never the key). */
export interface DecisionMessage {
  readonly limiter: RateLimiter
  readonly result: RateLimitResult
}

const decisions = channel(DECISION_CHANNEL)

/**
 * A rate limiter: one or several rules checked together, on Redis or in memory. Create it with
 * `createRateLimiter`.
 */
export class RateLimiter extends EventEmitter<RateLimiterEventMap> {
  /** The validated rules, in the order given. */
  readonly rules: readonly Rule[]
  private readonly decider: Decider
  private readonly localBlock: LocalBlock | undefined
  private readonly redis:
    | {
        client: Redis | Cluster
        availability: Availability
        fallback: 'insurance' | 'fail-open' | 'fail-closed'
        insurance: MemoryDecider | undefined
        retryIntervalMs: number
        closeClient: boolean
      }
    | undefined
  private downSince = 0
  private lastError: CacheError | undefined
  private closed = false

  constructor(options: RateLimiterOptions) {
    super()
    const resolved = resolveOptions(options)
    this.rules = resolved.rules
    this.localBlock = resolved.localBlockKeys > 0 ? new LocalBlock(resolved.localBlockKeys) : undefined
    const backend = resolved.backend
    if (backend.kind === 'memory') {
      this.decider = new MemoryDecider(this.rules, { maxKeys: backend.maxKeys })
      return
    }
    this.decider = new RedisDecider(backend.client, this.rules, backend.prefix, backend.timeoutMs)
    this.redis = {
      client: backend.client,
      availability: new Availability(backend.client, backend.retryIntervalMs, this.availabilityChanged),
      fallback: backend.onRedisDown,
      insurance:
        backend.onRedisDown === 'insurance'
          ? new MemoryDecider(backend.insuranceRules, { maxKeys: 100_000 })
          : undefined,
      retryIntervalMs: backend.retryIntervalMs,
      closeClient: backend.closeClient,
    }
  }

  /**
   * Decides one request of `key` and counts it when every rule allows it. Resolves with the
   * decision, a denial included; it rejects only on bad input (`E_INVALID_OPTION`) or after `close()`.
   *
   * @example
   * const { allowed, retryAfterMs } = await limiter.limit(`ip:${ip}`)
   */
  limit(key: string, options?: LimitOptions): Promise<RateLimitResult> {
    const cost = options?.cost ?? 1
    const invalid = this.checkCall(key, cost)
    if (invalid) return Promise.reject(invalid)
    const localBlock = this.localBlock
    let decided: Promise<RateLimitResult>
    if (localBlock === undefined) decided = this.decide(key, 'l', cost)
    else {
      const blockedMs = localBlock.remainingMs(key)
      if (blockedMs > 0) {
        const result = blockedResult(this.rules, blockedMs, 'local-block', Date.now())
        if (decisions.hasSubscribers) decisions.publish({ limiter: this, result } satisfies DecisionMessage)
        return Promise.resolve(result)
      }
      decided = this.decide(key, 'l', cost).then((result) => {
        if (!result.allowed && cost === 1 && Number.isFinite(result.retryAfterMs))
          localBlock.add(key, result.retryAfterMs)
        return result
      })
    }
    // One check per call when nobody watches: the message is built only for a subscriber.
    if (!decisions.hasSubscribers) return decided
    return decided.then((result) => {
      decisions.publish({ limiter: this, result } satisfies DecisionMessage)
      return result
    })
  }

  /**
   * What `limit(key)` would answer now for a request of cost 1, counting nothing. `remaining` is
   * what is left before that request.
   */
  peek(key: string): Promise<RateLimitResult> {
    const invalid = this.checkCall(key, 1)
    if (invalid) return Promise.reject(invalid)
    return this.decide(key, 'p', 1).then(beforeTheRequest)
  }

  /**
   * Gives back `cost` that `limit` counted, for a request that turned out not to count (a cached
   * answer, a failed upstream call). Never below an empty state.
   */
  async refund(key: string, options?: LimitOptions): Promise<void> {
    const cost = options?.cost ?? 1
    const invalid = this.checkCall(key, cost)
    if (invalid) throw invalid
    await this.decide(key, 'r', cost)
  }

  /**
   * Forgets `key`: every rule starts over and any block ends. Rejects with `E_STORE_FAILURE` when
   * Redis cannot answer (the insurance limiter forgets it anyway).
   */
  async reset(key: string): Promise<void> {
    const invalid = this.checkCall(key, 0)
    if (invalid) throw invalid
    this.localBlock?.delete(key)
    await this.redis?.insurance?.reset(key)
    await this.decider.reset(key)
  }

  /**
   * Denies every request of `key` for `duration`, whatever the rules say (a ban, a penalty).
   * Rejects with `E_STORE_FAILURE` when Redis cannot answer (the insurance limiter blocks it anyway).
   */
  async block(key: string, duration: Duration): Promise<void> {
    const invalid = this.checkCall(key, 0)
    if (invalid) throw invalid
    const ms = parseDuration(duration)
    if (ms < 1) throw new InvalidOptionError('[cachekit/ratelimit] block: `duration` must be at least 1 ms')
    this.localBlock?.add(key, ms)
    await this.redis?.insurance?.block(key, ms)
    await this.decider.block(key, ms)
  }

  /** Stops the limiter (and closes the client, unless `closeClient: false`). Later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.localBlock?.clear()
    await this.decider.close()
    if (this.redis === undefined) return
    this.redis.availability.stop()
    await this.redis.insurance?.close()
    if (this.redis.closeClient && this.redis.client.status !== 'end')
      await this.redis.client.quit().catch(() => undefined)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  private decide(key: string, mode: DecideMode, cost: number): Promise<RateLimitResult> {
    const redis = this.redis
    if (redis === undefined)
      return this.decider.decide(key, mode, cost).then((raw) => this.toResult(key, raw, 'memory', cost))
    if (!redis.availability.usable()) return Promise.resolve(this.fallback(key, mode, cost))
    return this.decider.decide(key, mode, cost).then(
      (raw) => {
        redis.availability.succeeded()
        return this.toResult(key, raw, 'redis', cost)
      },
      (error: unknown) => {
        const failure = asStoreFailure(error, 'redis', 'rate limit')
        this.lastError = failure
        redis.availability.failed()
        this.emit('failure', { operation: modeName(mode), key, error: failure })
        return this.fallback(key, mode, cost)
      },
    )
  }

  private toResult(key: string, raw: RawDecision, source: DecisionSource, cost: number): RateLimitResult {
    const corrupt = raw[2]!
    if (corrupt !== 0)
      this.emit('corrupt', {
        key,
        rules: this.rules.filter((_, i) => (corrupt & (1 << i)) !== 0).map((r) => r.name),
      })
    return toResult(this.rules, raw, source, cost)
  }

  private fallback(key: string, mode: DecideMode, cost: number): RateLimitResult {
    const redis = this.redis!
    if (redis.insurance !== undefined)
      return toResult(redis.insurance.rules, redis.insurance.decideNow(key, mode, cost), 'insurance', cost)
    if (redis.fallback === 'fail-open') return uncountedResult(this.rules, Date.now())
    return blockedResult(this.rules, redis.retryIntervalMs, 'fail-closed', Date.now())
  }

  private readonly availabilityChanged = (up: boolean): void => {
    if (up) {
      const downtimeMs = Math.round(performance.now() - this.downSince)
      this.emit('up', { downtimeMs })
    } else {
      this.downSince = performance.now()
      this.emit('down', { error: this.lastError })
    }
  }

  private checkCall(key: string, cost: number): InvalidOptionError | undefined {
    if (this.closed) return new InvalidOptionError('[cachekit/ratelimit] the limiter is closed')
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)
      return new InvalidOptionError(
        `[cachekit/ratelimit] a key must be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${describe(key)}`,
      )
    if (!Number.isSafeInteger(cost) || cost < 0)
      return new InvalidOptionError(
        `[cachekit/ratelimit] \`cost\` must be a non-negative integer, got ${String(cost)}`,
      )
    return undefined
  }
}

/**
 * Creates a rate limiter.
 *
 * @example
 * const limiter = createRateLimiter({
 *   client: createRedis(process.env.REDIS_URL),
 *   algorithm: 'sliding-window',
 *   limit: 100,
 *   window: '1m',
 *   onRedisDown: 'insurance',
 * })
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options)
}

function beforeTheRequest(result: RateLimitResult): RateLimitResult {
  // A denied peek already reports what is left now (nothing was counted).
  if (!result.allowed) return result
  const rules = result.rules.map((rule) => (rule.allowed ? { ...rule, remaining: rule.remaining + 1 } : rule))
  const deciding = rules.find((rule) => rule.name === result.policy)
  return { ...result, rules, remaining: deciding?.remaining ?? result.remaining }
}

function modeName(mode: DecideMode): string {
  return mode === 'l' ? 'limit' : mode === 'p' ? 'peek' : 'refund'
}

function describe(key: unknown): string {
  if (typeof key !== 'string') return typeof key
  return key.length === 0 ? 'an empty string' : `${key.length} characters`
}
