import { InvalidOptionError } from '@cachekit/core'
import { defaultSizeOf } from './size_of.js'

/** Why an entry was evicted: the entry bound (`maxEntries`) or the byte bound (`maxBytes`) was reached. */
export type EvictionCause = 'entries' | 'bytes'

/** Options of `memoryStore`. */
export interface MemoryStoreOptions<V = Uint8Array> {
  /**
   * Most entries held; past it the least recently used entry is evicted. This bounds the keys and
   * the bookkeeping (about 90 bytes an entry besides its key), `maxBytes` bounds the values. Room
   * for this many entries is allocated up front (about 50 bytes each), so size it to what you
   * expect to hold rather than far above. Default 10,000.
   */
  maxEntries?: number
  /**
   * Most bytes held, as `sizeOf` counts them; past it least recently used entries are evicted until
   * the new one fits. Default: no byte bound.
   */
  maxBytes?: number
  /**
   * Largest single value accepted, as `sizeOf` counts it. A larger value is refused with
   * `ValueTooLargeError` (and any older value under its key is deleted), never silently dropped.
   * Default `maxBytes` when set (a value above it could never fit), otherwise no limit.
   */
  maxValueBytes?: number
  /**
   * Bytes a value counts for against `maxBytes`, `maxValueBytes` and `stats().bytes`: a finite
   * number >= 0 (each entry counts at least 1). Called once per write. Default `defaultSizeOf`:
   * `byteLength` of binary values, 2 bytes a character of strings, and a bounded estimate of other
   * values such as `CacheEntry` objects. Pass your own when you can measure values more cheaply or
   * more exactly.
   */
  sizeOf?: (value: V, key: string) => number
  /** Name used in errors and stats. Default `memory`. */
  name?: string
  /**
   * Called when an entry is evicted to make room, with its key, its value and which bound was hit.
   * Runs synchronously inside the write that caused it: keep it cheap. An error it throws is
   * rethrown on the next tick (an uncaught exception), so it cannot leave the store half-updated.
   */
  onEvict?: (key: string, value: V, cause: EvictionCause) => void
  /**
   * Called when an entry is dropped because its TTL passed (expired entries are dropped when they
   * are next met: by a read, a scan, `prune`, `clear` or eviction). Same rules as `onEvict`.
   */
  onExpire?: (key: string, value: V) => void
}

/** Options after defaults and validation. */
export interface ResolvedOptions<V> {
  name: string
  maxEntries: number
  maxBytes: number | undefined
  maxValueBytes: number | undefined
  sizeOf: (value: V, key: string) => number
  /** Walk object values for their size: only when a byte bound or a custom `sizeOf` needs it. */
  measureObjects: boolean
  onEvict: ((key: string, value: V, cause: EvictionCause) => void) | undefined
  onExpire: ((key: string, value: V) => void) | undefined
}

export const DEFAULT_MAX_ENTRIES = 10_000

export function resolveOptions<V>(options: MemoryStoreOptions<V>): ResolvedOptions<V> {
  const maxEntries = positiveInteger('maxEntries', options.maxEntries ?? DEFAULT_MAX_ENTRIES)
  const maxBytes = options.maxBytes === undefined ? undefined : positiveInteger('maxBytes', options.maxBytes)
  const maxValueBytes =
    options.maxValueBytes === undefined ? maxBytes : positiveInteger('maxValueBytes', options.maxValueBytes)
  for (const hook of ['sizeOf', 'onEvict', 'onExpire'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new InvalidOptionError(`[cachekit/memory] ${hook} must be a function`)
    }
  }
  const name = options.name ?? 'memory'
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionError('[cachekit/memory] name must be a non-empty string')
  }
  return {
    name,
    maxEntries,
    maxBytes,
    // A value above the byte bound could never be held: refuse it rather than evict everything for it.
    maxValueBytes: maxBytes === undefined ? maxValueBytes : Math.min(maxValueBytes ?? maxBytes, maxBytes),
    sizeOf: options.sizeOf ?? defaultSizeOf,
    measureObjects: maxBytes !== undefined || maxValueBytes !== undefined || options.sizeOf !== undefined,
    onEvict: options.onEvict,
    onExpire: options.onExpire,
  }
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(
      `[cachekit/memory] ${option} must be a positive integer, got ${String(value)}`,
    )
  }
  return value
}
