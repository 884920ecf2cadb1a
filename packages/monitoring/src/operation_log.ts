import {
  type Cache,
  type CacheTier,
  type Duration,
  parseDuration,
  type TracedOperation,
  tracingOwner,
} from '@cachekit/core'
import { tierOf } from './cache_source.js'
import { MonitoringOptionError } from './errors.js'
import { groupOf, type KeyGroups } from './key_groups.js'
import { RollingWindow, type WindowSummary } from './rolling_window.js'
import { onOperations } from './tracing_subscriber.js'

/** One operation slower than the threshold. */
export interface SlowOperation {
  operation: TracedOperation
  /** The key as the caller gave it; only with `includeKeys: true` (keys may be personal data). */
  key?: string
  group: string
  /** The tier that answered, `none` for misses and writes, `remote` for a getOrSet from L2 or the fallback. */
  tier: CacheTier | 'none' | 'remote'
  durationMs: number
  failed: boolean
  /** Epoch ms at which it finished. */
  at: number
}

/** Options of `operationLog`. */
export interface OperationLogOptions {
  /** Operations at least this slow are logged. Default 50 ms. */
  slowThreshold?: Duration
  /** Slow operations kept (oldest dropped first). Default 100. */
  capacity?: number
  /** Record the keys of slow operations. Default false. */
  includeKeys?: boolean
  /** Groups (profiles, kinds of data) with their own rolling window, e.g. `[[/:menu:/, 'menu']]`. */
  keyGroups?: KeyGroups
  /** Span of the rolling windows. Default 60 minutes. */
  window?: Duration
  /** Resolution of the rolling windows. Default 1 minute. */
  resolution?: Duration
}

/** A bounded log of slow operations and rolling per-group windows. */
export interface OperationLog {
  /** The slow operations kept, oldest first. */
  slow(): SlowOperation[]
  /** Called for each slow operation as it finishes; returns a function that stops it. */
  onSlow(listener: (operation: SlowOperation) => void): () => void
  /** Hit rate, p50/p99 and ops over the window, for one group or (without a name) all of them. */
  window(group?: string): WindowSummary
  /** The groups seen so far (bounded by keyGroups' own bound). */
  groups(): string[]
  close(): void
}

/**
 * Watches a cache's traced operations: those slower than `slowThreshold` go to a ring of
 * `capacity` and to `onSlow` listeners; every operation feeds a rolling window for its group and
 * one for the whole cache. Memory is fixed: the ring, and per group one slot array.
 * @example
 * const log = operationLog(cache, { keyGroups: [[/:menu:/, 'menu']], window: '60m' })
 * log.window('menu') // { ops, hitRate, p50Ms, p99Ms, windowMs }
 */
export function operationLog(cache: Cache, options: OperationLogOptions = {}): OperationLog {
  const thresholdMs = parseDuration(options.slowThreshold ?? 50)
  const capacity = options.capacity ?? 100
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new MonitoringOptionError(`capacity must be a positive integer, got ${String(capacity)}`)
  }
  const windowMs = parseDuration(options.window ?? '60m')
  const slotMs = parseDuration(options.resolution ?? '1m')
  if (!(slotMs > 0) || windowMs < slotMs || windowMs / slotMs > 10_000) {
    throw new MonitoringOptionError(
      'resolution must be positive, at most the window, and at least window / 10000',
    )
  }
  const group = options.keyGroups === undefined ? () => 'all' : groupOf(options.keyGroups)
  const ring: SlowOperation[] = []
  let next = 0
  const listeners = new Set<(operation: SlowOperation) => void>()
  const total = new RollingWindow(windowMs, slotMs)
  const windows = new Map<string, RollingWindow>()

  const stop = onOperations(tracingOwner(cache), ({ context, durationMs, failed }) => {
    const at = Date.now()
    const name = group(context.storeKey)
    let window = windows.get(name)
    if (!window) {
      window = new RollingWindow(windowMs, slotMs)
      windows.set(name, window)
    }
    const isRead = context.operation === 'get' || context.operation === 'getOrSet'
    const hit = isRead && !failed ? context.hit === true : undefined
    total.record(at, durationMs, hit)
    window.record(at, durationMs, hit)
    if (durationMs < thresholdMs) return
    const slow: SlowOperation = {
      operation: context.operation,
      ...(options.includeKeys ? { key: context.key } : {}),
      group: name,
      tier: tierOf(context) as SlowOperation['tier'],
      durationMs,
      failed,
      at,
    }
    if (ring.length < capacity) ring.push(slow)
    else ring[next] = slow
    next = (next + 1) % capacity
    for (const listener of listeners) {
      try {
        listener(slow)
      } catch {
        // A broken listener must not break the cache call that finished.
      }
    }
  })

  return {
    slow: () => (ring.length < capacity ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)]),
    onSlow(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    window: (name) => {
      const now = Date.now()
      if (name === undefined) return total.summary(now)
      return (windows.get(name) ?? new RollingWindow(windowMs, slotMs)).summary(now)
    },
    groups: () => [...windows.keys()],
    close() {
      stop()
      listeners.clear()
    },
  }
}
