import type { IncomingMessage, ServerResponse } from 'node:http'
import { register as defaultRegistry, Registry, type RegistryContentType } from 'prom-client'
import {
  type CheckHealthOptions,
  checkHealth,
  checkLiveness,
  checkReadiness,
  HEALTH_CONTENT_TYPE,
  type HealthReport,
  healthStatusCode,
} from './health.js'

/** Options of the monitoring endpoints. */
export interface MonitoringEndpointsOptions {
  /** The registry served at `/metrics`. Default: prom-client's global `register`. */
  registry?: Registry<RegistryContentType>
  /** What `/health` and `/health/ready` check (cache, client, thresholds, fallback). */
  health?: CheckHealthOptions
  /** Mount point of the routes. Default `''`: `/metrics`, `/health`, `/health/live`, `/health/ready`. */
  basePath?: string
}

/** An HTTP answer, framework-free. */
export interface EndpointResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** The routes the handlers serve, after `basePath`. */
export const MONITORING_ROUTES = ['/metrics', '/health', '/health/live', '/health/ready'] as const

/** True when an Accept header asks for OpenMetrics rather than the Prometheus text format. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept)
}

/**
 * The answers of the monitoring routes, for any HTTP framework: `undefined` for a path that is not
 * one of them. `/metrics` speaks Prometheus text, or OpenMetrics when the Accept header asks.
 */
export function monitoringEndpoints(
  options: MonitoringEndpointsOptions = {},
): (path: string, accept?: string) => Promise<EndpointResponse | undefined> {
  const registry: Registry<RegistryContentType> = options.registry ?? defaultRegistry
  const base = (options.basePath ?? '').replace(/\/+$/, '')
  const health = options.health ?? {}
  const asHealth = (report: HealthReport): EndpointResponse => ({
    status: healthStatusCode(report),
    headers: { 'content-type': HEALTH_CONTENT_TYPE, 'cache-control': 'no-store' },
    body: JSON.stringify(report),
  })
  return async (path, accept) => {
    const route = path.split('?')[0]!
    if (!route.startsWith(base)) return undefined
    switch (route.slice(base.length)) {
      case '/metrics':
        return metrics(registry, wantsOpenMetrics(accept))
      case '/health':
        return asHealth(await checkHealth(health))
      case '/health/live':
        return asHealth(checkLiveness(health))
      case '/health/ready':
        return asHealth(await checkReadiness(health))
      default:
        return undefined
    }
  }
}

async function metrics(
  registry: Registry<RegistryContentType>,
  openMetrics: boolean,
): Promise<EndpointResponse> {
  const body = await registry.metrics()
  if (!openMetrics || registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE) {
    return { status: 200, headers: { 'content-type': registry.contentType }, body }
  }
  return {
    status: 200,
    headers: { 'content-type': Registry.OPENMETRICS_CONTENT_TYPE },
    body: toOpenMetrics(body),
  }
}

/**
 * Rewrites a Prometheus text exposition as OpenMetrics: a counter's family is named without
 * `_total` while its samples keep it, no blank lines, and a final `# EOF`. prom-client can render
 * OpenMetrics itself only from a registry set to that format, and doing so renames the metric
 * objects in place (it strips `_total` from `metric.name`), which would corrupt the user's registry
 * for every later Prometheus scrape; so the text is converted instead.
 */
export function toOpenMetrics(prometheusText: string): string {
  const lines = prometheusText.split('\n').filter((line) => line !== '')
  const counters = new Set<string>()
  for (const line of lines) {
    const match = /^# TYPE (\S+) counter$/.exec(line)
    if (match) counters.add(match[1]!)
  }
  const family = (name: string) => name.replace(/_total$/, '')
  const out = lines.map((line) => {
    const meta = /^# (HELP|TYPE) (\S+)(.*)$/.exec(line)
    if (meta) return counters.has(meta[2]!) ? `# ${meta[1]} ${family(meta[2]!)}${meta[3]}` : line
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(line)
    if (sample && counters.has(sample[1]!)) return `${family(sample[1]!)}_total${sample[2]}`
    return line
  })
  return `${out.join('\n')}\n# EOF\n`
}

/**
 * Express (or plain `node:http`) middleware serving the monitoring routes; other paths go to
 * `next`. `app.use(expressMonitoring({ registry, health: { cache, client, fallback: true } }))`
 */
export function expressMonitoring(
  options: MonitoringEndpointsOptions = {},
): (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void {
  const answer = monitoringEndpoints(options)
  return (request, response, next) => {
    const accept = request.headers.accept
    respond(answer(requestPath(request), accept), response, next)
  }
}

/** The path of a Node request: Express' `path` (after its mount point), else the URL. */
export function requestPath(request: IncomingMessage): string {
  return (request as IncomingMessage & { path?: string }).path ?? request.url ?? '/'
}

/**
 * Writes an answer to a Node response; a path that is not ours goes to `next` (Express) or is a
 * 404 (plain `node:http`), and a failure goes to `next` or is a 500.
 */
export function respond(
  answer: Promise<EndpointResponse | undefined>,
  response: ServerResponse,
  next: ((error?: unknown) => void) | undefined,
): void {
  answer.then(
    (result) => {
      if (!result) {
        if (next) next()
        else response.writeHead(404).end()
        return
      }
      response.writeHead(result.status, result.headers).end(result.body)
    },
    (error: unknown) => (next ? next(error) : response.writeHead(500).end()),
  )
}

/** The part of a Fastify instance the plugin uses. */
export interface FastifyLike {
  get(
    path: string,
    handler: (
      request: { headers: Record<string, string | string[] | undefined>; url: string },
      reply: FastifyReplyLike,
    ) => Promise<unknown>,
  ): unknown
}

/** The part of a Fastify reply the plugin uses. */
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike
  headers(values: Record<string, string>): FastifyReplyLike
  send(body: string): FastifyReplyLike
}

/**
 * A Fastify plugin serving the monitoring routes:
 * `await app.register(fastifyMonitoring, { registry, health: { cache, client } })`.
 */
export async function fastifyMonitoring(
  fastify: FastifyLike,
  options: MonitoringEndpointsOptions = {},
): Promise<void> {
  const answer = monitoringEndpoints(options)
  const base = (options.basePath ?? '').replace(/\/+$/, '')
  for (const route of MONITORING_ROUTES) {
    fastify.get(`${base}${route}`, async (request, reply) => {
      const accept = request.headers.accept
      const result = await answer(`${base}${route}`, Array.isArray(accept) ? accept.join(',') : accept)
      return reply.code(result!.status).headers(result!.headers).send(result!.body)
    })
  }
}
