import { tracingChannel } from 'node:diagnostics_channel'
import type { Cache, CacheOperationContext, TracedOperation } from '@cachekit/core'
import { TRACING_CHANNEL_NAMES, tracingOwner } from '@cachekit/core'

/**
 * The parts of an `@opentelemetry/api` Tracer the bridge uses. Written out here so monitoring's
 * types do not need the package: pass `trace.getTracer('my-app')`.
 */
export interface TracerLike {
  startSpan(
    name: string,
    options?: { attributes?: Record<string, string | number | boolean>; kind?: number },
  ): SpanLike
}

/** The parts of an `@opentelemetry/api` Span the bridge uses. */
export interface SpanLike {
  setAttribute(key: string, value: string | number | boolean): unknown
  setStatus(status: { code: number; message?: string }): unknown
  recordException(exception: Error | string): unknown
  end(): void
}

/** Options of `openTelemetryBridge`. */
export interface OpenTelemetryBridgeOptions {
  /** The tracer spans are made with, e.g. `trace.getTracer('cachekit')`. */
  tracer: TracerLike
  /** Only this cache (and its namespaces and profiles). Default: every cache in the process. */
  cache?: Cache
  /** Put the key in a `cachekit.key` attribute. Off by default: keys can hold user data. */
  includeKeys?: boolean
  /** Operations to trace. Default: all (get, getOrSet, set, delete, factory). */
  operations?: readonly TracedOperation[]
}

/** A running bridge; `close()` unsubscribes. */
export interface OpenTelemetryBridge {
  close(): void
}

// @opentelemetry/api's values, fixed by the specification: SpanKind.INTERNAL, SpanStatusCode.ERROR.
const SPAN_KIND_INTERNAL = 0
const STATUS_ERROR = 2
const ALL: readonly TracedOperation[] = ['get', 'getOrSet', 'set', 'delete', 'factory']

/**
 * Turns core's TracingChannels into OpenTelemetry spans: `cachekit.get`, `cachekit.getOrSet`,
 * `cachekit.set`, `cachekit.delete`, `cachekit.factory`, children of whatever span is active when
 * the call starts, with `cachekit.operation`, `cachekit.hit`, `cachekit.tier` and `cachekit.stale`
 * (reads), and the error of a failed call. Nothing runs while no bridge is subscribed: the cache
 * checks for subscribers once per call.
 *
 * @example
 * import { trace } from '@opentelemetry/api'
 * const bridge = openTelemetryBridge({ tracer: trace.getTracer('shop'), cache })
 */
export function openTelemetryBridge(options: OpenTelemetryBridgeOptions): OpenTelemetryBridge {
  const owner = options.cache === undefined ? undefined : tracingOwner(options.cache)
  const spans = new WeakMap<CacheOperationContext, SpanLike>()
  const unsubscribers: Array<() => void> = []
  for (const operation of options.operations ?? ALL) {
    const channel = tracingChannel<object, CacheOperationContext>(TRACING_CHANNEL_NAMES[operation])
    const handlers = {
      start(context: CacheOperationContext) {
        if (owner !== undefined && context.owner !== owner) return
        const attributes: Record<string, string> = { 'cachekit.operation': context.operation }
        if (options.includeKeys === true) attributes['cachekit.key'] = context.key
        spans.set(
          context,
          options.tracer.startSpan(`cachekit.${context.operation}`, { attributes, kind: SPAN_KIND_INTERNAL }),
        )
      },
      end() {},
      asyncStart() {},
      error(context: CacheOperationContext) {
        const span = spans.get(context)
        if (span === undefined) return
        const error = context.error
        span.recordException(error instanceof Error ? error : String(error))
        span.setStatus({
          code: STATUS_ERROR,
          message: error instanceof Error ? error.message : String(error),
        })
      },
      asyncEnd(context: CacheOperationContext) {
        const span = spans.get(context)
        if (span === undefined) return
        spans.delete(context)
        if (context.hit !== undefined) span.setAttribute('cachekit.hit', context.hit)
        if (context.tier !== undefined) span.setAttribute('cachekit.tier', context.tier)
        if (context.stale !== undefined) span.setAttribute('cachekit.stale', context.stale)
        span.end()
      },
    }
    channel.subscribe(handlers)
    unsubscribers.push(() => channel.unsubscribe(handlers))
  }
  let closed = false
  return {
    close() {
      if (closed) return
      closed = true
      for (const unsubscribe of unsubscribers) unsubscribe()
    },
  }
}
