import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { type CacheSource, tierOf } from './cache_source.js'
import { MetricsRegistrationError } from './errors.js'
import { METRICS, type MetricName } from './metric_names.js'
import { type NodeInfo, readRedisInfo } from './redis_info.js'
import type { Tally } from './tally.js'
import type { FinishedOperation } from './tracing_subscriber.js'

type Labels = Record<string, string>

const HELP: Record<MetricName, string> = {
  operations_total: 'Cache calls by operation (get, getOrSet, set, delete), result and answering tier.',
  operation_duration_seconds: 'Duration of cache calls by operation and answering tier.',
  reads_total: 'Keys read, by the tier that answered (none for a miss) and result (hit, stale, miss).',
  stale_served_total: 'Stale values served within grace, by tier.',
  writes_total: 'Keys written to the cache.',
  deletes_total: 'Keys deleted from the cache.',
  errors_total: 'Cache failures, by operation and error code (counted and emitted, never thrown).',
  factory_calls_total: 'Factory calls of getOrSet, by result (ok, error).',
  factory_duration_seconds: 'Duration of factory calls.',
  tag_invalidations_total: 'Tags invalidated, by strategy.',
  breaker_open: '1 while the circuit breaker skips the remote tier (L2).',
  fallback_active: '1 while the fallback store serves in place of L2.',
  fallback_openings_total: 'Times the breaker opened and the fallback took over.',
  fallback_downtime_seconds_total: 'Time spent on the fallback, counted when L2 came back.',
  l1_entries: 'Entries held by the in-process tier (L1).',
  l1_bytes: 'Bytes held by the in-process tier (L1).',
  l1_evictions_total: 'Live L1 entries evicted to make room.',
  bus_messages_published_total: 'Bus messages published by this instance.',
  bus_messages_received_total: 'Bus messages received from other instances.',
  bus_messages_lost_total: 'Bus messages known lost (sequence gaps).',
  redis_up: '1 when the Redis node answered INFO at this scrape.',
  redis_memory_used_bytes: 'Redis used_memory.',
  redis_memory_max_bytes: 'Redis maxmemory (0: no limit).',
  redis_clients_connected: 'Redis connected_clients.',
  redis_clients_max: 'Redis maxclients.',
  redis_evicted_keys_total: 'Redis evicted_keys since the server started.',
  redis_keyspace_hit_ratio: 'Redis keyspace_hits / (keyspace_hits + keyspace_misses), 0 before any lookup.',
  redis_ops_per_second: 'Redis instantaneous_ops_per_sec.',
}

/** Options of the metrics shared by every cache watched on one registry and prefix. */
export interface MetricSetOptions {
  registry: Registry
  prefix: string
  buckets: readonly number[]
  infoTimeoutMs: number
}

/**
 * The prom-client metrics of one registry and prefix, shared by every cache watched there (each
 * labelled by its `cache` name). Counters are filled from the sources' tallies at scrape time;
 * Redis gauges read INFO once per scrape for all of them.
 */
export class MetricSet {
  readonly sources = new Map<string, CacheSource>()
  private readonly metrics: Array<Counter | Gauge | Histogram> = []
  private readonly durations: Histogram
  private readonly factoryDurations: Histogram
  private redisRead: Promise<Map<CacheSource, NodeInfo[]>> | undefined

