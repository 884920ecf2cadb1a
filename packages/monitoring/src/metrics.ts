import { type Cache, type Duration, parseDuration } from '@cachekit/core'
import { register as defaultRegistry, type Registry } from 'prom-client'
import { type BusStatsSource, CacheSource, type L1StatsSource } from './cache_source.js'
import { MetricsRegistrationError, MonitoringOptionError } from './errors.js'
import { groupOf, type KeyGroups } from './key_groups.js'
import { DEFAULT_BUCKETS } from './metric_names.js'
import { checkName, checkPrefix } from './metric_options.js'
import { MetricSet } from './metric_set.js'
import type { RedisMonitoredClient } from './redis_info.js'

/** Options of `cacheMetrics`. */
export interface CacheMetricsOptions {
  /** The prom-client registry to register on. Default: prom-client's global `register`. */
  registry?: Registry
  /** One word that starts every metric name. Default `cachekit`. */
  prefix?: string
  /** The `cache` label: tells caches apart on one registry. Default `default`. */
  name?: string
  /** Folds keys into a few `group` label values; without it every series has `group="all"`. */
  keyGroups?: KeyGroups
  /** The L1 store given to the cache (`memoryStore()`), for L1 entries, bytes and evictions. */
  l1?: L1StatsSource
  /** The bus given to the cache (`redisBus()`), for messages published, received and lost. */
  bus?: BusStatsSource
  /** The ioredis client or Cluster behind L2: INFO is read at each scrape, one series per master. */
  client?: RedisMonitoredClient
  /** Whether the cache has a fallback store (for `fallback_active`). Default false. */
  fallback?: boolean
  /** Latency histogram buckets, seconds. Default from 50 µs to 2.5 s. */
  buckets?: readonly number[]
  /** Bound on each INFO read at scrape time. Default 1 s. */
  infoTimeout?: Duration
}

/** What `cacheMetrics` returns. */
export interface CacheMetrics {
  /** The registry the metrics are on. */
  readonly registry: Registry
  /** Stops watching the cache; the metrics leave the registry with the last cache watched there. */
  close(): void
}

const sets = new WeakMap<Registry, Map<string, MetricSet>>()

/**
 * Exports a cache's metrics on a prom-client registry, with Prometheus names and bounded labels:
 * calls and their latency by operation and tier, reads by tier and result, stale serves, factory
 * calls, errors, L1 size, breaker and fallback, bus messages, tag invalidations, and Redis INFO
 * gauges read at scrape time. Several caches may share a registry under different `name`s.
 *
 * @throws {MetricsRegistrationError} when this `name` is already watched on this registry and
 *   prefix, or the registry holds a foreign metric under one of the names (`E_INVALID_OPTION`).
 * @example
 * const registry = new Registry()
 * cacheMetrics(cache, { registry, prefix: 'cachekit', keyGroups: [[/:user:/, 'users']] })
 * app.get('/metrics', async () => registry.metrics())
 */
export function cacheMetrics(cache: Cache, options: CacheMetricsOptions = {}): CacheMetrics {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'cachekit'
  const name = options.name ?? 'default'
  checkPrefix(prefix)
  checkName(name)
  const buckets = options.buckets ?? DEFAULT_BUCKETS
  if (buckets.length === 0 || buckets.some((b, i) => !(b > 0) || (i > 0 && b <= buckets[i - 1]!))) {
    throw new MonitoringOptionError('buckets must be positive and increasing')
  }
  const group = options.keyGroups === undefined ? () => 'all' : groupOf(options.keyGroups)

  let byPrefix = sets.get(registry)
  if (!byPrefix) {
    byPrefix = new Map()
    sets.set(registry, byPrefix)
  }
  let set = byPrefix.get(prefix)
  if (set?.sources.has(name)) {
    throw new MetricsRegistrationError(
      name,
      `a cache named "${name}" is already registered on this registry with prefix "${prefix}"; give each cache its own name`,
    )
  }
  if (!set) {
    set = new MetricSet({
      registry,
      prefix,
      buckets,
      infoTimeoutMs: parseDuration(options.infoTimeout ?? 1000),
    })
    byPrefix.set(prefix, set)
  }
  const metricSet = set
  const source = new CacheSource(
    name,
    cache,
    group,
    { l1: options.l1, bus: options.bus, client: options.client, fallback: options.fallback ?? false },
    (s, finished) => metricSet.observe(s, finished),
  )
  metricSet.sources.set(name, source)

  let closed = false
  return {
    registry,
    close() {
      if (closed) return
      closed = true
      source.close()
      metricSet.sources.delete(name)
      if (metricSet.sources.size === 0) {
        metricSet.unregister()
        byPrefix.delete(prefix)
      }
    },
  }
}
