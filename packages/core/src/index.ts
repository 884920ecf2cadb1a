export type { Bus, BusHandler, BusLoss, BusMessage, Unsubscribe } from './bus.js'
export { Cache } from './cache/cache.js'
export type { L1Entry } from './cache/cache_core.js'
export type {
  CacheEventMap,
  CacheEventName,
  CacheListener,
  CacheOperation,
  CacheTier,
} from './cache/cache_events.js'
export type {
  CacheOptions,
  Factory,
  FactoryContext,
  FactoryTimeoutOptions,
  GetOrSetOptions,
  InvalidateTagsOptions,
  InvalidationStrategy,
  SetManyItem,
  Ttl,
  TtlContext,
  WrapOptions,
  WriteOptions,
} from './cache/cache_options.js'
export type { CacheStats, TierStats } from './cache/cache_stats.js'
export { createCache } from './cache/create_cache.js'
export {
  type CacheOperationContext,
  isTraced,
  TRACING_CHANNEL_NAMES,
  type TracedOperation,
  tracingChannels,
  tracingOwner,
} from './cache/tracing.js'
export { MAX_DEPENDENCIES } from './cache/write_path.js'
export type { Codec, CodecContext } from './codec.js'
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
  BusFailureError,
  CacheClosedError,
  CacheError,
  type CacheErrorCode,
  type CacheErrorOptions,
  CodecDecodeError,
  CodecEncodeError,
  FactoryError,
  FactoryHardTimeoutError,
  InvalidDurationError,
  InvalidOptionError,
  StoreClosedError,
  StoreFailureError,
  StoreRefusedError,
  ValueTooLargeError,
} from './errors.js'
export { escapeGlob, glob, globPrefix, globToRegExp, isLiteralGlob } from './glob.js'
export type { DistributedLock, Store, StoreWrite } from './store.js'
export { isInvalidatedByTags, type TagIndex } from './tag_index.js'
export {
  type ScriptArg,
  type ScriptBatcher,
  type ScriptBatcherOptions,
  type ScriptClient,
  scriptBatcher,
} from './util/script_batcher.js'
export { asStoreFailure, withDeadline } from './util/with_deadline.js'
