import { InvalidOptionError } from '@cachekit/core'
import { afterSuccess, checkMutationTargets, type MutationTargets } from './invalidates.js'
import {
  describe,
  type InvalidatableCache,
  type InvalidateOptions,
  type InvalidationTargets,
  strategyOf,
} from './targets.js'

/**
 * Any targets function, whatever its parameters: the top type `@Invalidates` accepts before it sees
 * the method (it checks the function against the method afterwards).
 *
 * @example
 * const userTargets = (user: User, id: string) => ({ keys: [`user:${id}`] }) satisfies AnyTargetsFunction
 */
export type AnyTargetsFunction = (
  result: never,
  ...args: never[]
) => InvalidationTargets | Promise<InvalidationTargets>

/**
 * What `@Invalidates` returns, as a type error, when its targets function does not accept the
 * decorated method's result and arguments. It never exists at run time.
 *
 * @example
 * class Users {
 *   // error TS1270: Decorator function return type 'InvalidatesTargetsMismatch' is not assignable...
 *   @Invalidates((self: Users) => self.cache, (user: User, id: number) => ({ keys: [`user:${id}`] }))
 *   async rename(id: string, name: string): Promise<User> { ... }
 * }
 */
export interface InvalidatesTargetsMismatch {
  /** Read the property name. */
  readonly 'the targets function does not accept the result and the arguments of this method': never
}

/**
 * The decorator `@Invalidates(...)` returns: for an async method of `This`, a replacement method that
 * invalidates after the original succeeded.
 *
 * @example
 * const invalidatesUsers: InvalidatesDecorator<UserService, InvalidationTargets> = Invalidates(
 *   (self: UserService) => self.cache,
 *   { tags: ['users'] },
 * )
 */
export type InvalidatesDecorator<This, T> = <Args extends unknown[], R>(
  method: (this: This, ...args: Args) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
) => T extends MutationTargets<Args, R>
  ? (this: This, ...args: Args) => Promise<R>
  : InvalidatesTargetsMismatch

/**
 * A method decorator: after the decorated async method succeeded, invalidate what it changed.
 * The method then behaves like `invalidates(cacheOf(this), targets, method, options)`: nothing is
 * invalidated when it throws or rejects (its error propagates unchanged), and when the invalidation
 * fails the call rejects with that error although the method's work is done (see `invalidates`).
 *
 * A standard (TC39) decorator, for TypeScript 5+ **without** `experimentalDecorators`. It decorates
 * async methods (returning a promise), static or not, `#private` included; applied to anything else
 * it throws `InvalidOptionError`.
 *
 * Types: a decorator factory is called before TypeScript looks at the method, so annotate the
 * parameters of `cacheOf` and of a targets function. Once it sees the method, TypeScript checks that
 * the targets function accepts its result and its arguments, that `cacheOf` accepts the class, and
 * that the method is async.
 *
 * Tooling: the `@` syntax needs a compiler that implements standard decorators: `tsc` and esbuild
 * (tsup, tsx) do; Oxc, which Vite 8 and Vitest 4 use for TypeScript, only transforms legacy
 * decorators, so Vitest needs a plugin there (see this package's README).
 *
 * @param cacheOf picks the cache from the instance (`this`), e.g. `(self: UserService) => self.cache`;
 *   called after each successful call, so the cache may be set after construction.
 * @param targets fixed targets, or `(result, ...args) => targets`.
 * @param options `{ strategy }`, as for `invalidate`.
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an argument is not what it should be.
 *
 * @example
 * import { Invalidates } from '@cachekit/invalidation'
 *
 * class UserService {
 *   constructor(readonly cache: Cache, private readonly db: Db) {}
 *
 *   @Invalidates((self: UserService) => self.cache, (user: User, id: string) => ({
 *     keys: [`user:${id}`],
 *     tags: [`org:${user.orgId}`],
 *   }))
 *   async update(id: string, patch: Partial<User>): Promise<User> {
 *     return this.db.users.update(id, patch)
 *   }
 *
 *   @Invalidates((self: UserService) => self.cache, { tags: ['users'] }, { strategy: 'lazy' })
 *   async importAll(rows: User[]): Promise<void> {
 *     await this.db.users.insertMany(rows)
 *   }
 * }
 */
export function Invalidates<This, T extends InvalidationTargets | AnyTargetsFunction>(
  cacheOf: (self: This) => InvalidatableCache,
  targets: T,
  options?: InvalidateOptions,
): InvalidatesDecorator<This, T> {
  if (typeof cacheOf !== 'function') {
    throw new InvalidOptionError(
      `[cachekit/invalidation] @Invalidates needs a function picking the cache from the instance, such as (self) => self.cache; got ${describe(cacheOf)}`,
    )
  }
  checkMutationTargets(targets)
  const strategy = strategyOf(options)
  const decorator = <Args extends unknown[], R>(
    method: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ) => {
    if (typeof context !== 'object' || context === null) {
      throw new InvalidOptionError(
        '[cachekit/invalidation] @Invalidates is a standard (TC39) decorator, called here as a legacy one:' +
          ' turn experimentalDecorators off in tsconfig.json',
      )
    }
    if (context.kind !== 'method' || typeof method !== 'function') {
      throw new InvalidOptionError(
        `[cachekit/invalidation] @Invalidates decorates methods, not a ${String(context.kind)}`,
      )
    }
    return afterSuccess(
      cacheOf,
      targets as unknown as MutationTargets<Args, R>,
      method,
      { strategy },
      String(context.name),
    )
  }
  return decorator as InvalidatesDecorator<This, T>
}
