import { CacheError, type CacheErrorOptions } from '@cachekit/core'

/** Connection settings are missing or contradictory (a bad URL, REDIS_PORT that is not a port, ...). */
export class RedisConfigError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_INVALID_OPTION', `[cachekit/redis] ${message}`, options)
  }
}

/**
 * Why a client is not connected: the connection was refused, the host does not resolve, the server
 * rejected the credentials (`WRONGPASS`, `NOAUTH`), or the connection was lost. Carried as the `cause`
 * of the cache's `E_STORE_FAILURE` errors (timeouts included) while the client is not connected.
 * The message names the address (`host:port`) and the underlying error, never the password.
 */
export class RedisConnectionError extends CacheError {
  /** `host:port` the client tried, when known. */
  readonly address: string | undefined
  /** The system error code or reply prefix: `ECONNREFUSED`, `ENOTFOUND`, `WRONGPASS`, `NOAUTH`, ... */
  readonly reason: string | undefined

  constructor(address: string | undefined, reason: string | undefined, detail: string, cause?: Error) {
    const where = address === undefined ? 'Redis' : address
    super('E_STORE_FAILURE', `[cachekit/redis] cannot reach ${where}: ${detail}`, { cause })
    this.address = address
    this.reason = reason
  }
}
