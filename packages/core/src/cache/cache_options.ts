import type { Bus } from '../bus.js'
import type { Codec } from '../codec.js'
import type { Duration } from '../duration.js'
import type { CacheEntry } from '../entry.js'
import type { Store } from '../store.js'
import type { TagIndex } from '../tag_index.js'

/** Facts a TTL function may base its answer on. */
export interface TtlContext {
  /** The key as the caller gave it (without namespace prefix). */
  key: string
  /** The moment of the write; a TTL can follow the time of day (shorter at peak hours, say). */
  now: Date
}

/**
 * How long a value stays fresh: a duration, or a function of the value and the moment.
 * `Infinity` keeps it until it is deleted or evicted.
 */
export type Ttl<T = unknown> = Duration | ((value: T, context: TtlContext) => Duration)

/** Options of one write, and the defaults a cache or profile gives its writes. */
export interface WriteOptions<T = unknown> {
  /** Freshness of the value. Defaults to the profile's, then the cache's (`1h` if none). */
  ttl?: Ttl<T>
  /**
   * How long past its TTL the value is kept to be served stale by `getOrSet` when the factory fails,
   * is slow (`timeouts.soft`) or is already running elsewhere. `false` or 0: never served stale.
   */
  grace?: Duration | false
  /**
   * Tags of the value, or a function of the value giving them. `invalidateTags` of any of them
   * invalidates the entry, in every tier and every process. Writing the key again with other tags
   * replaces them. Tags belong to the namespace they are given in. Needs the cache's `tagIndex`.
   */
  tags?: readonly string[] | ((value: T) => readonly string[])
  /**
   * Keys (of the same namespace) this value was computed from. Writing or deleting any of them
   * invalidates this entry, and whatever depends on this entry in turn. Needs `trackDependencies`.
   */
  dependsOn?: readonly string[]
}

/**
 * How an invalidation takes effect:
 * - `immediate`: entries read as misses from now on (the default);
 * - `lazy`: entries turn stale: `getOrSet` serves them within their grace while one refresh runs,
 *   `get` and `has` see them as gone; entries without grace read as misses;
 * - `ttl`: nothing changes now, entries live out their TTL; counted and emitted only, for callers
 *   that pick a strategy per kind of data and chose to rely on TTLs for this one.
 */
export type InvalidationStrategy = 'immediate' | 'lazy' | 'ttl'

/** Options of `invalidateTags`. */
export interface InvalidateTagsOptions {
  /** Default `immediate`. */
  strategy?: InvalidationStrategy
}

/** How long a factory may take. */
export interface FactoryTimeoutOptions {
  /** With a stale value at hand: past this, return it and let the factory finish in the background. */
  soft?: Duration
  /** Past this, reject with `FactoryHardTimeoutError` (E_FACTORY_HARD_TIMEOUT); the factory still finishes. */
  hard?: Duration
}

/** Options of `getOrSet` (and the defaults a cache or profile gives them). */
export interface GetOrSetOptions<T = unknown> extends WriteOptions<T> {
  timeouts?: FactoryTimeoutOptions
  /**
   * `local` (default): one factory call per key at a time in this process. `distributed`: one in
   * the whole fleet, through a lock in L2 (needs a store with `lock`, such as `redisStore`).
   */
  lock?: 'local' | 'distributed'
  /**
   * Refresh-ahead: a hit on an entry older than this fraction of its TTL (e.g. 0.8) refreshes it
   * once in the background, so a hot key never expires under load. Off by default.
   */
  refreshAhead?: number | false
}

