import { CacheError, type CacheErrorOptions } from '@cachekit/core'

/**
 * `write` found more entries not yet acknowledged than `maxLag` allows: with `onLagExceeded: 'refuse'`
 * at once, with `'wait'` after waiting `maxLagWait` for the lag to come down. Nothing was written.
 */
export class WriteBehindLagError extends CacheError {
  /** The lag measured last: entries of the stream not yet acknowledged by the consumer group. */
  readonly lag: number
  /** The configured `maxLag`. */
  readonly maxLag: number

  constructor(key: string, lag: number, maxLag: number, options: CacheErrorOptions = {}) {
    super(
      'E_WRITE_BEHIND_LAG',
      `[cachekit/patterns] write-behind lag is ${lag} entries, at or above maxLag (${maxLag}); the write was not accepted`,
      { ...options, key },
    )
    this.lag = lag
    this.maxLag = maxLag
  }
}
