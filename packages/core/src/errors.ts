/**
 * Every error cachekit raises. One base class with a stable `code`, so callers branch on the code
 * rather than on a message, and a `Symbol.for` marker so `isInstance` works even when two copies of
 * `@cachekit/core` end up in one app (where `instanceof` would fail).
 */

const marker = Symbol.for('cachekit.error')

/** The stable codes of cachekit errors. New codes may be added; existing ones never change meaning. */
export type CacheErrorCode =
  | 'E_INVALID_DURATION'
  | 'E_INVALID_OPTION'
  | 'E_CODEC_ENCODE'
  | 'E_CODEC_DECODE'
  | 'E_VALUE_TOO_LARGE'
  | 'E_STORE_CLOSED'
  | 'E_STORE_FAILURE'
  | 'E_STORE_REFUSED'
  | 'E_FACTORY_ERROR'
  | 'E_FACTORY_HARD_TIMEOUT'
  | 'E_BUS_FAILURE'
  | 'E_SESSION_CONFLICT'
  | 'E_SESSION_LIMIT'
  | 'E_WRITE_BEHIND_LAG'

/** Options shared by every cachekit error. */
export interface CacheErrorOptions {
  /** The cache key the failure concerns, when there is one. */
  key?: string
  /** The underlying error. */
  cause?: unknown
}

/** Base class of every error thrown or emitted by cachekit packages. */
export class CacheError extends Error {
  /** A stable, machine-readable code such as `E_CODEC_DECODE`. */
  readonly code: CacheErrorCode
  /** The cache key the failure concerns, when there is one. */
  readonly key: string | undefined
  /** Marks cachekit errors across package copies; see `isInstance`. */
  readonly [marker] = true

  constructor(code: CacheErrorCode, message: string, options: CacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.key = options.key
  }

  /** True for any cachekit error, from this copy of the package or another. */
  static isInstance(error: unknown): error is CacheError {
    return typeof error === 'object' && error !== null && marker in error
  }

  /** True when `error` is a cachekit error with the given code. */
  static hasCode(error: unknown, code: CacheErrorCode): error is CacheError {
    return CacheError.isInstance(error) && error.code === code
  }
}

/** A duration string or number could not be parsed, or is negative. */
export class InvalidDurationError extends CacheError {
  constructor(input: unknown, options: CacheErrorOptions = {}) {
    super('E_INVALID_DURATION', `[cachekit/core] invalid duration: ${describe(input)}`, options)
  }
}

/** An option passed to a factory or call is invalid. */
export class InvalidOptionError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_INVALID_OPTION', message, options)
  }
}

/** Bytes could not be decoded: truncated, tampered with, or written by something else. */
export class CodecDecodeError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_CODEC_DECODE', message, options)
  }
}

/** A value could not be encoded by the configured codec chain. */
export class CodecEncodeError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_CODEC_ENCODE', message, options)
  }
}

/** A value is larger than the store or codec accepts; it was refused, not truncated. */
export class ValueTooLargeError extends CacheError {
  /** Size of the refused value in bytes. */
  readonly size: number
  /** The limit it exceeded, in bytes. */
  readonly limit: number

  constructor(size: number, limit: number, message: string, options: CacheErrorOptions = {}) {
    super('E_VALUE_TOO_LARGE', message, options)
    this.size = size
    this.limit = limit
  }
}

/** An operation was attempted on a store that has been closed. */
export class StoreClosedError extends CacheError {
  constructor(storeName: string, options: CacheErrorOptions = {}) {
    super('E_STORE_CLOSED', `[cachekit] store "${storeName}" is closed`, options)
  }
}

/**
 * The cache was used after `close()`. Same code as a closed store (`E_STORE_CLOSED`): one code for
 * "closed", whichever part was.
 */
export class CacheClosedError extends StoreClosedError {
  constructor(options: CacheErrorOptions = {}) {
    super('cache', options)
    this.message = '[cachekit/core] the cache is closed'
  }
}

function describe(input: unknown): string {
  if (typeof input === 'string') return JSON.stringify(input)
  if (typeof input === 'number' || typeof input === 'bigint' || typeof input === 'boolean')
    return String(input)
  return typeof input
}

/** A store failed or did not answer in time; the cache reports it and carries on without that tier. */
export class StoreFailureError extends CacheError {
  /** Name of the store that failed, e.g. `redis`. */
  readonly store: string

  constructor(store: string, operation: string, options: CacheErrorOptions = {}) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : ''
    super('E_STORE_FAILURE', `[cachekit] ${operation} on store "${store}" failed${reason}`, options)
    this.store = store
  }
}

/**
 * The store's server is up and answered, but declined the operation: out of memory under
 * `maxmemory-policy noeviction`, a read-only replica, a script or permission error. Unlike a
 * `StoreFailureError` it says nothing about the server's health, so the cache never opens its circuit
 * breaker for it: reads keep going to the store, and a refused write is not cached (nor its old copy
 * served). `cause` is the server's reply.
 */
export class StoreRefusedError extends CacheError {
  /** Name of the store that refused, e.g. `redis`. */
  readonly store: string
  /** What was refused, e.g. `set`. */
  readonly operation: string

  constructor(store: string, operation: string, options: CacheErrorOptions = {}) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : ''
    super('E_STORE_REFUSED', `[cachekit] store "${store}" refused ${operation}${reason}`, options)
    this.store = store
    this.operation = operation
  }
}

/**
 * A factory failed while a stale value could be served instead; emitted (with the factory's error as
 * `cause`), not thrown. Without a stale value the factory's own error reaches the caller unchanged.
 */
export class FactoryError extends CacheError {
  constructor(key: string, cause: unknown) {
    const reason = cause instanceof Error ? `: ${cause.message}` : ''
    super('E_FACTORY_ERROR', `[cachekit] the factory of "${key}" failed${reason}; serving the stale value`, {
      key,
      cause,
    })
  }
}

/** A factory took longer than its hard timeout; the caller gets this, the factory goes on in the background. */
export class FactoryHardTimeoutError extends CacheError {
  /** The hard timeout that ran out, ms. */
  readonly timeoutMs: number

  constructor(key: string, timeoutMs: number) {
    super(
      'E_FACTORY_HARD_TIMEOUT',
      `[cachekit] the factory of "${key}" did not finish within ${timeoutMs} ms`,
      {
        key,
      },
    )
    this.timeoutMs = timeoutMs
  }
}

/** Publishing or receiving on the bus failed; other instances may keep stale L1 copies until their TTL. */
export class BusFailureError extends CacheError {
  constructor(message: string, options: CacheErrorOptions = {}) {
    super('E_BUS_FAILURE', message, options)
  }
}
