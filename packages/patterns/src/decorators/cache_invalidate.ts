import { type InvalidationStrategy, InvalidOptionError } from '@cachekit/core'
import { Invalidates, type InvalidationTargets } from '@cachekit/invalidation'
import { describe } from '../options.js'
import { checkMethod, checkScopeOptions, type ScopeOptions, viewFor } from './method_cache.js'
import { MAX_KEY_LENGTH, storedKey } from './method_key.js'

/** Targets of `@CacheInvalidate`: fixed, or a function of the method's result and arguments. */
export type CacheInvalidateTargets =
  | readonly string[]
  | ((result: never, ...args: never[]) => readonly string[])

/** Options of `@CacheInvalidate`: at least one of `keys`, `tags` and `patterns`. */
export interface CacheInvalidateOptions<This> extends ScopeOptions<This> {
  /**
   * Exact keys to delete, as `@Cached({ key })` made them (a key longer than `maxKeyLength` is
   * hashed the same way, so it names the same entry).
   */
  keys?: CacheInvalidateTargets
  /** Tags whose entries to invalidate. */
  tags?: CacheInvalidateTargets
  /** Redis globs of keys to delete (hashed long keys do not match them; use tags). */
  patterns?: CacheInvalidateTargets
  /** How the invalidation takes effect (`immediate`, `lazy`, `ttl`). Default `'immediate'`. */
  strategy?: InvalidationStrategy
  /** Must match the `maxKeyLength` of the `@Cached` methods whose keys are named. Default 250. */
  maxKeyLength?: number
}

/** The decorator `@CacheInvalidate(...)` returns: for an async method, a replacement that invalidates after it. */
export type CacheInvalidateDecorator<This> = <Args extends unknown[], R>(
  method: (this: This, ...args: Args) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
) => (this: This, ...args: Args) => Promise<R>

/**
 * After the decorated async method succeeded, invalidates `keys`, `tags` and `patterns` in the cache
 * view of the call: the same tenant (and user) scope as `@Cached`, from the same context, so a
 * tenant's write drops that tenant's entries only. Built on `@Invalidates` of
 * `@cachekit/invalidation`, and behaves like it: nothing is invalidated when the method throws (its
 * error reaches the caller unchanged); when the invalidation fails the call rejects with that error
 * although the method's work is done.
 *
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an option is not what it should be.
 *
 * @example
 * class UserService {
 *   @CacheInvalidate({ cache: (self: UserService) => self.cache, keys: (_: User, id: string) => [`user:${id}`], tags: ['users'] })
 *   async rename(id: string, name: string): Promise<User> {
 *     return this.db.users.update(id, { name })
 *   }
 * }
 */
export function CacheInvalidate<This>(options: CacheInvalidateOptions<This>): CacheInvalidateDecorator<This> {
  checkScopeOptions(options, '@CacheInvalidate')
  const { keys, tags, patterns, strategy, maxKeyLength } = options
  if (keys === undefined && tags === undefined && patterns === undefined) {
    throw new InvalidOptionError('[cachekit/patterns] @CacheInvalidate needs keys, tags or patterns')
  }
  for (const [name, given] of [
    ['keys', keys],
    ['tags', tags],
    ['patterns', patterns],
  ] as const) {
    const ok =
      given === undefined ||
      typeof given === 'function' ||
      (Array.isArray(given) && given.every((item) => typeof item === 'string'))
    if (!ok)
      throw new InvalidOptionError(
        `[cachekit/patterns] @CacheInvalidate ${name} must be an array of strings or a function, got ${describe(given)}`,
      )
  }
  const maxLength = maxKeyLength ?? MAX_KEY_LENGTH
  const targets = (result: never, ...args: never[]): InvalidationTargets => {
    const chosen: { keys?: readonly string[]; tags?: readonly string[]; patterns?: readonly string[] } = {}
    const pick = (given: CacheInvalidateTargets | undefined) =>
      typeof given === 'function' ? given(result, ...args) : given
    const pickedKeys = pick(keys)
    if (pickedKeys !== undefined)
      chosen.keys = pickedKeys.map((key) => (typeof key === 'string' ? storedKey(key, maxLength).key : key))
    const pickedTags = pick(tags)
    if (pickedTags !== undefined) chosen.tags = pickedTags
    const pickedPatterns = pick(patterns)
    if (pickedPatterns !== undefined) chosen.patterns = pickedPatterns
    return chosen
  }
  const invalidates = Invalidates(
    (self: This) => viewFor(self, options, '@CacheInvalidate'),
    targets,
    strategy === undefined ? undefined : { strategy },
  )
  const decorator = <Args extends unknown[], R>(
    method: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ) => {
    checkMethod(method, context, '@CacheInvalidate')
    return invalidates(method, context) as (this: This, ...args: Args) => Promise<R>
  }
  return decorator
}
