import { type Cache, InvalidOptionError } from '@cachekit/core'
import { describe } from '../options.js'
import { type CacheContextValue, type CacheScope, cacheContext, scopedCache } from './cache_context.js'

/** How a decorator finds its cache: the cache itself, or a function of the instance (`this`). */
export type CacheSource<This> = Cache | ((self: This) => Cache)

/** Options both decorators take to pick the cache view of a call. */
export interface ScopeOptions<This> {
  /**
   * The cache: a `Cache` (a module's own), or a function picking it from the instance, e.g.
   * `(self: UserService) => self.cache` (for static methods `self` is the class). The function is
   * called on every call, so the cache may be set after construction.
   */
  cache: CacheSource<This>
  /** How entries are scoped by the call's context (see `CacheScope`). Default `'tenant'`. */
  scope?: CacheScope
  /**
   * Where the call's tenant and user come from, instead of `cacheContext` (AsyncLocalStorage):
   * a function of the instance, e.g. `(self: Repo) => ({ tenantId: self.tenantId })`.
   */
  context?: (self: This) => CacheContextValue | undefined
}

/** Checks the options both decorators share, once, at decoration time. */
export function checkScopeOptions(options: unknown, decorator: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${decorator} needs options such as { cache }, got ${describe(options)}`,
    )
  }
  const { cache, scope, context } = options as Record<string, unknown>
  if (typeof cache !== 'function' && !isCache(cache)) {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${decorator} needs \`cache\`: a Cache, or a function picking it from the instance such as (self) => self.cache; got ${describe(cache)}`,
    )
  }
  if (scope !== undefined && scope !== 'global' && scope !== 'tenant' && scope !== 'user') {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${decorator} scope must be 'global', 'tenant' or 'user', got ${describe(scope)}`,
    )
  }
  if (context !== undefined && typeof context !== 'function') {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${decorator} context must be a function, got ${describe(context)}`,
    )
  }
}

/** The cache view a call of a decorated method uses: its cache, scoped by its context. */
export function viewFor<This>(self: This, options: ScopeOptions<This>, decorator: string): Cache {
  const cache = typeof options.cache === 'function' ? options.cache(self) : options.cache
  if (!isCache(cache)) {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${decorator}: the cache function returned ${describe(cache)}, not a Cache`,
    )
  }
  const context = options.context ? options.context(self) : cacheContext.get()
  return scopedCache(cache, options.scope ?? 'tenant', context)
}

/** Throws unless the decorator is applied, as a standard decorator, to a method. */
export function checkMethod(method: unknown, context: unknown, decorator: string): void {
  if (typeof context !== 'object' || context === null) {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${decorator} is a standard (TC39) decorator, called here as a legacy one: turn experimentalDecorators off in tsconfig.json`,
    )
  }
  const kind = (context as { kind?: unknown }).kind
  if (kind !== 'method' || typeof method !== 'function') {
    throw new InvalidOptionError(`[cachekit/patterns] ${decorator} decorates methods, not a ${String(kind)}`)
  }
}

function isCache(cache: unknown): cache is Cache {
  return (
    typeof cache === 'object' &&
    cache !== null &&
    typeof (cache as Cache).getOrSet === 'function' &&
    typeof (cache as Cache).namespace === 'function'
  )
}
