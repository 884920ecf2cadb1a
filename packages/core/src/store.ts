import type { Codec } from './codec.js'

/**
 * The Store contract: the storage behind one tier. Kept to a handful of methods so a new backend is
 * a small amount of code; every implementation must pass the suite in `@cachekit/core/testing`.
 *
 * A local store (memory) holds decoded entries, so an L1 hit costs no decode. A remote store
 * (Redis) holds bytes; the cache frames and encodes entries before they reach it.
 *
 * A remote store rejects with `StoreRefusedError` (`E_STORE_REFUSED`) when its server answered but
 * declined (out of memory, read-only, a script error), and with anything else when the server could
 * not be reached or did not answer. The cache opens its circuit breaker only for the latter.
 */
export interface Store<V = Uint8Array> {
  /** A short name used in errors, events and metrics, e.g. `memory` or `redis`. */
  readonly name: string
  /** `local` stores live in this process; `remote` ones are shared between processes. */
  readonly kind: 'local' | 'remote'

  /** The value under `key`, or `undefined` when missing or expired. */
  get(key: string): Promise<V | undefined>
  /** Values for several keys, in the order asked, `undefined` where missing. */
  getMany(keys: readonly string[]): Promise<Array<V | undefined>>
  /** Stores a value; `ttlMs` (a positive integer) bounds its life, `undefined` keeps it until evicted or deleted. */
  set(key: string, value: V, ttlMs?: number): Promise<void>
  /** Stores several values, each with its own TTL. */
  setMany(writes: readonly StoreWrite<V>[]): Promise<void>
  /** Deletes keys; resolves with how many of them existed. */
  delete(keys: readonly string[]): Promise<number>
  /** Deletes every key starting with `prefix` (all keys of this store when omitted); resolves with the count. */
  clear(prefix?: string): Promise<number>
  /**
   * Yields every key matching a Redis-style glob (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes) once.
   * Keys written during the scan may or may not be seen. Use `escapeGlob` for literal parts.
   */
  scan(pattern: string): AsyncIterable<string>
  /** Releases what the store owns. Later calls reject with `StoreClosedError`. */
  close(): Promise<void>

  /**
   * Optional, remote stores: the codec the store suggests when the cache is given none, so
   * `redisStore(...)` can bring a sensible default without core depending on a serializer.
   */
  readonly codec?: Codec

  /**
   * Optional, remote stores: a lock every process sees, for distributed single flight
   * (`getOrSet(..., { lock: 'distributed' })`).
   */
  readonly lock?: DistributedLock

  /**
   * Optional: the value under `key` without a promise. Local stores offer it so an L1 hit costs no
   * microtask; callers fall back to `get` when it is absent.
   */
  getSync?(key: string): V | undefined

  /**
   * Optional, remote stores: why the store cannot reach its server right now (a refused connection,
   * a host that does not resolve, failed authentication), or `undefined` while it is connected. The
   * cache attaches it to its own timeouts, so the error says what happened and not only that nothing
   * answered. Must not carry secrets (passwords).
   */
  connectionError?(): Error | undefined

  /**
   * Optional, local stores: the live entries whose key starts with `prefix` (all of them when it is
   * empty), most recently used first, without counting them as reads or changing their recency, so
   * listing a store does not reorder what it evicts next. Used by `cache.l1Entries()` (snapshots).
   */
  entries?(prefix: string): Iterable<readonly [key: string, value: V]>
}

/** One write of `Store.setMany`. */
export interface StoreWrite<V = Uint8Array> {
  key: string
  value: V
  ttlMs?: number | undefined
}

/**
 * A lock shared by every process of an app, with an owner token so only the owner releases it and a
 * TTL so a crashed owner's lock frees itself.
 */
export interface DistributedLock {
  /** Takes the lock for `ttlMs`; resolves with the owner token, or `undefined` when someone holds it. */
  acquire(key: string, ttlMs: number): Promise<string | undefined>
  /** Releases the lock if `token` still owns it; resolves with whether it did. */
  release(key: string, token: string): Promise<boolean>
}
