import type { Duration, Ttl } from '@cachekit/core'

/**
 * One value to warm, with the options of its write (as `cache.setMany` takes them). A loader may
 * also yield a `[key, value]` pair, cached with the cache's defaults.
 */
export interface WarmItem<T = unknown> {
  /** The cache key, relative to the cache (or namespace) given to `warm`. */
  key: string
  /** The value; `undefined` is refused (a read of it would be a miss). */
  value: T
  /** Freshness; defaults to the cache's. */
  ttl?: Ttl<T>
  /** Tags of the value (needs the cache's `tagIndex`). */
  tags?: readonly string[]
  /** Grace of the value; defaults to the cache's. */
  grace?: Duration | false
}

/** What a loader yields: an item, or a `[key, value]` pair. */
export type WarmEntry<T = unknown> = WarmItem<T> | readonly [key: string, value: T]

/** A sequence of entries: an array, a generator, an async generator, a stream in object mode. */
export type WarmIterable<T = unknown> = Iterable<WarmEntry<T>> | AsyncIterable<WarmEntry<T>>

/**
 * Where warming reads its entries: an iterable, or a function returning one (or a promise of one),
 * called when warming reaches it, once per run. `scheduleWarming` needs functions or arrays, since a
 * generator can be read only once.
 */
export type WarmLoader<T = unknown> = WarmIterable<T> | (() => WarmIterable<T> | Promise<WarmIterable<T>>)

/** How far warming got; every progress event and the final report carry it. */
export interface WarmProgress {
  /** Entries written to the cache so far. */
  done: number
  /** Entries that were not written: refused (not an item, `undefined` value) or in a failed batch. */
  failed: number
  /**
   * Entries expected in all: the sum of the arrays' lengths when every loader is an array, or the
   * `total` option; `undefined` when unknown.
   */
  total: number | undefined
  /** Entries written per second since warming started. */
  rate: number
  /** Time since warming started, ms. */
  elapsedMs: number
}

/** A failure met while warming: a loader that threw, a refused entry, a batch the cache refused. */
export interface WarmFailure {
  /** Index of the loader in the list given to `warm`. */
  loader: number
  /** The entry's key, when the failure concerns one entry. */
  key?: string
  /** What went wrong. */
  error: unknown
}

/** What `warm` resolves with. */
export interface WarmReport extends WarmProgress {
  /** True when the signal aborted warming before every loader was read to its end. */
  aborted: boolean
  /** Loaders that threw (their remaining entries were not read). */
  failedLoaders: number
  /** The first failures, at most 100 (`failed` and `failedLoaders` count them all). */
  errors: WarmFailure[]
}

/** Options of `warm`. */
export interface WarmOptions {
  /** Batches written at once (and loaders read at once, when there are several). Default 8; 1 to 256. */
  concurrency?: number
  /** Entries per `cache.setMany` (one L2 round trip each). Default 100; 1 to 10,000. */
  batchSize?: number
  /** Called after each batch with the progress so far; its errors are ignored. */
  onProgress?: (progress: WarmProgress) => void
  /**
   * Stops warming: no loader is read and no batch is started after it aborts; batches already sent
   * finish. `warm` then resolves with `aborted: true` (it does not reject).
   */
  signal?: AbortSignal
  /** The number of entries expected, for `progress.total`, when the loaders are not arrays. */
  total?: number
}
