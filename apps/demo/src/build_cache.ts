import { type Cache, type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, hasRedisEnv, type RedisEnvironment, redisStore } from '@cachekit/redis'

/** Which tiers the demo runs on, for the banner and /stats. */
export type CacheMode = 'memory' | 'redis'

/**
 * Memory only when no Redis is configured; otherwise L1 memory in front of Redis, with a memory
 * fallback that serves while Redis is down.
 */
export function buildCache(env: RedisEnvironment): { cache: Cache; mode: CacheMode } {
  const l1 = memoryStore<CacheEntry>({ maxEntries: 10_000 })
  if (!hasRedisEnv(env)) return { cache: createCache({ prefix: 'demo', l1, ttl: '5m' }), mode: 'memory' }
  const client = createRedis()
  const cache = createCache({
    prefix: 'demo',
    l1,
    l2: redisStore({ client }),
    fallback: memoryStore<CacheEntry>({ maxEntries: 50_000 }),
    ttl: '5m',
    l1MaxTtl: '30s',
  })
  return { cache, mode: 'redis' }
}
