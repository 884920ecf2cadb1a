export type { Bus, BusHandler, BusMessage, Unsubscribe } from './bus.js'
export type { Codec } from './codec.js'
export { type Duration, type DurationUnit, parseDuration, parseOptionalDuration } from './duration.js'
export {
  type CacheEntry,
  createEntry,
  type EntryTiming,
  isFresh,
  isHardExpired,
  storeTtlMs,
} from './entry.js'
export { decodeEntry, decodeEntryHeader, type EntryHeader, encodeEntry } from './entry_frame.js'
export {
  CacheError,
  type CacheErrorCode,
  type CacheErrorOptions,
  CodecDecodeError,
  CodecEncodeError,
  InvalidDurationError,
  InvalidOptionError,
  StoreClosedError,
  ValueTooLargeError,
} from './errors.js'
export { escapeGlob, globPrefix, globToRegExp, isLiteralGlob } from './glob.js'
export type { Store, StoreWrite } from './store.js'
export { isInvalidatedByTags, type TagIndex } from './tag_index.js'
