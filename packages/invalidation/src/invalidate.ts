import {
  assertCache,
  checkTargets,
  type InvalidatableCache,
  type InvalidateOptions,
  type InvalidationSummary,
  type InvalidationTargets,
  strategyOf,
} from './targets.js'

/**
 * Invalidates keys, tags and patterns of a cache (or of one of its namespaces) in one call.
 *
 * The three kinds run concurrently: `keys` through `cache.deleteMany`, `tags` through
 * `cache.invalidateTags(tags, { strategy })`, and each of `patterns` through `cache.deleteMatching`.
 * Everything is validated before anything is called, so bad input invalidates nothing; kinds left
 * out or empty cost no call at all.
 *
 * Strategies (see `InvalidateOptions.strategy`): `'lazy'` applies to tags only, keys and patterns are
 * still deleted; with `'ttl'` keys and patterns are left alone (counted 0) and tags are handed to the
 * cache only so that it counts and emits the invalidation.
 *
 * Like every cache call, failures of the cache's tiers are counted and emitted by the cache, not
 * thrown, unless the cache was created with `throwErrors`. When a call does reject, `invalidate`
 * waits for the other calls to settle, then rejects with the first failure (keys, then tags, then
 * patterns).
 *
 * @param cache a `Cache`, or a `namespace`/`profile` view of one: targets are relative to it.
 * @param targets what to invalidate.
 * @param options `{ strategy }`, `'immediate'` by default.
 * @returns how many keys were deleted, by `keys` and by `patterns`, and how many tags were invalidated.
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`, as a rejection) when targets or options are not
 *   what they should be, or `cache` is not a cache; also when the cache has no `tagIndex` and `tags`
 *   are given.
 *
 * @example
 * import { invalidate } from '@cachekit/invalidation'
 *
 * const summary = await invalidate(cache, {
 *   keys: [`user:${id}`],
 *   tags: [`org:${orgId}`],
 *   patterns: [`feed:${id}:*`],
 * })
 * // { keys: 1, patterns: 12, tags: 1 }
 *
 * // Serve the old product pages while one refresh runs, rather than stampeding the database:
 * await invalidate(cache, { tags: ['products'] }, { strategy: 'lazy' })
 */
export async function invalidate(
  cache: InvalidatableCache,
  targets: InvalidationTargets,
  options?: InvalidateOptions,
): Promise<InvalidationSummary> {
  const strategy = strategyOf(options)
  const { keys, tags, patterns } = checkTargets(targets)
  assertCache(cache)
  const deletes = strategy !== 'ttl'
  const [keysDeleted, tagsInvalidated, patternsDeleted] = await settleAll([
    deletes && keys.length > 0 ? attempt(() => cache.deleteMany(keys)) : 0,
    tags.length > 0 ? attempt(() => cache.invalidateTags(tags, { strategy })).then(() => tags.length) : 0,
    deletes && patterns.length > 0
      ? settleAll(patterns.map((pattern) => attempt(() => cache.deleteMatching(pattern)))).then(sum)
      : 0,
  ])
  return { keys: keysDeleted, patterns: patternsDeleted, tags: tagsInvalidated }
}

/** Calls `fn`, turning a synchronous throw into a rejection. */
async function attempt<T>(fn: () => Promise<T>): Promise<T> {
  return fn()
}

/**
 * Like `Promise.all`, but waits for every promise to settle before rejecting with the first failure
 * in order, so nothing of an invalidation is still running when its caller hears it failed.
 */
async function settleAll<T extends readonly unknown[]>(
  values: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(values)
  const results: unknown[] = []
  for (const outcome of settled) {
    if (outcome.status === 'rejected') throw outcome.reason
    results.push(outcome.value)
  }
  return results as { -readonly [K in keyof T]: Awaited<T[K]> }
}

function sum(counts: readonly number[]): number {
  let total = 0
  for (const count of counts) total += count
  return total
}
