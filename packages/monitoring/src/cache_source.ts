import { type Cache, type CacheTier, tracingOwner } from '@cachekit/core'
import type { RedisMonitoredClient } from './redis_info.js'
import { Tally } from './tally.js'
import { type FinishedOperation, onOperations } from './tracing_subscriber.js'

/** Anything with memory-store counters (`memoryStore()` from @cachekit/memory). */
export interface L1StatsSource {
  stats(): { entries: number; bytes: number; evictions: number }
}

/** Anything with bus counters (`redisBus()` from @cachekit/pubsub). */
export interface BusStatsSource {
  stats(): { published: number; received: number; missed: number }
}

/** How a finished traced operation is observed into a histogram. */
export type Observe = (source: CacheSource, operation: FinishedOperation) => void

/**
 * What one `cacheMetrics` call watches: the cache's events and traced operations, tallied in
 * plain counters between scrapes, and the parts read at scrape time (stats, L1, bus, Redis).
 */
export class CacheSource {
  readonly reads = new Tally() // group, tier, result
  readonly stale = new Tally() // tier
  readonly writes = new Tally() // group
  readonly deletes = new Tally() // group
  readonly errors = new Tally() // operation, code
  readonly operations = new Tally() // group, op, result, tier
  readonly factoryCalls = new Tally() // group, result
  readonly tagInvalidations = new Tally() // strategy
  fallbackOpenings = 0
  downtimeMs = 0
  private readonly stops: Array<() => void> = []

  constructor(
    readonly name: string,
    readonly cache: Cache,
    readonly groupOf: (storeKey: string) => string,
    readonly parts: {
      l1?: L1StatsSource
      bus?: BusStatsSource
      client?: RedisMonitoredClient
      fallback: boolean
    },
    observe: Observe,
    onFinished?: (operation: FinishedOperation) => void,
  ) {
    const group = groupOf
    this.stops.push(
      cache.on('hit', ({ key, tier, stale }) => {
        this.reads.inc(1, group(key), tier, stale ? 'stale' : 'hit')
        if (stale) this.stale.inc(1, tier)
      }),
      cache.on('miss', ({ key }) => this.reads.inc(1, group(key), 'none', 'miss')),
      cache.on('set', ({ key }) => this.writes.inc(1, group(key))),
      cache.on('delete', ({ key }) => this.deletes.inc(1, group(key))),
      cache.on('error', ({ error, operation }) => this.errors.inc(1, operation, error.code)),
      cache.on('tags:invalidate', ({ tags, strategy }) => this.tagInvalidations.inc(tags.length, strategy)),
      cache.on('fallback:open', () => {
        this.fallbackOpenings++
      }),
      cache.on('fallback:close', ({ downtimeMs }) => {
        this.downtimeMs += downtimeMs
      }),
      onOperations(tracingOwner(cache), (finished) => {
        this.count(finished)
        observe(this, finished)
        onFinished?.(finished)
      }),
    )
  }

  private count({ context, failed }: FinishedOperation): void {
    const group = this.groupOf(context.storeKey)
    if (context.operation === 'factory') {
      this.factoryCalls.inc(1, group, failed ? 'error' : 'ok')
      return
    }
    this.operations.inc(
      1,
      group,
      context.operation,
      resultOf(context.operation, context.hit, failed),
      tierOf(context),
    )
  }

  close(): void {
    for (const stop of this.stops.splice(0)) stop()
  }
}

/** `hit` / `miss` for reads, `ok` for writes, `error` when the call rejected. */
export function resultOf(operation: string, hit: boolean | undefined, failed: boolean): string {
  if (failed) return 'error'
  if (operation === 'get' || operation === 'getOrSet') return hit ? 'hit' : 'miss'
  return 'ok'
}

/**
 * The tier label of a traced operation: the tier that answered a read; `none` for a miss and for
 * writes; `remote` for a `getOrSet` answered by L2 or the fallback (core does not say which).
 */
export function tierOf(context: { operation: string; hit?: boolean; tier?: CacheTier }): string {
  if (context.tier) return context.tier
  if (context.operation === 'getOrSet' && context.hit) return 'remote'
  return 'none'
}
