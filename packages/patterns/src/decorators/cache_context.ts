import { AsyncLocalStorage } from 'node:async_hooks'
import { type Cache, InvalidOptionError } from '@cachekit/core'
import { describe } from '../options.js'

/** Who a call is made for; decorated methods cache per tenant (and per user, with `scope: 'user'`). */
export interface CacheContextValue {
  /** The tenant: entries of one tenant are never served to another. */
  readonly tenantId?: string
  /** The user, for `scope: 'user'` methods (permissions, a feed). */
  readonly userId?: string
}

/**
 * How a decorated method's entries are scoped:
 * - `'tenant'` (the default): per tenant when the context names one, else shared;
 * - `'user'`: per tenant and user; a call without a `userId` in its context throws, rather than
 *   share one user's data with others;
 * - `'global'`: one entry for everybody, whatever the context.
 */
export type CacheScope = 'global' | 'tenant' | 'user'

const storage = new AsyncLocalStorage<CacheContextValue>()

/**
 * The tenant and user of the current call, carried through `await`s by AsyncLocalStorage, so one
 * decorated method serves many tenants, each with its own entries. Set it once per request (in a
 * middleware); `@Cached` and `@CacheInvalidate` read it, unless given their own `context` function.
 *
 * @example
 * app.use((req, _res, next) => cacheContext.run({ tenantId: req.tenant.id, userId: req.user?.id }, next))
 */
export const cacheContext = {
  /** Runs `fn` (and everything it awaits) with `context` as the current one. */
  run<R>(context: CacheContextValue, fn: () => R): R {
    checkContext(context)
    return storage.run(context, fn)
  },
  /** The current context, or `undefined` outside `run`. */
  get(): CacheContextValue | undefined {
    return storage.getStore()
  },
}

function checkContext(context: unknown): asserts context is CacheContextValue {
  const { tenantId, userId } = (context ?? {}) as Record<string, unknown>
  const ok =
    typeof context === 'object' &&
    context !== null &&
    (tenantId === undefined || (typeof tenantId === 'string' && tenantId !== '')) &&
    (userId === undefined || (typeof userId === 'string' && userId !== ''))
  if (!ok) {
    throw new InvalidOptionError(
      `[cachekit/patterns] a cache context is { tenantId?, userId? } with non-empty strings, got ${describe(context)}`,
    )
  }
}

/** Most scoped views kept per cache before they are built again. */
const MAX_VIEWS = 10_000
const views = new WeakMap<Cache, Map<string, Cache>>()

/**
 * The view of `cache` for a context: `namespace('tenant').namespace(tenantId)`, then
 * `.namespace('user').namespace(userId)` for user scope. Namespace names are escaped by the core,
 * and its patterns escape them too, so an id holding `*` or `:` can neither reach nor widen into
 * another tenant's keys. Views are kept (a bounded map per cache), so a call builds none.
 */
export function scopedCache(cache: Cache, scope: CacheScope, context: CacheContextValue | undefined): Cache {
  if (scope === 'global') return cache
  if (context !== undefined) checkContext(context)
  const tenantId = context?.tenantId
  const userId = context?.userId
  if (scope === 'user' && userId === undefined) {
    throw new InvalidOptionError(
      "[cachekit/patterns] a method cached with scope: 'user' was called without a userId in its cache context (cacheContext.run({ tenantId, userId }, fn))",
    )
  }
  if (tenantId === undefined && (scope === 'tenant' || userId === undefined)) return cache
  const id = JSON.stringify([tenantId ?? null, scope === 'user' ? userId : null])
  let known = views.get(cache)
  if (!known) {
    known = new Map()
    views.set(cache, known)
  }
  let view = known.get(id)
  if (!view) {
    view = tenantId === undefined ? cache : cache.namespace('tenant').namespace(tenantId)
    if (scope === 'user') view = view.namespace('user').namespace(userId!)
    if (known.size >= MAX_VIEWS) known.clear()
    known.set(id, view)
  }
  return view
}
