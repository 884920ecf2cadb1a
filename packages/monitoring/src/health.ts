import { type Cache, type Duration, parseDuration } from '@cachekit/core'
import { MonitoringOptionError } from './errors.js'
import { type NodeInfo, type RedisMonitoredClient, readRedisInfo } from './redis_info.js'

/** The media type of a health report (draft-inadarei-api-health-check). */
export const HEALTH_CONTENT_TYPE = 'application/health+json'

/** pass: healthy; warn: healthy with concerns; fail: unhealthy. */
export type HealthStatus = 'pass' | 'warn' | 'fail'

/** One measurement of one component, as application/health+json writes it. */
export interface HealthCheckResult {
  componentId?: string
  componentType: 'component' | 'datastore' | 'system'
  observedValue?: number | boolean
  observedUnit?: string
  status: HealthStatus
  /** ISO 8601. */
  time: string
  /** Why it is not `pass` (omitted on pass). */
  output?: string
}

/** An application/health+json document. Serve it with `healthStatusCode(report)`. */
export interface HealthReport {
  status: HealthStatus
  version?: string
  serviceId?: string
  description?: string
  /** Keyed `component:measurement`; each value lists one result per node or instance. */
  checks: Record<string, HealthCheckResult[]>
}

/**
 * When a measurement turns `warn`. The defaults are the seed infrastructure's: Redis memory over
 * 80 % of maxmemory, clients over 90 % of maxclients, a hit rate under 80 %, over 1,000 evictions/s.
 */
export interface HealthThresholds {
  /** Percent of maxmemory. Default 80. */
  memoryUtilization?: number
  /** Percent of maxclients. Default 90. */
  clientUtilization?: number
  /** Percent of reads that hit. Default 80. */
  hitRate?: number
  /** Evictions per second (since the previous check of the same client). Default 1000. */
  evictionsPerSecond?: number
  /** Fewer reads than this (since the previous check) do not judge the hit rate. Default 100. */
  minReads?: number
}

/** Options of `checkHealth` and `checkReadiness`. */
export interface CheckHealthOptions {
  /** The cache: its hit rate and whether it runs on its fallback. */
  cache?: Cache
  /** The ioredis client or Cluster behind L2: INFO of each master. */
  client?: RedisMonitoredClient
  thresholds?: HealthThresholds
  /**
   * Whether the cache has a fallback store. With one, Redis down is `warn` (the fallback serves);
   * without, it is `fail`. Default false.
   */
  fallback?: boolean
  /** Bound on each INFO read. Default 1 s. */
  timeout?: Duration
  version?: string
  serviceId?: string
  description?: string
}

const DEFAULTS: Required<HealthThresholds> = {
  memoryUtilization: 80,
  clientUtilization: 90,
  hitRate: 80,
  evictionsPerSecond: 1000,
  minReads: 100,
}

/** Previous eviction counts per client and node, for a rate between two checks. */
const evictionSamples = new WeakMap<object, Map<string, { at: number; evicted: number }>>()
/** Previous read counts per cache, for a hit rate over the last interval. */
const readSamples = new WeakMap<object, { hits: number; misses: number }>()

/**
 * Checks Redis (response, memory, clients, evictions) and the cache (hit rate, fallback), and
 * returns an application/health+json report: the worst status of its checks. Redis down is `warn`
 * with a fallback store (the cache keeps serving) and `fail` without. Never throws for Redis.
 * @example
 * const report = await checkHealth({ cache, client, fallback: true })
 * res.status(healthStatusCode(report)).type(HEALTH_CONTENT_TYPE).send(report)
 */
export async function checkHealth(options: CheckHealthOptions): Promise<HealthReport> {
  const thresholds = resolveThresholds(options.thresholds)
  const time = new Date().toISOString()
  const checks: Record<string, HealthCheckResult[]> = {}
  if (options.client) {
    const nodes = await readRedisInfo(options.client, parseDuration(options.timeout ?? 1000))
    Object.assign(checks, redisChecks(options.client, nodes, thresholds, options.fallback ?? false, time))
  }
  if (options.cache) Object.assign(checks, cacheChecks(options.cache, thresholds, time))
  return report(options, checks)
}

/**
 * Readiness: can this instance serve? Redis answering, or the fallback standing in (`warn`).
 * Memory, clients and hit rate do not take an instance out of rotation, so they are not here.
 */
export async function checkReadiness(options: CheckHealthOptions): Promise<HealthReport> {
  const time = new Date().toISOString()
  const checks: Record<string, HealthCheckResult[]> = {}
  if (options.client) {
    const nodes = await readRedisInfo(options.client, parseDuration(options.timeout ?? 1000))
    checks['redis:responseTime'] = responseChecks(nodes, options.fallback ?? false, time)
  }
  if (options.cache) checks['cache:fallback'] = [fallbackCheck(options.cache, time)]
  return report(options, checks)
}

/**
 * Liveness: the process answers. It never looks at Redis: an orchestrator restarting instances
 * because a shared dependency is down only makes the outage worse.
 */
export function checkLiveness(
  options: Pick<CheckHealthOptions, 'version' | 'serviceId' | 'description'> = {},
): HealthReport {
  const time = new Date().toISOString()
  return report(options, {
    'process:uptime': [
      {
        componentType: 'system',
        observedValue: Math.round(process.uptime()),
        observedUnit: 's',
        status: 'pass',
        time,
      },
    ],
  })
}

/** The HTTP status for a report: 200 for pass and warn, 503 for fail (as the draft asks). */
export function healthStatusCode(report: Pick<HealthReport, 'status'>): 200 | 503 {
  return report.status === 'fail' ? 503 : 200
}

