// Write-through

export { type CacheContextValue, type CacheScope, cacheContext } from './decorators/cache_context.js'
// Decorators and context
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
// Errors
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
// Warming and snapshots
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
export { type FromWrite, type WriteThroughOptions, writeThrough } from './write_through.js'

// Write-behind (src/write_behind/*)
