import {
  type FactoryContext,
  type GetOrSetOptions,
  InvalidOptionError,
  type Ttl,
  type TtlContext,
} from '@cachekit/core'
import { CacheKeyError } from '../errors.js'
import { describe, integerOption } from '../options.js'
import { checkMethod, checkScopeOptions, type ScopeOptions, viewFor } from './method_cache.js'
import { type HashedKeyEntry, isEntryOf, MAX_KEY_LENGTH, storedKey } from './method_key.js'
import { argumentsKey } from './stable_key.js'

/**
 * When a call is cached. Both functions are optional; annotate their parameters, since a decorator's
 * options are typed before TypeScript sees the method.
 */
export interface CachedWhen {
  /** Before the call: `false` calls the method straight through, reading and writing nothing. */
  args?: (...args: never[]) => boolean
  /** After a miss: `false` returns the result without caching it (e.g. `(user) => user !== null`). */
  result?: (result: never, ...args: never[]) => boolean
}

/** Options of `@Cached`. */
export interface CachedOptions<This>
  extends ScopeOptions<This>,
    Omit<GetOrSetOptions, 'ttl' | 'tags' | 'dependsOn'> {
  /**
   * The cache key of a call: a string (then the call's arguments, encoded by `stableKey`, follow it:
   * `users.find:["42"]`), or a function of the arguments returning the whole key (`(id: string) =>
   * \`user:${id}\``), which `@CacheInvalidate({ keys })` can then name. Default: the class and method
   * names, then the arguments (`UserService.find:["42"]`); set it when your build renames classes.
   * Keys longer than `maxKeyLength` are hashed (see `HashedKeyEntry`).
   */
  key?: string | ((...args: never[]) => string)
  /** Freshness of a result, or a function of it; defaults to the cache's. */
  ttl?: Ttl<never>
  /** Tags of a result: fixed, or a function of the result and the arguments. */
  tags?: readonly string[] | ((result: never, ...args: never[]) => readonly string[])
  /** Conditional caching, by arguments or by result. */
  when?: CachedWhen
  /** Keys longer than this are hashed. Default 250; at least 64. */
  maxKeyLength?: number
}

/** The decorator `@Cached(...)` returns: for an async method of `This`, a caching replacement. */
export type CachedDecorator<This> = <Args extends unknown[], R>(
  method: (this: This, ...args: Args) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
) => (this: This, ...args: Args) => Promise<R>

/**
 * Caches an async method: calls with the same key (per tenant, see `scope`) share one cached result,
 * through `cache.getOrSet` (the call `cache.wrap` makes), so concurrent calls share one method call,
 * and `ttl`, `grace`, `timeouts`, `lock` and tags work as there. It calls `getOrSet` rather than
 * `wrap` because `when.result` needs the factory's `skip()`.
 *
 * A standard (TC39) decorator, for TypeScript 5+ without `experimentalDecorators`; async methods,
 * static or not, `#private` included. The arguments become part of the key (`stableKey`): an argument
 * that cannot (a function, a cycle) rejects the call with `CacheKeyError` before the method runs.
 *
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an option is not what it should be, or the
 *   decorator is applied to something other than a method.
 *
 * @example
 * class UserService {
 *   constructor(readonly cache: Cache, private readonly db: Db) {}
 *
 *   @Cached({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}`, ttl: '5m',
 *             tags: ['users'], when: { result: (user: User | null) => user !== null } })
 *   async find(id: string): Promise<User | null> {
 *     return this.db.users.find(id)
 *   }
 * }
 */
