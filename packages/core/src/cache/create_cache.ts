import { Cache } from './cache.js'
import { CacheCore } from './cache_core.js'
import type { CacheOptions } from './cache_options.js'
import { KeySpace } from './key_space.js'

/**
 * Creates a cache.
 *
 * @example
 * const cache = createCache({
 *   prefix: 'shop',
 *   l1: memoryStore({ maxEntries: 10_000 }),
 *   l2: redisStore({ client: createRedis(process.env.REDIS_URL) }),
 *   fallback: memoryStore({ maxEntries: 50_000 }),
 *   ttl: '10m',
 * })
 * const user = await cache.getOrSet(`user:${id}`, () => db.users.find(id))
 */
export function createCache(options: CacheOptions): Cache {
  const space = KeySpace.forPrefix(options.prefix ?? 'cachekit')
  const core = new CacheCore(options, space.root)
  return new Cache(core, space, {})
}