/** Options of `createCache`. */
export interface CacheOptions {
  /**
   * Prefix of every key this cache writes, followed by `:`. Keep it distinct per app sharing a Redis.
   * Defaults to `cachekit`. It is the developer's, so Redis Cluster hash tags in it (`{app}`) are kept.
   */
  prefix?: string
  /** The local tier: a store of decoded entries, e.g. `memoryStore({ maxEntries: 10_000 })`. */
  l1?: Store<CacheEntry>
  /** The remote tier: a store of bytes shared between processes, e.g. `redisStore({ client })`. */
  l2?: Store<Uint8Array>
  /** How values become bytes for L2. Defaults to the L2 store's own `codec`. */
  codec?: Codec
  /** Serves reads and writes while L2 is failing; usually a `memoryStore`. Without it, only L1 serves. */
  fallback?: Store<CacheEntry>
  /** Default freshness of values. Defaults to `'1h'`. */
  ttl?: Ttl
  /** Default grace (stale-if-error) of values. Defaults to none. */
  grace?: Duration | false
  /** After a factory failed and a stale value was served, wait this long before trying it again. Default `'5s'`. */
  graceBackoff?: Duration
  /** Default factory timeouts. Default: none. */
  timeouts?: FactoryTimeoutOptions
  /** Default lock of `getOrSet`. Default `'local'`. */
  lock?: 'local' | 'distributed'
  /** How long a distributed lock lives if its owner dies. Default: the hard timeout, else `'10s'`. */
  lockTtl?: Duration
  /** Default refresh-ahead fraction. Default: off. */
  refreshAhead?: number | false
  /**
   * Tells other instances about writes, so their L1 copies are dropped within one bus round trip
   * (`redisBus` from @cachekit/pubsub). Without it, an L1 copy may lag L2 for up to `l1MaxTtl`.
   */
  bus?: Bus
  /**
   * Also drop L1 copies when any other Redis client writes a key under this cache's prefix
   * (redis-cli, another app), through the bus's Redis client-side tracking (`trackKeys`).
   * Needs a bus that supports it, such as `redisBus` on a standalone or Sentinel Redis. Default false.
   */
  tracking?: boolean
  /** Longest time an entry lives in L1, so an L1 copy is re-read from L2 at least this often. */
  l1MaxTtl?: Duration
  /** How long one L2 call may take before it counts as a failure. Defaults to `'1s'`; `0` waits forever. */
  l2Timeout?: Duration
  /** The circuit breaker in front of L2. */
  breaker?: {
    /** Consecutive L2 failures that open it. Defaults to 3. */
    failureThreshold?: number
    /** How often an open breaker checks whether L2 is back. Defaults to `'500ms'`. */
    probeInterval?: Duration
  }
  /**
   * Keys written during an L2 outage are remembered so their old L2 copies can be deleted on
   * recovery; this bounds how many. Defaults to 100,000.
   */
  maxOutageKeys?: number
  /**
   * Where tag invalidation times live: `redisTagIndex({ client })` from @cachekit/redis for caches
   * shared between processes, `memoryTagIndex()` from @cachekit/memory for one process. Needed by
   * `tags`, `dependsOn` and `invalidateTags`. Each process keeps the times it read in memory and the
   * bus keeps them current; without a bus they are read again after `tagTimesMaxAge`.
   */
  tagIndex?: TagIndex
  /**
   * How long this process uses the tag invalidation times it read from the `tagIndex` before reading
   * them again: the longest an invalidation made by a process it does not hear from can go unseen
   * here. Defaults to `'1s'` without a `bus`; with a bus, which reports every invalidation and says
   * when it may have lost one, to no limit unless this is set.
   */
  tagTimesMaxAge?: Duration
  /**
   * Makes every write and delete of a key invalidate the entries that declared `dependsOn` it, which
   * costs one more call to the tag index per write. Default false (`dependsOn` is then refused).
   */
  trackDependencies?: boolean
  /**
   * Background removal of entries invalidated by tags (reads treat them as misses anyway; this gives
   * the memory back). Default `{ batchSize: 500, pause: '10ms' }`; `false` turns it off.
   */
  tagCleanup?: false | { batchSize?: number; pause?: Duration }
  /** Throw cache failures at the caller instead of only counting and emitting them. Defaults to false. */
  throwErrors?: boolean
}

/** An item of `setMany`. */
export interface SetManyItem<T = unknown> extends WriteOptions<T> {
  key: string
  value: T
}

/** Lets a factory adjust how its result is cached. */
export interface FactoryContext {
  /** The key as the caller gave it. */
  readonly key: string
  /** Overrides the TTL for this result, e.g. from a token's own expiry. */
  setTtl(ttl: Duration): void
  /** Returns the result to the caller without caching it (e.g. an empty or partial answer). */
  skip(): void
}

/** Produces a value on a miss. */
export type Factory<T> = (context: FactoryContext) => T | Promise<T>

/** Options of `wrap`. */
export interface WrapOptions<Args extends unknown[], R> extends GetOrSetOptions<R> {
  /** The cache key of a call. Defaults to the function's name and its JSON-encoded arguments. */
  key?: (...args: Args) => string
}
