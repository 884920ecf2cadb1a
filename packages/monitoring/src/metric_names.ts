/**
 * Every metric `cacheMetrics` exports, by its name after the prefix. Prometheus naming: counters
 * end in `_total`, durations are `_seconds`, sizes `_bytes`, ratios 0..1; labels are bounded (no
 * key, ever). The Grafana dashboard and the naming test are built from this table.
 */
export const METRICS = {
  operations_total: { type: 'counter', labels: ['cache', 'group', 'op', 'result', 'tier'] },
  operation_duration_seconds: { type: 'histogram', labels: ['cache', 'op', 'tier'] },
  reads_total: { type: 'counter', labels: ['cache', 'group', 'tier', 'result'] },
  stale_served_total: { type: 'counter', labels: ['cache', 'tier'] },
  writes_total: { type: 'counter', labels: ['cache', 'group'] },
  deletes_total: { type: 'counter', labels: ['cache', 'group'] },
  errors_total: { type: 'counter', labels: ['cache', 'operation', 'code'] },
  factory_calls_total: { type: 'counter', labels: ['cache', 'group', 'result'] },
  factory_duration_seconds: { type: 'histogram', labels: ['cache', 'group'] },
  tag_invalidations_total: { type: 'counter', labels: ['cache', 'strategy'] },
  breaker_open: { type: 'gauge', labels: ['cache'] },
  fallback_active: { type: 'gauge', labels: ['cache'] },
  fallback_openings_total: { type: 'counter', labels: ['cache'] },
  fallback_downtime_seconds_total: { type: 'counter', labels: ['cache'] },
  l1_entries: { type: 'gauge', labels: ['cache'] },
  l1_bytes: { type: 'gauge', labels: ['cache'] },
  l1_evictions_total: { type: 'counter', labels: ['cache'] },
  bus_messages_published_total: { type: 'counter', labels: ['cache'] },
  bus_messages_received_total: { type: 'counter', labels: ['cache'] },
  bus_messages_lost_total: { type: 'counter', labels: ['cache'] },
  redis_up: { type: 'gauge', labels: ['cache', 'node'] },
  redis_memory_used_bytes: { type: 'gauge', labels: ['cache', 'node'] },
  redis_memory_max_bytes: { type: 'gauge', labels: ['cache', 'node'] },
  redis_clients_connected: { type: 'gauge', labels: ['cache', 'node'] },
  redis_clients_max: { type: 'gauge', labels: ['cache', 'node'] },
  redis_evicted_keys_total: { type: 'counter', labels: ['cache', 'node'] },
  redis_keyspace_hit_ratio: { type: 'gauge', labels: ['cache', 'node'] },
  redis_ops_per_second: { type: 'gauge', labels: ['cache', 'node'] },
} as const satisfies Record<string, { type: 'counter' | 'gauge' | 'histogram'; labels: readonly string[] }>

/** A metric's name after the prefix, e.g. `reads_total`. */
export type MetricName = keyof typeof METRICS

/** Default latency buckets, seconds: cache calls take microseconds to a few milliseconds. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]

/** The exported names for `prefix`, e.g. `cachekit_reads_total`. */
export function metricNames(prefix = 'cachekit'): string[] {
  return Object.keys(METRICS).map((name) => `${prefix}_${name}`)
}
