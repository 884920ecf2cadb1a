import { InvalidOptionError } from '@cachekit/core'
import { invalidate } from './invalidate.js'
import {
  assertCache,
  checkTargets,
  describe,
  type InvalidatableCache,
  type InvalidateOptions,
  type InvalidationTargets,
  strategyOf,
} from './targets.js'

/**
 * What a mutation invalidates: fixed targets, or a function of the mutation's result and the
 * arguments it was called with (it may be async).
 *
 * @example
 * // Fixed:
 * const targets: MutationTargets = { tags: ['products'] }
 * // From the result and the arguments of `updateUser(id, patch)`:
 * const fromCall: MutationTargets<[id: string, patch: Patch], User> = (user, id) => ({
 *   keys: [`user:${id}`],
 *   tags: [`org:${user.orgId}`],
 * })
 */
export type MutationTargets<Args extends readonly unknown[] = never[], Result = never> =
  | InvalidationTargets
  | ((result: Result, ...args: Args) => InvalidationTargets | Promise<InvalidationTargets>)

/**
 * Wraps a mutation so that, once it has succeeded, what it changed is invalidated.
 *
 * The returned function takes the same arguments as `mutation` (and passes `this` through), runs it,
 * and only when it resolved runs `invalidate(cache, targets, options)`, then resolves with the
 * mutation's result. Its return is always a promise, even for a synchronous mutation.
 *
 * - If the mutation throws or rejects, nothing is invalidated and its error propagates unchanged
 *   (a synchronous throw becomes a rejection with the same error).
 * - If the invalidation fails, the returned promise rejects with that error, **although the mutation
 *   has already happened**: retrying the call would apply it twice, so retry the invalidation (or let
 *   TTLs catch up) instead. A cache reports its own failures (Redis down) as `error` events rather
 *   than throwing them unless it was created with `throwErrors`, so this is rare; a `targets`
 *   function that throws, or returns invalid targets, also ends here.
 *
 * Static targets, `options` and `cache` are checked now, so a mistake throws at the wrapping site
 * instead of after the first mutation.
 *
 * @param cache a `Cache`, or a `namespace`/`profile` view of one: targets are relative to it.
 * @param targets fixed targets, or `(result, ...args) => targets`.
 * @param mutation the function that changes the source of truth (a database write, an API call).
 * @param options `{ strategy }`, as for `invalidate`.
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an argument is not what it should be.
 *
 * @example
 * import { invalidates } from '@cachekit/invalidation'
 *
 * const updateUser = invalidates(
 *   cache,
 *   (user, id) => ({ keys: [`user:${id}`], tags: [`org:${user.orgId}`] }),
 *   async (id: string, patch: Partial<User>) => db.users.update(id, patch),
 * )
 * const user = await updateUser('42', { name: 'Ada' }) // then user:42 and org:<orgId> are invalidated
 *
 * const importProducts = invalidates(cache, { tags: ['products'] }, (file: string) => db.importProducts(file), {
 *   strategy: 'lazy',
 * })
 */
export function invalidates<This, Args extends unknown[], R>(
  cache: InvalidatableCache,
  targets: NoInfer<MutationTargets<Args, Awaited<R>>>,
  mutation: (this: This, ...args: Args) => R,
  options?: InvalidateOptions,
): (this: This, ...args: Args) => Promise<Awaited<R>> {
  assertCache(cache)
  if (typeof mutation !== 'function') {
    throw new InvalidOptionError(
      `[cachekit/invalidation] invalidates() needs the mutation function, got ${describe(mutation)}`,
    )
  }
  checkMutationTargets(targets)
  const strategy = strategyOf(options)
  return afterSuccess(() => cache, targets, mutation, { strategy }, mutation.name)
}

/** Throws `InvalidOptionError` unless `targets` are valid targets or a function. */
export function checkMutationTargets(targets: unknown): void {
  if (typeof targets !== 'function') checkTargets(targets)
}

/**
 * The function that runs `mutation` and, when it resolved, invalidates the targets in the cache
 * `cacheOf(this)` picks. Shared by `invalidates` and `@Invalidates`.
 */
export function afterSuccess<This, Args extends unknown[], R>(
  cacheOf: (self: This) => InvalidatableCache,
  targets: MutationTargets<Args, Awaited<R>>,
  mutation: (this: This, ...args: Args) => R,
  options: InvalidateOptions,
  name: string,
): (this: This, ...args: Args) => Promise<Awaited<R>> {
  const wrapped = async function (this: This, ...args: Args): Promise<Awaited<R>> {
    const result = await mutation.apply(this, args)
    const chosen = typeof targets === 'function' ? await targets(result, ...args) : targets
    await invalidate(cacheOf(this), chosen, options)
    return result
  }
  Object.defineProperty(wrapped, 'name', { value: name, configurable: true })
  return wrapped
}
