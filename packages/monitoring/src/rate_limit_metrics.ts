import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Counter, register as defaultRegistry, Gauge, type Registry } from 'prom-client'
import { MetricsRegistrationError } from './errors.js'
import { checkName, checkPrefix, perRegistry } from './metric_options.js'

/**
 * The channel @cachekit/ratelimit publishes each decision on (its `DECISION_CHANNEL`). Named here
 * rather than imported: monitoring works without the rate limit package installed.
 */
const DECISION_CHANNEL = 'cachekit:ratelimit:decision'

/** What `rateLimitMetrics` needs of a limiter: a `RateLimiter` of @cachekit/ratelimit. */
export interface RateLimiterSource {
  on(event: 'down' | 'up' | 'failure' | 'corrupt', listener: () => void): unknown
  off(event: 'down' | 'up' | 'failure' | 'corrupt', listener: () => void): unknown
}

interface DecisionMessage {
  limiter: unknown
  result: { allowed: boolean; policy: string; source: string }
}

/** Options of `rateLimitMetrics`. */
export interface RateLimitMetricsOptions {
  /** The prom-client registry. Default: prom-client's global one. */
  registry?: Registry
  /** Metric name prefix. Default `cachekit`. */
  prefix?: string
  /** The `limiter` label: one name per limiter on a registry. Default `default`. */
  name?: string
}

/** A limiter's metrics; `close()` stops counting and frees its name. */
export interface RateLimitMetrics {
  close(): void
}

/** The rate limit metrics, after the prefix. Labels are bounded: limiter, rule name, result, source. */
export const RATE_LIMIT_METRICS = {
  ratelimit_decisions_total: {
    type: 'counter',
    labels: ['limiter', 'policy', 'result', 'source'],
    help: 'Rate limit decisions by deciding rule (policy), result (allowed, denied) and where they were made (redis, memory, local-block, blocked, insurance, fail-open, fail-closed).',
  },
  ratelimit_failures_total: {
    type: 'counter',
    labels: ['limiter'],
    help: 'Redis calls of the limiter that failed (the fallback decided them).',
  },
  ratelimit_corrupt_total: {
    type: 'counter',
    labels: ['limiter'],
    help: 'Stored rate limit states that were not the limiter’s and were dropped.',
  },
  ratelimit_redis_down: {
    type: 'gauge',
    labels: ['limiter'],
    help: '1 while the limiter cannot reach Redis and its onRedisDown choice decides.',
  },
} as const

interface Registered {
  decisions: Counter
  failures: Counter
  corrupt: Counter
  down: Gauge
  names: Set<string>
}

/**
 * Counts a rate limiter's decisions on a prom-client registry: `<prefix>_ratelimit_decisions_total`,
 * `_failures_total`, `_corrupt_total` and the `_redis_down` gauge. Decisions arrive through the
 * limiter's diagnostics channel, so an unwatched limiter pays one subscriber check per call. The
 * key is never a label.
 *
 * @example rateLimitMetrics(limiter, { registry, name: 'api' })
 */
export function rateLimitMetrics(
  limiter: RateLimiterSource,
  options: RateLimitMetricsOptions = {},
): RateLimitMetrics {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'cachekit'
  const name = options.name ?? 'default'
  checkPrefix(prefix)
  checkName(name)
  const metrics = metricsOn(registry, prefix)
  if (metrics.names.has(name))
    throw new MetricsRegistrationError(
      name,
      `a rate limiter named "${name}" is already registered on this registry with prefix "${prefix}"; give each limiter its own name`,
    )
  metrics.names.add(name)
  metrics.down.set({ limiter: name }, 0)
  metrics.failures.inc({ limiter: name }, 0)
  metrics.corrupt.inc({ limiter: name }, 0)

  // The label sets this limiter used, so `close()` can remove exactly its series.
  const series = new Map<string, Record<string, string>>()
  const onDecision = (message: unknown): void => {
    const { limiter: from, result } = message as DecisionMessage
    if (from !== limiter) return
    const outcome = result.allowed ? 'allowed' : 'denied'
    const id = `${result.policy}\u0000${outcome}\u0000${result.source}`
    let labels = series.get(id)
    if (labels === undefined) {
      labels = { limiter: name, policy: result.policy, result: outcome, source: result.source }
      series.set(id, labels)
    }
    metrics.decisions.inc(labels)
  }
  const onDown = () => metrics.down.set({ limiter: name }, 1)
  const onUp = () => metrics.down.set({ limiter: name }, 0)
  const onFailure = () => metrics.failures.inc({ limiter: name })
  const onCorrupt = () => metrics.corrupt.inc({ limiter: name })
  subscribe(DECISION_CHANNEL, onDecision)
  limiter.on('down', onDown)
  limiter.on('up', onUp)
  limiter.on('failure', onFailure)
  limiter.on('corrupt', onCorrupt)
  let closed = false
  return {
    close() {
      if (closed) return
      closed = true
      unsubscribe(DECISION_CHANNEL, onDecision)
      limiter.off('down', onDown)
      limiter.off('up', onUp)
      limiter.off('failure', onFailure)
      limiter.off('corrupt', onCorrupt)
      metrics.names.delete(name)
      for (const labels of series.values()) metrics.decisions.remove(labels)
      for (const metric of [metrics.failures, metrics.corrupt, metrics.down]) metric.remove({ limiter: name })
    },
  }
}

const metricsOn = perRegistry((registry: Registry, prefix: string): Registered => {
  const make = <K extends keyof typeof RATE_LIMIT_METRICS>(key: K) => {
    const spec = RATE_LIMIT_METRICS[key]
    const fullName = `${prefix}_${key}`
    if (registry.getSingleMetric(fullName))
      throw new MetricsRegistrationError(fullName, `the registry already holds a metric named ${fullName}`)
    const config = { name: fullName, help: spec.help, labelNames: [...spec.labels], registers: [registry] }
    return spec.type === 'counter' ? new Counter(config) : new Gauge(config)
  }
  const metrics: Registered = {
    decisions: make('ratelimit_decisions_total') as Counter,
    failures: make('ratelimit_failures_total') as Counter,
    corrupt: make('ratelimit_corrupt_total') as Counter,
    down: make('ratelimit_redis_down') as Gauge,
    names: new Set(),
  }
  return metrics
})