  constructor(private readonly options: MetricSetOptions) {
    const set = this
    const tallied = (name: MetricName, pick: (source: CacheSource) => Tally) =>
      this.counter(name, function (this: Counter) {
        this.reset()
        for (const source of set.sources.values()) {
          const labelNames = METRICS[name].labels.slice(1)
          for (const [values, count] of pick(source).entries()) {
            const labels: Labels = { cache: source.name }
            labelNames.forEach((label, i) => {
              labels[label] = values[i]!
            })
            this.inc(labels, count)
          }
        }
      })
    const total = (name: MetricName, read: (source: CacheSource) => number | undefined) =>
      this.counter(name, function (this: Counter) {
        this.reset()
        for (const source of set.sources.values()) {
          const value = read(source)
          if (value !== undefined) this.inc({ cache: source.name }, value)
        }
      })
    const gauge = (name: MetricName, read: (source: CacheSource) => number | undefined) =>
      this.gauge(name, function (this: Gauge) {
        this.reset()
        for (const source of set.sources.values()) {
          const value = read(source)
          if (value !== undefined) this.set({ cache: source.name }, value)
        }
      })
    const redis = (name: MetricName, read: (node: NodeInfo) => number | undefined, counter = false) => {
      async function collect(this: Counter | Gauge) {
        const nodes = await set.readRedis()
        this.reset()
        for (const [source, infos] of nodes) {
          for (const node of infos) {
            const value = read(node)
            if (value === undefined) continue
            const labels = { cache: source.name, node: node.node }
            if (this instanceof Counter) this.inc(labels, value)
            else this.set(labels, value)
          }
        }
      }
      if (counter) this.counter(name, collect)
      else this.gauge(name, collect)
    }

    tallied('operations_total', (s) => s.operations)
    this.durations = this.histogram('operation_duration_seconds')
    tallied('reads_total', (s) => s.reads)
    tallied('stale_served_total', (s) => s.stale)
    tallied('writes_total', (s) => s.writes)
    tallied('deletes_total', (s) => s.deletes)
    tallied('errors_total', (s) => s.errors)
    tallied('factory_calls_total', (s) => s.factoryCalls)
    this.factoryDurations = this.histogram('factory_duration_seconds')
    tallied('tag_invalidations_total', (s) => s.tagInvalidations)
    gauge('breaker_open', (s) => (s.cache.stats().usingFallback ? 1 : 0))
    gauge('fallback_active', (s) => (s.parts.fallback && s.cache.stats().usingFallback ? 1 : 0))
    total('fallback_openings_total', (s) => s.fallbackOpenings)
    total('fallback_downtime_seconds_total', (s) => s.downtimeMs / 1000)
    gauge('l1_entries', (s) => s.parts.l1?.stats().entries)
    gauge('l1_bytes', (s) => s.parts.l1?.stats().bytes)
    total('l1_evictions_total', (s) => s.parts.l1?.stats().evictions)
    total('bus_messages_published_total', (s) => s.parts.bus?.stats().published)
    total('bus_messages_received_total', (s) => s.parts.bus?.stats().received)
    total('bus_messages_lost_total', (s) => s.parts.bus?.stats().missed)
    redis('redis_up', (n) => (n.ok ? 1 : 0))
    redis('redis_memory_used_bytes', (n) => (n.ok ? n.info.usedMemoryBytes : undefined))
    redis('redis_memory_max_bytes', (n) => (n.ok ? n.info.maxMemoryBytes : undefined))
    redis('redis_clients_connected', (n) => (n.ok ? n.info.connectedClients : undefined))
    redis('redis_clients_max', (n) => (n.ok ? n.info.maxClients : undefined))
    redis('redis_evicted_keys_total', (n) => (n.ok ? n.info.evictedKeys : undefined), true)
    redis('redis_keyspace_hit_ratio', (n) => {
      if (!n.ok) return undefined
      const lookups = n.info.keyspaceHits + n.info.keyspaceMisses
      return lookups === 0 ? 0 : n.info.keyspaceHits / lookups
    })
    redis('redis_ops_per_second', (n) => (n.ok ? n.info.opsPerSecond : undefined))
  }

  /** Records a finished traced operation's duration. */
  observe(source: CacheSource, { context, durationMs }: FinishedOperation): void {
    const seconds = durationMs / 1000
    if (context.operation === 'factory') {
      this.factoryDurations.observe({ cache: source.name, group: source.groupOf(context.storeKey) }, seconds)
    } else {
      this.durations.observe({ cache: source.name, op: context.operation, tier: tierOf(context) }, seconds)
    }
  }

  /** Removes every metric of this set from the registry (after the last cache was detached). */
  unregister(): void {
    for (const metric of this.metrics) this.options.registry.removeSingleMetric(metricName(metric))
  }

  /** INFO of every watched Redis, read once per scrape however many gauges ask for it. */
  private readRedis(): Promise<Map<CacheSource, NodeInfo[]>> {
    this.redisRead ??= (async () => {
      const result = new Map<CacheSource, NodeInfo[]>()
      const sources = [...this.sources.values()].filter((s) => s.parts.client !== undefined)
      const infos = await Promise.all(
        sources.map((s) => readRedisInfo(s.parts.client!, this.options.infoTimeoutMs)),
      )
      sources.forEach((source, i) => {
        result.set(source, infos[i]!)
      })
      return result
    })().finally(() => {
      // The registry asks every metric in the same tick; the next scrape reads INFO again.
      setImmediate(() => {
        this.redisRead = undefined
      })
    })
    return this.redisRead
  }

  private counter(name: MetricName, collect: (this: Counter) => void | Promise<void>): Counter {
    return this.track(
      name,
      () =>
        new Counter({
          name: this.fullName(name),
          help: HELP[name],
          labelNames: METRICS[name].labels,
          registers: [this.options.registry],
          collect,
        }),
    )
  }

  private gauge(name: MetricName, collect: (this: Gauge) => void | Promise<void>): Gauge {
    return this.track(
      name,
      () =>
        new Gauge({
          name: this.fullName(name),
          help: HELP[name],
          labelNames: METRICS[name].labels,
          registers: [this.options.registry],
          collect,
        }),
    )
  }

  private histogram(name: MetricName): Histogram {
    return this.track(
      name,
      () =>
        new Histogram({
          name: this.fullName(name),
          help: HELP[name],
          labelNames: METRICS[name].labels,
          buckets: [...this.options.buckets],
          registers: [this.options.registry],
        }),
    )
  }

  private track<M extends Counter | Gauge | Histogram>(name: MetricName, create: () => M): M {
    const fullName = this.fullName(name)
    if (this.options.registry.getSingleMetric(fullName)) {
      this.unregister()
      throw new MetricsRegistrationError(
        fullName,
        `the registry already has a metric named ${fullName}; pass another prefix or registry`,
      )
    }
    const metric = create()
    this.metrics.push(metric)
    return metric
  }

  private fullName(name: MetricName): string {
    return `${this.options.prefix}_${name}`
  }
}

function metricName(metric: Counter | Gauge | Histogram): string {
  return (metric as unknown as { name: string }).name
}
