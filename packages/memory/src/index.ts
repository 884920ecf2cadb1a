export { type MemoryStore, memoryStore } from './memory_store.js'
export type { EvictionCause, MemoryStoreOptions } from './options.js'
export { defaultSizeOf } from './size_of.js'
export type { MemoryStoreStats } from './stats.js'
