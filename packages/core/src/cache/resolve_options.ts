import type { Codec } from '../codec.js'
import { parseDuration, parseOptionalDuration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import type { CacheOptions, GetOrSetOptions, Ttl } from './cache_options.js'
import { checkTtl } from './ttl_policy.js'

/** Call defaults after parsing: what `getOrSet` reads on every call. */
export interface ResolvedDefaults {
  ttl: Ttl
  graceMs: number
  softMs: number | undefined
  hardMs: number | undefined
  lock: 'local' | 'distributed'
  lockTtlMs: number
  refreshAhead: number | undefined
}

/** `createCache`'s options, checked, with every default applied and every duration in ms. */
export interface ResolvedCacheOptions {
  defaults: ResolvedDefaults
  throwErrors: boolean
  l1MaxTtlMs: number | undefined
  graceBackoffMs: number
  /** The L2 codec, when there is an L2. */
  codec: Codec | undefined
  l2TimeoutMs: number
  breaker: { failureThreshold: number; probeIntervalMs: number }
  maxOutageKeys: number
  trackDependencies: boolean
  tracking: boolean
  /** How long tag times read from the index are used (`tagTimesMaxAge`); by default forever with a bus. */
  tagTrustMs: number
  /** `undefined` when background clean-up is off. */
  tagCleanup: { batchSize: number; pauseMs: number } | undefined
}

/** How long tag times read from the index are used without a bus to report changes, ms (`tagTimesMaxAge`). */
const TAG_TRUST_WITHOUT_BUS_MS = 1_000

/**
 * Every option of `createCache` is checked here, once, so a bad one throws at construction with a
 * typed error, and the parts of the cache receive plain numbers.
 * @throws InvalidOptionError, InvalidDurationError
 */
export function resolveCacheOptions(options: CacheOptions): ResolvedCacheOptions {
  if (!options.l1 && !options.l2) {
    throw new InvalidOptionError('[cachekit/core] a cache needs at least one tier: pass `l1`, `l2` or both')
  }
  const trackDependencies = options.trackDependencies ?? false
  if (trackDependencies && !options.tagIndex) {
    throw new InvalidOptionError('[cachekit/core] `trackDependencies` needs a `tagIndex`')
  }
  const tracking = options.tracking ?? false
  if (tracking && !options.bus?.trackKeys) {
    throw new InvalidOptionError(
      '[cachekit/core] `tracking` needs a `bus` with `trackKeys`, such as redisBus from @cachekit/pubsub',
    )
  }
  return {
    defaults: resolveDefaults(options),
    throwErrors: options.throwErrors ?? false,
    l1MaxTtlMs: parseOptionalDuration(options.l1MaxTtl),
    graceBackoffMs: parseDuration(options.graceBackoff ?? '5s'),
    codec: options.l2 ? codecOf(options) : undefined,
    l2TimeoutMs: parseDuration(options.l2Timeout ?? '1s'),
    breaker: {
      failureThreshold: positiveInteger('breaker.failureThreshold', options.breaker?.failureThreshold ?? 3),
      probeIntervalMs: parseDuration(options.breaker?.probeInterval ?? '500ms'),
    },
    maxOutageKeys: nonNegativeInteger('maxOutageKeys', options.maxOutageKeys ?? 100_000),
    trackDependencies,
    tracking,
    tagTrustMs:
      parseOptionalDuration(options.tagTimesMaxAge) ??
      (options.bus ? Number.POSITIVE_INFINITY : TAG_TRUST_WITHOUT_BUS_MS),
    tagCleanup:
      options.tagCleanup === false
        ? undefined
        : {
            batchSize: positiveInteger('tagCleanup.batchSize', options.tagCleanup?.batchSize ?? 500),
            pauseMs: parseDuration(options.tagCleanup?.pause ?? '10ms'),
          },
  }
}

function resolveDefaults(options: CacheOptions): ResolvedDefaults {
  checkTtl(options.ttl)
  const hardMs = parseOptionalDuration(options.timeouts?.hard)
  const refreshAhead = options.refreshAhead === false ? undefined : options.refreshAhead
  return {
    ttl: options.ttl ?? '1h',
    graceMs: parseGrace(options.grace),
    softMs: parseOptionalDuration(options.timeouts?.soft),
    hardMs,
    lock: checkLock(options.lock) ?? 'local',
    lockTtlMs: parseDuration(options.lockTtl ?? hardMs ?? '10s'),
    refreshAhead: checkRefreshAhead(refreshAhead),
  }
}

function codecOf(options: CacheOptions): Codec {
  const codec = options.codec ?? options.l2?.codec
  if (!codec) {
    throw new InvalidOptionError(
      '[cachekit/core] an L2 store needs a codec: pass `codec`, e.g. defaultCodec() from @cachekit/serializers',
    )
  }
  return codec
}

/** Grace in ms: `false` and no grace are 0. */
export function parseGrace(grace: GetOrSetOptions['grace']): number {
  return grace === undefined || grace === false ? 0 : parseDuration(grace)
}

/** @throws InvalidOptionError for a lock other than `local` or `distributed`. */
export function checkLock(lock: GetOrSetOptions['lock']): GetOrSetOptions['lock'] {
  if (lock === undefined || lock === 'local' || lock === 'distributed') return lock
  throw new InvalidOptionError(`[cachekit/core] lock must be 'local' or 'distributed', got ${String(lock)}`)
}

/** @throws InvalidOptionError for a refresh-ahead fraction outside (0, 1). */
export function checkRefreshAhead(fraction: number | undefined): number | undefined {
  if (fraction === undefined) return undefined
  if (!(fraction > 0 && fraction < 1)) {
    throw new InvalidOptionError(
      `[cachekit/core] refreshAhead must be a fraction between 0 and 1, got ${fraction}`,
    )
  }
  return fraction
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(`[cachekit/core] ${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(
      `[cachekit/core] ${name} must be a non-negative integer, got ${String(value)}`,
    )
  }
  return value
}
