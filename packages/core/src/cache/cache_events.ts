import type { CacheError } from '../errors.js'
import type { InvalidationStrategy } from './cache_options.js'

/** The tier that answered a read. */
export type CacheTier = 'l1' | 'l2' | 'fallback'

/** Cache operations named in error events. */
export type CacheOperation =
  | 'get'
  | 'getMany'
  | 'has'
  | 'set'
  | 'setMany'
  | 'delete'
  | 'clear'
  | 'deleteMatching'
  | 'recover'
  | 'bus'
  | 'factory'
  | 'refresh'
  | 'invalidateTags'
  | 'sweep'

/** What each cache event carries. Keys are the keys the stores see (namespace prefix included). */
export interface CacheEventMap {
  /** `stale`: the value was past its TTL, served within grace. */
  hit: { key: string; tier: CacheTier; stale: boolean }
  miss: { key: string }
  set: { key: string }
  delete: { key: string }
  clear: { prefix: string }
  /** A cache failure: counted and reported here, never thrown at the caller unless `throwErrors` is on. */
  error: { error: CacheError; operation: CacheOperation; key?: string }
  /** Tags were invalidated here (`strategy` says how); other instances hear it on the bus. */
  'tags:invalidate': { tags: string[]; strategy: InvalidationStrategy }
  /** A background clean-up of entries invalidated by tags finished. */
  'tags:cleanup': { removed: number; scanned: number }
  /**
   * The remote tier failed repeatedly; reads and writes now go to the fallback store. `error` is the
   * last failure (`E_STORE_FAILURE`, with the store's own error as `cause`).
   */
  'fallback:open': { error: CacheError }
  /** The remote tier answers again and is back in use. */
  'fallback:close': { downtimeMs: number }
  /**
   * `close()` was called: emitted once, before the cache closes its parts, so work tied to the cache
   * (a scheduled warming, a timer of the app's) can stop first.
   */
  close: Record<string, never>
}

/** A name of a cache event. */
export type CacheEventName = keyof CacheEventMap

/** A listener of one cache event. */
export type CacheListener<E extends CacheEventName> = (payload: CacheEventMap[E]) => void

/**
 * A small typed emitter. Events fire on every cache operation, so `emit` first checks for listeners
 * and builds nothing when there are none; a listener that throws cannot break a cache call.
 */
export class CacheEvents {
  private readonly listeners: { [E in CacheEventName]?: Array<CacheListener<E>> } = {}

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): () => void {
    const list = (this.listeners[event] ?? []) as Array<CacheListener<E>>
    list.push(listener)
    ;(this.listeners as Record<E, Array<CacheListener<E>>>)[event] = list
    return () => this.off(event, listener)
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): void {
    const list = this.listeners[event] as Array<CacheListener<E>> | undefined
    const index = list?.indexOf(listener) ?? -1
    if (index >= 0) list!.splice(index, 1)
  }

  /** True when someone listens, so callers can skip building a payload. */
  has(event: CacheEventName): boolean {
    return (this.listeners[event]?.length ?? 0) > 0
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEventMap[E]): void {
    const list = this.listeners[event] as Array<CacheListener<E>> | undefined
    if (!list) return
    for (const listener of [...list]) {
      try {
        listener(payload)
      } catch {
        // A broken listener must not turn a cache call into a failure.
      }
    }
  }
}
