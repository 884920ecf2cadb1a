import { type Cache, InvalidOptionError, type Ttl, type WriteOptions } from '@cachekit/core'
import { assertCache, describe } from './options.js'

/** A value computed from a successful write: its result and the arguments it was called with. */
export type FromWrite<Args extends unknown[], R, V> = V | ((result: R, ...args: Args) => V)

/** Options of `writeThrough`. */
export interface WriteThroughOptions<Args extends unknown[], R> {
  /** Writes the source of truth (a database row, an API) and resolves with the value to cache. */
  write: (...args: Args) => R | Promise<R>
  /**
   * The cache key of the value: fixed, or from the write's result and arguments (the result, so an
   * id the database assigned on insert can be part of it).
   */
  key: FromWrite<Args, R, string>
  /** Tags of the cached value, fixed or from the result and arguments. */
  tags?: FromWrite<Args, R, readonly string[]>
  /** Freshness of the cached value; defaults to the cache's. */
  ttl?: Ttl<R>
}

/**
 * Wraps a write to the source of truth so the cache follows it: the returned function runs `write`
 * first and, only once it resolved, caches its result under `key` with `tags` and `ttl` (`cache.set`:
 * every tier, and other instances drop their L1 copy over the bus), then resolves with that result.
 *
 * - When `write` throws or rejects, the cache is not touched and the error reaches the caller unchanged.
 * - When caching fails (Redis down), the write still counts: the cache reports the failure as an
 *   `error` event and does not throw it (unless created with `throwErrors`), and the caller gets the result.
 * - Writes of one key from one process land in the cache in the order their `write` resolved. Two
 *   processes writing one key at once may leave the cache with either result; bound that with `ttl`.
 *
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`), at wrapping time, when an option is not what it should be;
 *   when called, if `key` or `tags` returns something other than a non-empty string or a string array
 *   (the source was written, the cache is then left alone).
 *
 * @example
 * const saveUser = writeThrough(cache, {
 *   write: (user: User) => db.users.upsert(user),
 *   key: (saved) => `user:${saved.id}`,
 *   tags: (saved) => [`org:${saved.orgId}`],
 *   ttl: '10m',
 * })
 * const saved = await saveUser({ id: '42', orgId: '7', name: 'Ada' })
 */
export function writeThrough<Args extends unknown[], R>(
  cache: Cache,
  options: WriteThroughOptions<Args, R>,
): (...args: Args) => Promise<Awaited<R>> {
  assertCache(cache, 'writeThrough', ['set'])
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(
      `[cachekit/patterns] writeThrough needs { write, key }, got ${describe(options)}`,
    )
  }
  const { write, key, tags, ttl } = options
  if (typeof write !== 'function') {
    throw new InvalidOptionError(
      `[cachekit/patterns] writeThrough needs a write function, got ${describe(write)}`,
    )
  }
  if (typeof key !== 'function') checkKey(key)
  if (tags !== undefined && typeof tags !== 'function') checkTags(tags)
  return async (...args: Args): Promise<Awaited<R>> => {
    const result = await write(...args)
    const cacheKey = checkKey(typeof key === 'function' ? key(result as R, ...args) : key)
    const cacheTags =
      tags === undefined
        ? undefined
        : checkTags(typeof tags === 'function' ? tags(result as R, ...args) : tags)
    // Only what was given: an explicit `undefined` would hide a profile's defaults.
    const writeOptions: WriteOptions<Awaited<R>> = {}
    if (cacheTags !== undefined) writeOptions.tags = cacheTags
    if (ttl !== undefined) writeOptions.ttl = ttl as Ttl<Awaited<R>>
    await cache.set(cacheKey, result, writeOptions)
    return result
  }
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidOptionError(
      `[cachekit/patterns] writeThrough key must be a non-empty string, got ${describe(key)}`,
    )
  }
  return key
}

function checkTags(tags: unknown): readonly string[] {
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || tag === '')) {
    throw new InvalidOptionError(
      `[cachekit/patterns] writeThrough tags must be an array of non-empty strings, got ${describe(tags)}`,
    )
  }
  return tags
}