export function Cached<This>(options: CachedOptions<This>): CachedDecorator<This> {
  checkScopeOptions(options, '@Cached')
  const {
    cache: _cache,
    scope: _scope,
    context: _context,
    key,
    ttl,
    tags,
    when,
    maxKeyLength,
    ...rest
  } = options
  if (key !== undefined && typeof key !== 'function' && (typeof key !== 'string' || key === '')) {
    throw new InvalidOptionError(
      `[cachekit/patterns] @Cached key must be a non-empty string or a function, got ${describe(key)}`,
    )
  }
  if (tags !== undefined && typeof tags !== 'function' && !isTagList(tags)) {
    throw new InvalidOptionError(
      `[cachekit/patterns] @Cached tags must be an array of strings or a function, got ${describe(tags)}`,
    )
  }
  if (when !== undefined) {
    const ok =
      typeof when === 'object' &&
      when !== null &&
      (when.args === undefined || typeof when.args === 'function') &&
      (when.result === undefined || typeof when.result === 'function')
    if (!ok)
      throw new InvalidOptionError(
        `[cachekit/patterns] @Cached when is { args?, result? } of functions, got ${describe(when)}`,
      )
  }
  const maxLength = integerOption('maxKeyLength', maxKeyLength, MAX_KEY_LENGTH, 64, 1_000_000)
  const whenArgs = when?.args as ((...args: unknown[]) => boolean) | undefined
  const whenResult = when?.result as ((result: unknown, ...args: unknown[]) => boolean) | undefined
  const tagsOf = tags as
    | readonly string[]
    | ((result: unknown, ...args: unknown[]) => readonly string[])
    | undefined
  const ttlOf = ttl as Ttl<unknown> | undefined

  const decorator = <Args extends unknown[], R>(
    method: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ) => {
    checkMethod(method, context, '@Cached')
    const methodName = String(context.name)
    const keyOf = (self: This, args: Args): string => {
      if (typeof key === 'function') {
        const given = (key as (...args: unknown[]) => unknown)(...args)
        if (typeof given !== 'string' || given === '')
          throw new CacheKeyError('key(...args)', `returned ${describe(given)}, not a non-empty string`)
        return given
      }
      return `${key ?? `${classNameOf(self)}.${methodName}`}:${argumentsKey(args)}`
    }
    const replacement = function (this: This, ...args: Args): Promise<R> {
      try {
        if (whenArgs && !whenArgs(...args)) return method.apply(this, args)
        const view = viewFor(this, options, '@Cached')
        const fullKey = keyOf(this, args)
        const { key: cacheKey, hashed } = storedKey(fullKey, maxLength)
        const unwrap = (value: unknown): R => (hashed ? (value as HashedKeyEntry<R>).value : (value as R))
        const callOptions: GetOrSetOptions<unknown> = { ...rest }
        if (ttlOf !== undefined) {
          callOptions.ttl =
            typeof ttlOf === 'function' ? (value: unknown, at: TtlContext) => ttlOf(unwrap(value), at) : ttlOf
        }
        if (tagsOf !== undefined) {
          callOptions.tags =
            typeof tagsOf === 'function' ? (value: unknown) => tagsOf(unwrap(value), ...args) : tagsOf
        }
        const factory = async (factoryContext: FactoryContext): Promise<unknown> => {
          const result = await method.apply(this, args)
          if (whenResult && !whenResult(result, ...args)) factoryContext.skip()
          return hashed ? ({ cachekitKey: fullKey, value: result } satisfies HashedKeyEntry<R>) : result
        }
        return view.getOrSet(cacheKey, factory, callOptions).then((value) => {
          if (!hashed) return value as R
          // Another key's entry under this hash cannot happen by chance (SHA-256); it can by a write
          // of some other code under the same key, and then the method answers, uncached.
          return isEntryOf(value, fullKey) ? unwrap(value) : method.apply(this, args)
        })
      } catch (error) {
        return Promise.reject(error)
      }
    }
    Object.defineProperty(replacement, 'name', { value: methodName, configurable: true })
    return replacement
  }
  return decorator
}

function classNameOf(self: unknown): string {
  if (typeof self === 'function') return self.name || 'anonymous'
  const name = (self as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof name === 'string' && name !== '' ? name : 'anonymous'
}

function isTagList(tags: unknown): boolean {
  return Array.isArray(tags) && tags.every((tag) => typeof tag === 'string' && tag !== '')
}
