export { type CacheContextValue, type CacheScope, cacheContext } from './decorators/cache_context.js'
export {
  CacheInvalidate,
  type CacheInvalidateDecorator,
  type CacheInvalidateOptions,
  type CacheInvalidateTargets,
} from './decorators/cache_invalidate.js'
export { Cached, type CachedDecorator, type CachedOptions, type CachedWhen } from './decorators/cached.js'
export type { CacheSource, ScopeOptions } from './decorators/method_cache.js'
export { type HashedKeyEntry, MAX_KEY_LENGTH } from './decorators/method_key.js'
export { stableKey } from './decorators/stable_key.js'
export { CacheKeyError, SnapshotError } from './errors.js'
export {
  type RestoreReport,
  restoreSnapshot,
  type SnapshotOptions,
  type SnapshotReport,
  snapshot,
  type TakeSnapshotOptions,
} from './snapshot/snapshot.js'
export type { SnapshotTarget } from './snapshot/snapshot_target.js'
export {
  type ScheduleWarmingOptions,
  scheduleWarming,
  type WarmingSchedule,
} from './warming/schedule_warming.js'
export { warm } from './warming/warm.js'
export type {
  WarmEntry,
  WarmFailure,
  WarmItem,
  WarmIterable,
  WarmLoader,
  WarmOptions,
  WarmProgress,
  WarmReport,
} from './warming/warm_types.js'
export { WriteBehindLagError } from './write_behind/errors.js'
export type {
  WriteBehindEventMap,
  WriteBehindEventName,
  WriteBehindListener,
  WriteBehindStats,
} from './write_behind/events.js'
export type { WriteBehindCache, WriteBehindOptions } from './write_behind/options.js'
export {
  type PostgresQueryable,
  type PostgresSink,
  type PostgresSinkOptions,
  postgresSink,
} from './write_behind/postgres_sink.js'
export type { WriteBehindRecord, WriteBehindSink } from './write_behind/sink.js'
export { compareVersions, versionToDecimal } from './write_behind/version.js'
export {
  type FlushOptions,
  type WriteBehind,
  type WriteReceipt,
  writeBehind,
} from './write_behind/write_behind.js'
export { type FromWrite, type WriteThroughOptions, writeThrough } from './write_through.js'