function report(
  options: Pick<CheckHealthOptions, 'version' | 'serviceId' | 'description'>,
  checks: Record<string, HealthCheckResult[]>,
): HealthReport {
  const results = Object.values(checks).flat()
  const status: HealthStatus = results.some((r) => r.status === 'fail')
    ? 'fail'
    : results.some((r) => r.status === 'warn')
      ? 'warn'
      : 'pass'
  return {
    status,
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.serviceId === undefined ? {} : { serviceId: options.serviceId }),
    ...(options.description === undefined ? {} : { description: options.description }),
    checks,
  }
}

function resolveThresholds(given: HealthThresholds | undefined): Required<HealthThresholds> {
  const thresholds = { ...DEFAULTS, ...given }
  for (const [name, value] of Object.entries(thresholds)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new MonitoringOptionError(
        `thresholds.${name} must be a non-negative number, got ${String(value)}`,
      )
    }
  }
  return thresholds
}

function responseChecks(nodes: NodeInfo[], fallback: boolean, time: string): HealthCheckResult[] {
  return nodes.map((node) =>
    node.ok
      ? {
          componentId: node.node,
          componentType: 'datastore',
          observedValue: round(node.responseMs),
          observedUnit: 'ms',
          status: 'pass',
          time,
        }
      : {
          componentId: node.node,
          componentType: 'datastore',
          status: fallback ? 'warn' : 'fail',
          time,
          output: `${node.error.message}${fallback ? '; the fallback store serves' : ''}`,
        },
  )
}

function redisChecks(
  client: object,
  nodes: NodeInfo[],
  thresholds: Required<HealthThresholds>,
  fallback: boolean,
  time: string,
): Record<string, HealthCheckResult[]> {
  const up = nodes.flatMap((node) => (node.ok ? [node] : []))
  const samples = evictionSamples.get(client) ?? new Map<string, { at: number; evicted: number }>()
  evictionSamples.set(client, samples)
  const now = Date.now()
  return {
    'redis:responseTime': responseChecks(nodes, fallback, time),
    'redis:memory': up.map(({ node, info }) => {
      if (info.maxMemoryBytes === 0) {
        // No maxmemory: nothing to compare with.
        return datastore(node, info.usedMemoryBytes, 'bytes', 'pass', time)
      }
      const percent = (100 * info.usedMemoryBytes) / info.maxMemoryBytes
      return judged(
        node,
        percent,
        '%',
        percent > thresholds.memoryUtilization,
        time,
        () => `used_memory is ${round(percent)} % of maxmemory, over ${thresholds.memoryUtilization} %`,
      )
    }),
    'redis:connections': up.map(({ node, info }) => {
      const percent = info.maxClients === 0 ? 0 : (100 * info.connectedClients) / info.maxClients
      return judged(
        node,
        percent,
        '%',
        percent > thresholds.clientUtilization,
        time,
        () =>
          `${info.connectedClients} of ${info.maxClients} clients connected, over ${thresholds.clientUtilization} %`,
      )
    }),
    'redis:evictions': up.map(({ node, info }) => {
      const previous = samples.get(node)
      samples.set(node, { at: now, evicted: info.evictedKeys })
      // The first check has no previous sample: the average since the server started stands in.
      const rate =
        previous && now > previous.at && info.evictedKeys >= previous.evicted
          ? ((info.evictedKeys - previous.evicted) * 1000) / (now - previous.at)
          : info.evictedKeys / Math.max(1, info.uptimeSeconds)
      return judged(
        node,
        rate,
        'evictions/s',
        rate > thresholds.evictionsPerSecond,
        time,
        () => `${round(rate)} evictions/s, over ${thresholds.evictionsPerSecond}`,
      )
    }),
  }
}

function cacheChecks(
  cache: Cache,
  thresholds: Required<HealthThresholds>,
  time: string,
): Record<string, HealthCheckResult[]> {
  const stats = cache.stats()
  const previous = readSamples.get(cache)
  readSamples.set(cache, { hits: stats.hits, misses: stats.misses })
  let hits = stats.hits - (previous?.hits ?? 0)
  let misses = stats.misses - (previous?.misses ?? 0)
  // Too few reads since the last check to judge them: judge the whole life instead.
  if (hits + misses < thresholds.minReads) {
    hits = stats.hits
    misses = stats.misses
  }
  const reads = hits + misses
  const percent = reads === 0 ? 100 : (100 * hits) / reads
  const judge = reads >= thresholds.minReads && percent < thresholds.hitRate
  return {
    'cache:hitRate': [
      {
        componentType: 'component',
        observedValue: round(percent),
        observedUnit: '%',
        status: judge ? 'warn' : 'pass',
        time,
        ...(judge
          ? { output: `hit rate ${round(percent)} % over ${reads} reads, under ${thresholds.hitRate} %` }
          : {}),
      },
    ],
    'cache:fallback': [fallbackCheck(cache, time)],
  }
}

function fallbackCheck(cache: Cache, time: string): HealthCheckResult {
  const using = cache.stats().usingFallback
  return {
    componentType: 'component',
    observedValue: using,
    status: using ? 'warn' : 'pass',
    time,
    ...(using ? { output: 'the remote tier is skipped; the fallback store serves' } : {}),
  }
}

function datastore(
  node: string,
  value: number,
  unit: string,
  status: HealthStatus,
  time: string,
): HealthCheckResult {
  return {
    componentId: node,
    componentType: 'datastore',
    observedValue: round(value),
    observedUnit: unit,
    status,
    time,
  }
}

function judged(
  node: string,
  value: number,
  unit: string,
  concern: boolean,
  time: string,
  why: () => string,
): HealthCheckResult {
  const result = datastore(node, value, unit, concern ? 'warn' : 'pass', time)
  return concern ? { ...result, output: why() } : result
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
