import { type Cache, type CacheEntry, type CacheOptions, createCache } from '@cachekit/core'
import { memoryStore, memoryTagIndex } from '@cachekit/memory'
import { afterEach } from 'vitest'

const open: Cache[] = []
afterEach(async () => {
  for (const cache of open.splice(0)) await cache.close().catch(() => undefined)
})

/** A one-process cache on the real memory store and tag index, closed after the test. */
export function localCache(options: CacheOptions = {}): Cache {
  const cache = createCache({
    prefix: 'local',
    l1: memoryStore<CacheEntry>({ maxEntries: 200_000 }),
    tagIndex: memoryTagIndex(),
    ttl: '1m',
    ...options,
  })
  open.push(cache)
  return cache
}
