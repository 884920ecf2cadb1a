import { CacheError, type CacheErrorOptions } from '@cachekit/core'

/**
 * `cacheMetrics` was called twice for one cache name on one registry, or the registry already
 * holds a metric of another origin under one of our names. Code `E_INVALID_OPTION`.
 */
export class MetricsRegistrationError extends CacheError {
  /** The metric name, or the cache name, that is taken. */
  readonly taken: string

  constructor(taken: string, message: string, options: CacheErrorOptions = {}) {
    super('E_INVALID_OPTION', `[cachekit/monitoring] ${message}`, options)
    this.taken = taken
  }
}

/** A monitoring option is invalid (a bad prefix, threshold or window). Code `E_INVALID_OPTION`. */
export class MonitoringOptionError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_INVALID_OPTION', `[cachekit/monitoring] ${message}`, options)
  }
}
