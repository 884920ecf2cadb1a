import { type CacheOperationContext, type TracedOperation, tracingChannels } from '@cachekit/core'

/** One finished operation, as the cache's tracing channels told it. */
export interface FinishedOperation {
  context: CacheOperationContext
  durationMs: number
  failed: boolean
}

/** Receives the finished operations of one cache (all its views). */
export type OperationListener = (operation: FinishedOperation) => void

const started = Symbol('cachekit.monitoring.started')
const failed = Symbol('cachekit.monitoring.failed')
type Timed = CacheOperationContext & { [started]?: number; [failed]?: boolean }

const listeners = new Map<object, Set<OperationListener>>()
const operations: readonly TracedOperation[] = ['get', 'getOrSet', 'set', 'delete', 'factory']

const handlers = {
  start(context: Timed) {
    if (listeners.has(context.owner)) context[started] = performance.now()
  },
  end() {},
  asyncStart() {},
  asyncEnd(context: Timed) {
    const start = context[started]
    if (start === undefined) return
    const set = listeners.get(context.owner)
    if (!set) return
    const finished = { context, durationMs: performance.now() - start, failed: context[failed] === true }
    for (const listener of set) listener(finished)
  },
  error(context: Timed) {
    context[failed] = true
  },
}

/**
 * Listens to the finished operations of the cache whose tracing owner is `owner`. The package
 * subscribes to core's channels while at least one listener exists and unsubscribes after the
 * last, so a process without monitoring pays nothing on its cache calls.
 */
export function onOperations(owner: object, listener: OperationListener): () => void {
  if (listeners.size === 0) {
    for (const operation of operations) tracingChannels[operation].subscribe(handlers)
  }
  let set = listeners.get(owner)
  if (!set) {
    set = new Set()
    listeners.set(owner, set)
  }
  set.add(listener)
  return () => {
    const current = listeners.get(owner)
    if (!current?.delete(listener)) return
    if (current.size === 0) listeners.delete(owner)
    if (listeners.size === 0) {
      for (const operation of operations) tracingChannels[operation].unsubscribe(handlers)
    }
  }
}
