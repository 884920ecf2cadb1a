import { CacheError, type CacheErrorOptions, CodecDecodeError } from '@cachekit/core'

/**
 * A snapshot could not be restored: not a snapshot, written by a newer format, truncated, or its
 * checksum (or, with a `secret`, its HMAC) does not match, so it was altered after it was written.
 * Nothing of it was applied. Code `E_CODEC_DECODE`, like every undecodable byte string in cachekit.
 */
export class SnapshotError extends CodecDecodeError {
  /** Where it was read from: the file path, or `redis:<key>`. */
  readonly source: string

  constructor(source: string, reason: string, options: CacheErrorOptions = {}) {
    super(`[cachekit/patterns] snapshot ${source} refused: ${reason}; nothing was restored`, options)
    this.source = source
  }
}

/**
 * A decorated method was called with an argument that cannot be part of a cache key (a function, a
 * symbol, a cycle, an object nested too deep), or a key function returned something other than a
 * non-empty string. Code `E_INVALID_OPTION`; the method is not called.
 */
export class CacheKeyError extends CacheError {
  /** Where in the arguments the offending value sits, such as `args[1].filters.owner`. */
  readonly path: string

  constructor(path: string, reason: string, options: CacheErrorOptions = {}) {
    super('E_INVALID_OPTION', `[cachekit/patterns] cannot build a cache key: ${path} ${reason}`, options)
    this.path = path
  }
}
