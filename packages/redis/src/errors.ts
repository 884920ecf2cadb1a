import { CacheError, type CacheErrorOptions } from '@cachekit/core'

/** Connection settings are missing or contradictory (a bad URL, REDIS_PORT that is not a port, ...). */
export class RedisConfigError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_INVALID_OPTION', `[cachekit/redis] ${message}`, options)
  }
}
