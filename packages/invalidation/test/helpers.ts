import { type Cache, type CacheOptions, createCache } from '@cachekit/core'
import { memoryStore, memoryTagIndex } from '@cachekit/memory'
import type { InvalidatableCache } from '../src/index.js'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. Every wait here is bounded. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Caches made by a test file, closed after each test. */
export function caches() {
  const open: Cache[] = []
  return {
    /** A one-process cache with the real memory store and tag index. */
    local(options: CacheOptions = {}): Cache {
      const cache = createCache({
        prefix: 'inv',
        l1: memoryStore({ maxEntries: 1_000 }),
        tagIndex: memoryTagIndex(),
        ttl: '1m',
        ...options,
      })
      open.push(cache)
      return cache
    },
    track(cache: Cache): Cache {
      open.push(cache)
      return cache
    },
    async closeAll() {
      for (const cache of open.splice(0).reverse()) await cache.close().catch(() => undefined)
    },
  }
}

/** One call the cache received through `recording`. */
export type Call = [method: keyof InvalidatableCache, ...args: unknown[]]

/**
 * A real cache view that also notes which of its invalidation methods were called (and with what),
 * then lets the cache do the work.
 */
export function recording(cache: Cache): { cache: InvalidatableCache; calls: Call[] } {
  const calls: Call[] = []
  return {
    calls,
    cache: {
      deleteMany(keys) {
        calls.push(['deleteMany', [...keys]])
        return cache.deleteMany(keys)
      },
      deleteMatching(pattern) {
        calls.push(['deleteMatching', pattern])
        return cache.deleteMatching(pattern)
      },
      invalidateTags(tags, options) {
        calls.push(['invalidateTags', [...tags], options])
        return cache.invalidateTags(tags, options)
      },
    },
  }
}
