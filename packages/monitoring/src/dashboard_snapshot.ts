import type { Registry } from 'prom-client'
import type { OperationLog, SlowOperation } from './operation_log.js'
import type { WindowSummary } from './rolling_window.js'

/** Latency of one operation since the metrics were attached, from the duration histogram. */
export interface DashboardLatency {
  op: string
  count: number
  /** Estimated like Prometheus' `histogram_quantile`; null before any call. */
  p50Ms: number | null
  p99Ms: number | null
}

/** One Redis node as the last INFO read saw it. */
export interface DashboardRedisNode {
  node: string
  up: boolean
  memoryUsedBytes?: number
  /** 0: no maxmemory. */
  memoryMaxBytes?: number
  clientsConnected?: number
  clientsMax?: number
}

/** One watched cache, counters since `cacheMetrics` was attached. */
export interface DashboardCache {
  name: string
  /** Keys read: fresh hits, stale serves, misses, and fresh hits by answering tier. */
  reads: { total: number; hits: number; stale: number; misses: number; hitsByTier: Record<string, number> }
  latency: DashboardLatency[]
  factory: { ok: number; error: number }
  errors: number
  breakerOpen: boolean
  fallbackActive: boolean
  /** With an `l1` given to `cacheMetrics`. */
  l1?: { entries: number; bytes: number; evictions: number }
  /** With a `client` given to `cacheMetrics`: one per node. */
  redis: DashboardRedisNode[]
}

/** What the dashboard's JSON endpoint answers. */
export interface DashboardSnapshot {
  /** Epoch ms of the read. */
  at: number
  caches: DashboardCache[]
  /** The newest slow operations first (with an operation log). */
  slow: SlowOperation[]
  /** The log's rolling window over every group (with an operation log). */
  window?: WindowSummary
}

interface Sample {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/**
 * Reads a snapshot for the dashboard from the registry `cacheMetrics` registered on, so the page
 * shows the very numbers Prometheus scrapes (this also reads Redis INFO, bounded by `infoTimeout`).
 */
export async function dashboardSnapshot(
  registry: Registry,
  prefix: string,
  log: OperationLog | undefined,
  slowLimit: number,
): Promise<DashboardSnapshot> {
  const families = new Map<string, Sample[]>()
  for (const metric of await registry.getMetricsAsJSON()) {
    if (metric.name.startsWith(`${prefix}_`)) {
      families.set(metric.name.slice(prefix.length + 1), (metric as unknown as { values: Sample[] }).values)
    }
  }
  const of = (name: string, cache: string) =>
    (families.get(name) ?? []).filter((sample) => String(sample.labels.cache) === cache)
  const sum = (samples: Sample[], where: (labels: Sample['labels']) => boolean = () => true) =>
    samples.reduce((total, s) => (where(s.labels) ? total + s.value : total), 0)

  const names = new Set<string>()
  for (const sample of families.get('operations_total') ?? []) names.add(String(sample.labels.cache))
  for (const sample of families.get('breaker_open') ?? []) names.add(String(sample.labels.cache))

  const caches = [...names].sort().map((name): DashboardCache => {
    const reads = of('reads_total', name)
    const hitsByTier: Record<string, number> = {}
    for (const sample of reads) {
      if (sample.labels.result !== 'hit') continue
      const tier = String(sample.labels.tier)
      hitsByTier[tier] = (hitsByTier[tier] ?? 0) + sample.value
    }
    const factory = of('factory_calls_total', name)
    const l1 = of('l1_entries', name)
    const cache: DashboardCache = {
      name,
      reads: {
        total: sum(reads),
        hits: sum(reads, (l) => l.result === 'hit'),
        stale: sum(reads, (l) => l.result === 'stale'),
        misses: sum(reads, (l) => l.result === 'miss'),
        hitsByTier,
      },
      latency: latencies(of('operation_duration_seconds', name)),
      factory: {
        ok: sum(factory, (l) => l.result === 'ok'),
        error: sum(factory, (l) => l.result === 'error'),
      },
      errors: sum(of('errors_total', name)),
      breakerOpen: sum(of('breaker_open', name)) > 0,
      fallbackActive: sum(of('fallback_active', name)) > 0,
      redis: redisNodes(name, of),
    }
    if (l1.length > 0) {
      cache.l1 = {
        entries: sum(l1),
        bytes: sum(of('l1_bytes', name)),
        evictions: sum(of('l1_evictions_total', name)),
      }
    }
    return cache
  })

  const snapshot: DashboardSnapshot = { at: Date.now(), caches, slow: [] }
  if (log) {
    snapshot.slow = log.slow().slice(-slowLimit).reverse()
    snapshot.window = log.window()
  }
  return snapshot
}

function redisNodes(cache: string, of: (name: string, cache: string) => Sample[]): DashboardRedisNode[] {
  const nodes = new Map<string, DashboardRedisNode>()
  const field = (metric: string, key: Exclude<keyof DashboardRedisNode, 'node' | 'up'>) => {
    for (const sample of of(metric, cache)) {
      const node = nodes.get(String(sample.labels.node))
      if (node) node[key] = sample.value
    }
  }
  for (const sample of of('redis_up', cache)) {
    const node = String(sample.labels.node)
    nodes.set(node, { node, up: sample.value === 1 })
  }
  field('redis_memory_used_bytes', 'memoryUsedBytes')
  field('redis_memory_max_bytes', 'memoryMaxBytes')
  field('redis_clients_connected', 'clientsConnected')
  field('redis_clients_max', 'clientsMax')
  return [...nodes.values()].sort((a, b) => a.node.localeCompare(b.node))
}

/** Per operation, the histogram's buckets summed over tiers, and its p50 and p99. */
function latencies(samples: Sample[]): DashboardLatency[] {
  const byOp = new Map<string, Map<number, number>>()
  for (const sample of samples) {
    if (!sample.metricName?.endsWith('_bucket')) continue
    const op = String(sample.labels.op)
    const le = sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels.le)
    let buckets = byOp.get(op)
    if (!buckets) {
      buckets = new Map()
      byOp.set(op, buckets)
    }
    buckets.set(le, (buckets.get(le) ?? 0) + sample.value)
  }
  return [...byOp]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, map]) => {
      const buckets = [...map].sort(([a], [b]) => a - b)
      const count = buckets.at(-1)?.[1] ?? 0
      const ms = (q: number) => {
        const seconds = histogramQuantile(q, buckets)
        return seconds === null ? null : seconds * 1000
      }
      return { op, count, p50Ms: ms(0.5), p99Ms: ms(0.99) }
    })
}

/**
 * Prometheus' `histogram_quantile` on cumulative `[le, count]` buckets sorted by `le` (the last
 * one `+Inf`): linear within the bucket that holds the rank; the highest finite bound when the
 * rank falls in `+Inf`. Null when there are no observations.
 */
export function histogramQuantile(
  q: number,
  buckets: ReadonlyArray<readonly [number, number]>,
): number | null {
  const total = buckets.at(-1)?.[1] ?? 0
  if (total === 0) return null
  const rank = q * total
  let lower = 0
  let below = 0
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower
      if (count === below) return le
      return lower + ((le - lower) * (rank - below)) / (count - below)
    }
    lower = le
    below = count
  }
  return lower
}
