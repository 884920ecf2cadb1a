/** A snapshot of a memory store's counters; counts are since the store was created. */
export interface MemoryStoreStats {
  /** Entries held, including expired ones not met yet (see `prune`). */
  entries: number
  /**
   * Bytes held, as `sizeOf` counts them (each entry at least 1). Without `maxBytes`, `maxValueBytes` or
   * a custom `sizeOf`, object values are not measured (they count 1): only bytes and strings are.
   */
  bytes: number
  /** The entry bound. */
  maxEntries: number
  /** The byte bound, `undefined` when there is none. */
  maxBytes: number | undefined
  /** Reads (`get`, `getMany`, `getSync`) that found a live value, one per key. */
  hits: number
  /** Reads that found nothing, or an expired value, one per key. */
  misses: number
  /** Live entries evicted to make room: `evictedByEntries + evictedByBytes`. */
  evictions: number
  /** Evictions because `maxEntries` was reached. */
  evictedByEntries: number
  /** Evictions because `maxBytes` was reached. */
  evictedByBytes: number
  /** Entries dropped because their TTL had passed, whatever met them (a read, a scan, `prune`, eviction). */
  expirations: number
}

/** The mutable counters behind `stats()`: plain fields, because reads bump them on every call. */
export class StoreCounters {
  hits = 0
  misses = 0
  evictedByEntries = 0
  evictedByBytes = 0
  expirations = 0
}
