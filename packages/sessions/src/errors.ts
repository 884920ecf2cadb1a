import { CacheError, type CacheErrorOptions } from '@cachekit/core'

/**
 * A functional `update` lost the compare-and-set race more times than `maxRetries` allows: other
 * writers kept changing the session between its read and its write. Nothing was written.
 */
export class SessionConflictError extends CacheError {
  /** Attempts made, the first included. */
  readonly attempts: number

  constructor(id: string, attempts: number, options: CacheErrorOptions = {}) {
    super(
      'E_SESSION_CONFLICT',
      `[cachekit/sessions] session ${describeId(id)} kept changing during update; gave up after ${attempts} attempts`,
      options,
    )
    this.attempts = attempts
  }
}

/** `create` found the user at `maxPerUser` sessions and `onLimit` is `'refuse'`. */
export class SessionLimitError extends CacheError {
  /** The limit that was reached. */
  readonly limit: number

  constructor(limit: number, options: CacheErrorOptions = {}) {
    super(
      'E_SESSION_LIMIT',
      `[cachekit/sessions] the user already has ${limit} sessions (maxPerUser)`,
      options,
    )
    this.limit = limit
  }
}

/** The first characters of an id only: errors and events end up in logs, and an id is a credential. */
export function describeId(id: string): string {
  return `${id.slice(0, 6)}…`
}
