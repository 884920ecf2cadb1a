import { type Cache, type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore, memoryTagIndex } from '@cachekit/memory'
import { redisBus } from '@cachekit/pubsub'
import {
  type Cluster,
  createRedis,
  hasRedisEnv,
  type Redis,
  type RedisEnvironment,
  redisStore,
  redisTagIndex,
} from '@cachekit/redis'

/** Which tiers the demo runs on, for the banner and /stats. */
export type CacheMode = 'memory' | 'redis'

/**
 * Memory only when no Redis is configured; otherwise L1 memory in front of Redis, with a memory
 * fallback that serves while Redis is down, and a bus (with Redis key tracking) so several demo
 * processes, and redis-cli, never leave each other's L1 copies stale.
 */
export function buildCache(env: RedisEnvironment): {
  cache: Cache
  mode: CacheMode
  client?: Redis | Cluster
} {
  const l1 = memoryStore<CacheEntry>({ maxEntries: 10_000 })
  if (!hasRedisEnv(env)) {
    return {
      cache: createCache({ prefix: 'demo', l1, tagIndex: memoryTagIndex(), ttl: '5m' }),
      mode: 'memory',
    }
  }
  const client = createRedis(env.REDIS_URL ? env.REDIS_URL : undefined)
  const cache = createCache({
    prefix: 'demo',
    l1,
    l2: redisStore({ client, closeClient: false }),
    tagIndex: redisTagIndex({ client, prefix: 'demo-tags:', closeClient: false }),
    bus: redisBus({ client, closeClient: true }),
    tracking: true,
    fallback: memoryStore<CacheEntry>({ maxEntries: 50_000 }),
    ttl: '5m',
    grace: '1h',
    timeouts: { soft: '100ms', hard: '5s' },
  })
  return { cache, mode: 'redis', client }
}
