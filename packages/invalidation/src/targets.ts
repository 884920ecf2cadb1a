import { type InvalidationStrategy, InvalidOptionError } from '@cachekit/core'

/**
 * What to invalidate, all in the namespace of the cache view it is given to:
 *
 * - `keys`: exact keys, deleted from every tier. Taken literally: `*` or `?` in a key (a user id,
 *   say) is a plain character there and never widens the delete.
 * - `tags`: tags given to `set` or `getOrSet` (`{ tags }`); every entry carrying one is invalidated,
 *   in O(1) whatever their number.
 * - `patterns`: Redis globs (`user:*`, `report:2024-??`), each deleted with `deleteMatching` (SCAN and
 *   batched deletes, never KEYS). Only build patterns from your own strings: escape user input with
 *   `escapeGlob` from `@cachekit/core`, or pass it as a key instead.
 *
 * Every item is a non-empty string; a tag may not contain the NUL character (the core reserves it).
 * Repeated items are invalidated once. Properties other than these three are refused, so a typo
 * (`{ tag: [...] }`) fails loudly instead of invalidating nothing.
 *
 * @example
 * const targets: InvalidationTargets = { keys: [`user:${id}`], tags: ['users'], patterns: [`feed:${id}:*`] }
 */
export interface InvalidationTargets {
  /** Exact keys to delete. */
  keys?: readonly string[]
  /** Tags whose entries to invalidate (according to the strategy). */
  tags?: readonly string[]
  /** Redis glob patterns of keys to delete. */
  patterns?: readonly string[]
}

/**
 * Options of `invalidate`, `invalidates` and `@Invalidates`.
 *
 * @example
 * await invalidate(cache, { tags: ['products'] }, { strategy: 'lazy' })
 */
export interface InvalidateOptions {
  /**
   * How the invalidation takes effect (see `InvalidationStrategy` in `@cachekit/core`). Default
   * `'immediate'`.
   *
   * - `'immediate'`: keys and patterns are deleted, tagged entries read as misses from now on.
   * - `'lazy'`: tagged entries turn stale (`getOrSet` serves them within their grace while one refresh
   *   runs). Lazy applies to tags only: keys and patterns are still deleted, since a deleted entry has
   *   nothing left to serve stale, and a half-applied invalidation would be worse than a miss.
   * - `'ttl'`: nothing is deleted or invalidated; entries live out their TTL. Tags are still handed to
   *   the cache, which counts and emits the invalidation (`tags:invalidate`), so monitoring sees it.
   */
  strategy?: InvalidationStrategy
}

/**
 * What an invalidation did.
 *
 * @example
 * const { keys, patterns, tags } = await invalidate(cache, { keys: ['a', 'b'], tags: ['t'] })
 * // keys: 2 when both existed, patterns: 0, tags: 1
 */
export interface InvalidationSummary {
  /** Keys of `targets.keys` that existed and were deleted. 0 with `strategy: 'ttl'`. */
  keys: number
  /**
   * Keys deleted by `targets.patterns`, all patterns together. 0 with `strategy: 'ttl'`. A key that
   * is both listed in `keys` and matched by a pattern counts once, under whichever deleted it first.
   */
  patterns: number
  /** Distinct tags handed to the cache's `invalidateTags` (with `'ttl'`: counted and emitted only). */
  tags: number
}

/**
 * The part of a cache that invalidation uses. Every `Cache` of `@cachekit/core`, and every
 * `namespace` or `profile` view of one, satisfies it; targets are then relative to that view.
 *
 * @example
 * const tenant: InvalidatableCache = cache.namespace(tenantId)
 * await invalidate(tenant, { tags: ['products'] })
 */
export interface InvalidatableCache {
  /** Deletes keys from every tier; resolves with how many existed. */
  deleteMany(keys: readonly string[]): Promise<number>
  /** Deletes the keys matching a Redis glob (relative to the view's namespace); resolves with how many. */
  deleteMatching(pattern: string): Promise<number>
  /** Invalidates every entry carrying one of `tags`. */
  invalidateTags(tags: readonly string[], options?: InvalidateOptions): Promise<void>
}

/** Targets after validation: arrays without repeats, empty where absent. */
export interface CheckedTargets {
  keys: string[]
  tags: string[]
  patterns: string[]
}

const TARGET_KINDS = ['keys', 'tags', 'patterns'] as const
const STRATEGIES: readonly string[] = ['immediate', 'lazy', 'ttl']

/** Checks targets and removes repeats; throws `InvalidOptionError` on anything else. */
export function checkTargets(targets: unknown): CheckedTargets {
  if (typeof targets !== 'object' || targets === null || Array.isArray(targets)) {
    throw new InvalidOptionError(
      `[cachekit/invalidation] targets must be an object of { keys, tags, patterns }, got ${describe(targets)}`,
    )
  }
  for (const name of Object.keys(targets)) {
    if (!(TARGET_KINDS as readonly string[]).includes(name)) {
      throw new InvalidOptionError(
        `[cachekit/invalidation] unknown target "${name}": targets take keys, tags and patterns`,
      )
    }
  }
  const given = targets as Record<(typeof TARGET_KINDS)[number], unknown>
  return {
    keys: checkList('keys', given.keys),
    tags: checkList('tags', given.tags),
    patterns: checkList('patterns', given.patterns),
  }
}

function checkList(kind: (typeof TARGET_KINDS)[number], list: unknown): string[] {
  if (list === undefined) return []
  if (!Array.isArray(list)) {
    throw new InvalidOptionError(
      `[cachekit/invalidation] targets.${kind} must be an array of strings, got ${describe(list)}`,
    )
  }
  const items = new Set<string>()
  for (const item of list as unknown[]) {
    if (typeof item !== 'string' || item === '') {
      throw new InvalidOptionError(
        `[cachekit/invalidation] every item of targets.${kind} must be a non-empty string, got ${describe(item)}`,
      )
    }
    if (kind === 'tags' && item.includes('\u0000')) {
      throw new InvalidOptionError('[cachekit/invalidation] a tag may not contain the NUL character')
    }
    items.add(item)
  }
  return [...items]
}

/** The strategy of `options`, `'immediate'` by default; throws `InvalidOptionError` on anything else. */
export function strategyOf(options: unknown): InvalidationStrategy {
  if (options === undefined) return 'immediate'
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(
      `[cachekit/invalidation] options must be an object such as { strategy: 'lazy' }, got ${describe(options)}`,
    )
  }
  const strategy = (options as { strategy?: unknown }).strategy
  if (strategy === undefined) return 'immediate'
  if (typeof strategy !== 'string' || !STRATEGIES.includes(strategy)) {
    throw new InvalidOptionError(
      `[cachekit/invalidation] strategy must be 'immediate', 'lazy' or 'ttl', got ${describe(strategy)}`,
    )
  }
  return strategy as InvalidationStrategy
}

/** Throws `InvalidOptionError` unless `cache` has the methods invalidation calls. */
export function assertCache(cache: unknown): asserts cache is InvalidatableCache {
  const candidate = cache as Partial<Record<keyof InvalidatableCache, unknown>> | null | undefined
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.deleteMany !== 'function' ||
    typeof candidate.deleteMatching !== 'function' ||
    typeof candidate.invalidateTags !== 'function'
  ) {
    throw new InvalidOptionError(
      `[cachekit/invalidation] expected a cachekit Cache (or a namespace of one), got ${describe(cache)}`,
    )
  }
}

/** A short description of a value for error messages, never its whole content. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value)
  return typeof value
}
