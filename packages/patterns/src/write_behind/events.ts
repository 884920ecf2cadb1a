import type { CacheError } from '@cachekit/core'

/** The events of a write-behind queue, with what each listener receives. */
export interface WriteBehindEventMap {
  /** The lag was measured (at most every `lagCheckInterval`, and when `write` needs to know). */
  lag: { readonly lag: number; readonly maxLag: number }
  /** `write` found the lag at or above `maxLag` and is waiting (`'wait'`) or refusing (`'refuse'`). */
  backpressure: {
    readonly key: string
    readonly lag: number
    readonly maxLag: number
    readonly action: 'wait' | 'refuse'
  }
  /** A batch reached the sink and its entries were acknowledged (and trimmed, when due). */
  flush: { readonly entries: number; readonly records: number; readonly durationMs: number }
  /** A batch failed in the sink and will be tried again after `delayMs`. */
  retry: {
    readonly entries: number
    readonly attempt: number
    readonly delayMs: number
    readonly error: unknown
  }
  /** An entry failed `attempts` times (or could not be decoded) and was moved to the dead-letter stream. */
  deadLetter: {
    readonly id: string
    readonly key: string
    readonly attempts: number
    readonly error: unknown
    readonly deadLetterId: string
  }
  /** Pending entries of another consumer (one that stalled or died) were taken over. */
  claim: { readonly entries: number }
  /**
   * Pending entries were gone from the stream before they reached the sink (trimmed by `maxLen`, or
   * deleted by hand): they are acknowledged, counted in `stats().lost`, and reported here.
   */
  lost: { readonly ids: readonly string[] }
  /** A Redis command, the cache update or a listener failed; the queue carries on. */
  error: CacheError
}

/** The name of a write-behind event. */
export type WriteBehindEventName = keyof WriteBehindEventMap

/** A listener of one write-behind event. */
export type WriteBehindListener<E extends WriteBehindEventName> = (payload: WriteBehindEventMap[E]) => void

/** Counters of a write-behind queue since it was made, for pull gauges (prom-client `collect`). */
export interface WriteBehindStats {
  /** `write` calls that resolved (entries added to the stream). */
  written: number
  /** `write` calls refused for lag. */
  refused: number
  /** Entries acknowledged after the sink confirmed them (coalesced ones included). */
  flushed: number
  /** Sink calls that succeeded. */
  batches: number
  /** Sink calls that failed and were retried. */
  retries: number
  /** Entries moved to the dead-letter stream. */
  deadLettered: number
  /** Entries taken over from other consumers. */
  claimed: number
  /** Entries gone from the stream before reaching the sink. */
  lost: number
  /** The lag measured last. */
  lag: number
}

/** Calls listeners; one that throws is reported as an `error` event, never to the emitter. */
export class Emitter {
  private readonly listeners = new Map<WriteBehindEventName, Set<(payload: never) => void>>()

  on<E extends WriteBehindEventName>(event: E, listener: WriteBehindListener<E>): () => void {
    const set = this.listeners.get(event) ?? new Set()
    this.listeners.set(event, set)
    set.add(listener as (payload: never) => void)
    return () => set.delete(listener as (payload: never) => void)
  }

  emit<E extends WriteBehindEventName>(event: E, payload: WriteBehindEventMap[E]): void {
    const set = this.listeners.get(event)
    if (!set) return
    for (const listener of [...set]) {
      try {
        ;(listener as WriteBehindListener<E>)(payload)
      } catch {
        // A listener must not break a flush or a write; there is nowhere better to report it.
      }
    }
  }
}
