import { InvalidOptionError } from '../errors.js'
import { Cache } from './cache.js'
import { CacheCore } from './cache_core.js'
import type { CacheOptions } from './cache_options.js'
import { KeySpace } from './key_space.js'

/**
 * Creates a cache.
 *
 * @throws InvalidOptionError, InvalidDurationError for invalid options.
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
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('[cachekit/core] createCache needs an options object')
  }
  if (options.prefix !== undefined && typeof options.prefix !== 'string') {
    throw new InvalidOptionError('[cachekit/core] prefix must be a string')
  }
  const space = KeySpace.forPrefix(options.prefix ?? 'cachekit')
  const core = new CacheCore(options, space.path)
  return new Cache(core, space, {})
}
