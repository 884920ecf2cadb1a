import { Counter, register as defaultRegistry, Gauge, type Registry } from 'prom-client'
import { MetricsRegistrationError } from './errors.js'
import { checkName, checkPrefix, perRegistry } from './metric_options.js'

/** The session events counted, with the payload field that becomes the `reason` label. */
const EVENTS = [
  'created',
  'destroyed',
  'expired',
  'conflict',
  'tamper',
  'bind-mismatch',
  'refused',
  'error',
] as const
type SessionEvent = (typeof EVENTS)[number]

/** What `sessionMetrics` needs of a session manager: `createSessions` of @cachekit/sessions. */
export interface SessionsSource {
  on(event: SessionEvent, listener: (payload: object) => void): () => void
  count(): Promise<number>
}

/** Options of `sessionMetrics`. */
export interface SessionMetricsOptions {
  /** The prom-client registry. Default: prom-client's global one. */
  registry?: Registry
  /** Metric name prefix. Default `cachekit`. */
  prefix?: string
  /** The `sessions` label: one name per manager on a registry. Default `default`. */
  name?: string
  /**
   * Read `count()` for `<prefix>_sessions_active` at each scrape (16 ZSET reads, no scan).
   * Default true.
   */
  countAtScrape?: boolean
}

/** A session manager's metrics; `close()` stops counting and frees its name. */
export interface SessionMetrics {
  close(): void
}

/** The session metrics, after the prefix. */
export const SESSION_METRICS = {
  sessions_events_total: {
    type: 'counter',
    labels: ['sessions', 'event', 'reason'],
    help: 'Session events: created, destroyed (reason: destroy, destroyAll, evicted, regenerated), expired, conflict, tamper, bind-mismatch (reason: ip, userAgent), refused (reason: destroyed, missing), error.',
  },
  sessions_active: {
    type: 'gauge',
    labels: ['sessions'],
    help: 'Live sessions, from the manager’s count() at scrape time.',
  },
} as const

interface Registered {
  events: Counter
  active: Gauge
  managers: Map<string, SessionsSource | undefined>
}

/**
 * Counts a session manager's events on a prom-client registry (`<prefix>_sessions_events_total`),
 * and reads its live count at scrape time (`<prefix>_sessions_active`). Ids are never labels.
 *
 * @example sessionMetrics(sessions, { registry })
 */
export function sessionMetrics(
  sessions: SessionsSource,
  options: SessionMetricsOptions = {},
): SessionMetrics {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'cachekit'
  const name = options.name ?? 'default'
  checkPrefix(prefix)
  checkName(name)
  const metrics = metricsOn(registry, prefix)
  if (metrics.managers.has(name))
    throw new MetricsRegistrationError(
      name,
      `a session manager named "${name}" is already registered on this registry with prefix "${prefix}"; give each its own name`,
    )
  metrics.managers.set(name, options.countAtScrape === false ? undefined : sessions)
  const seen: Array<Record<string, string>> = []
  const stops = EVENTS.map((event) =>
    sessions.on(event, (payload) => {
      const labels = { sessions: name, event, reason: reasonOf(payload) }
      if (!seen.some((l) => l.event === labels.event && l.reason === labels.reason)) seen.push(labels)
      metrics.events.inc(labels)
    }),
  )
  let closed = false
  return {
    close() {
      if (closed) return
      closed = true
      for (const stop of stops) stop()
      metrics.managers.delete(name)
      for (const labels of seen) metrics.events.remove(labels)
      metrics.active.remove({ sessions: name })
    },
  }
}

const metricsOn = perRegistry((registry: Registry, prefix: string): Registered => {
  for (const key of Object.keys(SESSION_METRICS))
    if (registry.getSingleMetric(`${prefix}_${key}`))
      throw new MetricsRegistrationError(
        `${prefix}_${key}`,
        `the registry already holds a metric named ${prefix}_${key}`,
      )
  const managers = new Map<string, SessionsSource | undefined>()
  const events = new Counter({
    name: `${prefix}_sessions_events_total`,
    help: SESSION_METRICS.sessions_events_total.help,
    labelNames: [...SESSION_METRICS.sessions_events_total.labels],
    registers: [registry],
  })
  const active = new Gauge({
    name: `${prefix}_sessions_active`,
    help: SESSION_METRICS.sessions_active.help,
    labelNames: [...SESSION_METRICS.sessions_active.labels],
    registers: [registry],
    // A manager whose count fails at this scrape (Redis down) has no sample this time, rather than a wrong one.
    async collect() {
      this.reset()
      await Promise.all(
        [...managers].map(async ([label, source]) => {
          if (source === undefined) return
          const count = await source.count().catch(() => undefined)
          if (count !== undefined) this.set({ sessions: label }, count)
        }),
      )
    },
  })
  return { events, active, managers }
})

/** The bounded part of a payload: `reason` (destroyed, refused) or `binding` (bind-mismatch); never an id. */
function reasonOf(payload: object): string {
  const { reason, binding } = payload as { reason?: unknown; binding?: unknown }
  if (typeof reason === 'string') return reason
  return typeof binding === 'string' ? binding : ''
}
