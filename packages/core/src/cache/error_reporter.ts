import { CacheError, CodecEncodeError } from '../errors.js'
import type { CacheEvents, CacheOperation } from './cache_events.js'
import type { StatsCounters } from './cache_stats.js'

/**
 * The one place a cache failure goes: counted (`errors`, and `refused` for refusals), emitted as an
 * `error` event, and thrown at the caller only when the cache was created with `throwErrors`.
 * Work nobody waits on reports `inBackground`, which never throws.
 */
export class ErrorReporter {
  constructor(
    private readonly events: CacheEvents,
    private readonly stats: StatsCounters,
    readonly throwErrors: boolean,
  ) {}

  /** Counts and emits `error`; throws it only with `throwErrors`. */
  report(operation: CacheOperation, error: unknown, key?: string): void {
    const typed = this.emit(operation, error, key)
    if (this.throwErrors) throw typed
  }

  /** `report` for work no caller waits on: there is nobody to throw at, even with `throwErrors`. */
  inBackground(operation: CacheOperation, error: unknown, key?: string): void {
    this.emit(operation, error, key)
  }

  private emit(operation: CacheOperation, error: unknown, key: string | undefined): CacheError {
    // Anything but a cachekit error reaching here came out of a codec or a user's function while
    // a value was being prepared for caching.
    const typed = CacheError.isInstance(error)
      ? error
      : new CodecEncodeError(`[cachekit/core] the value under "${key}" cannot be cached`, {
          key,
          cause: error,
        })
    this.stats.errors++
    if (typed.code === 'E_STORE_REFUSED') this.stats.refused++
    this.events.emit(
      'error',
      key === undefined ? { error: typed, operation } : { error: typed, operation, key },
    )
    return typed
  }
}
