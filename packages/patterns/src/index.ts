// Write-behind (src/write_behind)
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
