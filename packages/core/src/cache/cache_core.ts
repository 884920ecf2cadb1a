import { parseDuration, parseOptionalDuration } from '../duration.js'
import type { CacheEntry } from '../entry.js'
import { InvalidOptionError } from '../errors.js'
import type { Store } from '../store.js'
import { CacheEvents } from './cache_events.js'
import type { CacheOptions, Ttl, WriteOptions } from './cache_options.js'
import { StatsCounters } from './cache_stats.js'
import { RemoteTier } from './remote_tier.js'
import { SingleFlight } from './single_flight.js'

/** What every view of one cache (its namespaces and profiles) shares. */
export class CacheCore {
  readonly l1: Store<CacheEntry> | undefined
  readonly remote: RemoteTier | undefined
  readonly l1MaxTtlMs: number | undefined
  readonly defaultTtl: Ttl
  readonly throwErrors: boolean
  readonly events = new CacheEvents()
  readonly stats = new StatsCounters()
  readonly flights = new SingleFlight()
  readonly profiles = new Map<string, WriteOptions>()
  closed = false

  constructor(options: CacheOptions, probeKey: string) {
    this.l1 = options.l1
    this.l1MaxTtlMs = parseOptionalDuration(options.l1MaxTtl)
    this.defaultTtl = options.ttl ?? '1h'
    this.throwErrors = options.throwErrors ?? false
    if (options.l2) {
      const codec = options.codec ?? options.l2.codec
      if (!codec) {
        throw new InvalidOptionError(
          '[cachekit/core] an L2 store needs a codec: pass `codec`, e.g. defaultCodec() from @cachekit/serializers',
        )
      }
      const failureThreshold = options.breaker?.failureThreshold ?? 3
      if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
        throw new InvalidOptionError('[cachekit/core] breaker.failureThreshold must be a positive integer')
      }
      this.remote = new RemoteTier({
        store: options.l2,
        codec,
        fallback: options.fallback,
        timeoutMs: parseDuration(options.l2Timeout ?? '1s'),
        failureThreshold,
        probeIntervalMs: parseDuration(options.breaker?.probeInterval ?? '500ms'),
        probeKey,
        maxOutageKeys: options.maxOutageKeys ?? 100_000,
        throwErrors: this.throwErrors,
        events: this.events,
        stats: this.stats,
      })
    } else if (!options.l1) {
      throw new InvalidOptionError('[cachekit/core] a cache needs at least one tier: pass `l1`, `l2` or both')
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([this.l1?.close(), this.remote?.close()])
  }
}
