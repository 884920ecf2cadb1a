import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { inject } from 'vitest'

export type Topology = 'standalone' | 'cluster'

let caches = 0
/**
 * A cache on the harness' Redis as an app would make one for Keyv (L1 + L2), under a prefix of its
 * own so test files sharing the server never meet. No default TTL: Keyv's entries without one are
 * kept, as Keyv expects.
 */
export function cacheOn(topology: Topology, options: { l1?: boolean; prefix?: string } = {}) {
  const provided = inject('redis')
  const client =
    topology === 'standalone'
      ? createRedis(requireTopology(provided, 'standalone').url)
      : createRedis({ cluster: requireTopology(provided, 'cluster').startupNodes })
  return createCache({
    prefix: options.prefix ?? uniquePrefix(),
    ...(options.l1 === false ? {} : { l1: memoryStore<CacheEntry>({ maxEntries: 10_000 }) }),
    l2: redisStore({ client }),
  })
}

/** A prefix no other test uses; pass the same one to two caches to get two instances of one app. */
export function uniquePrefix(): string {
  return `kv${process.pid}-${Date.now().toString(36)}-${caches++}`
}
