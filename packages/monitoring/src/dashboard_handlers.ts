import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Duration, parseDuration } from '@cachekit/core'
import { register as defaultRegistry, type Registry } from 'prom-client'
import { dashboardPage, dashboardPolicy } from './dashboard_page.js'
import { dashboardSnapshot } from './dashboard_snapshot.js'
import { type EndpointResponse, type FastifyLike, requestPath, respond } from './endpoints.js'
import { MonitoringOptionError } from './errors.js'
import { checkPrefix } from './metric_options.js'
import type { OperationLog } from './operation_log.js'

/** Options of the live dashboard page. */
export interface DashboardOptions {
  /** The registry `cacheMetrics` registered on. Default: prom-client's global `register`. */
  registry?: Registry
  /** The prefix given to `cacheMetrics`. Default `cachekit`. */
  prefix?: string
  /** An `operationLog` of the cache, for slow operations and the rolling window. */
  log?: OperationLog
  /** Where the page is served; its data is at the same path plus `.json`. Default `/cachekit`. */
  path?: string
  /** How often the page polls. Default 1 s; at least 100 ms. */
  refresh?: Duration
  /** Slow operations shown, newest first. Default 20. */
  slowLimit?: number
  /** The page's title. Default `cachekit`. */
  title?: string
}

const PATH = /^(\/[A-Za-z0-9._~-]+)+$/

/**
 * The answers of the dashboard routes, for any HTTP framework: the page at `path` and its data at
 * `path + '.json'`; `undefined` for any other path. Opt-in: nothing is served unless mounted.
 *
 * @throws {MonitoringOptionError} on a bad path, prefix, refresh or slowLimit.
 */
export function dashboardEndpoints(
  options: DashboardOptions = {},
): (path: string) => Promise<EndpointResponse | undefined> {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'cachekit'
  const page = options.path ?? '/cachekit'
  if (!PATH.test(page)) {
    throw new MonitoringOptionError(
      `path must look like /cachekit (no trailing slash), got ${JSON.stringify(page)}`,
    )
  }
  checkPrefix(prefix)
  const refreshMs = parseDuration(options.refresh ?? 1000)
  if (!(refreshMs >= 100))
    throw new MonitoringOptionError(`refresh must be at least 100 ms, got ${refreshMs} ms`)
  const slowLimit = options.slowLimit ?? 20
  if (!Number.isSafeInteger(slowLimit) || slowLimit < 0) {
    throw new MonitoringOptionError(`slowLimit must be a non-negative integer, got ${String(slowLimit)}`)
  }
  const title = options.title ?? 'cachekit'
  const data = `${page}.json`
  // Relative to the page, so the page keeps working when an app or a proxy mounts it under a prefix.
  const relativeData = `./${data.slice(data.lastIndexOf('/') + 1)}`

  return async (path): Promise<EndpointResponse | undefined> => {
    const route = path.split('?')[0]
    if (route === page) {
      const nonce = randomBytes(16).toString('base64')
      return {
        status: 200,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': dashboardPolicy(nonce),
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-store',
        },
        body: dashboardPage(relativeData, refreshMs, nonce, title),
      }
    }
    if (route === data) {
      const snapshot = await dashboardSnapshot(registry, prefix, options.log, slowLimit)
      return {
        status: 200,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        },
        body: JSON.stringify(snapshot),
      }
    }
    return undefined
  }
}

/**
 * Express (or plain `node:http`) middleware serving the live page and its JSON; other paths go to
 * `next`. `app.use(expressDashboard({ registry, log }))` serves `/cachekit`.
 *
 * @throws {MonitoringOptionError} on bad options.
 */
export function expressDashboard(
  options: DashboardOptions = {},
): (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void {
  const answer = dashboardEndpoints(options)
  return (request, response, next) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      if (next) next()
      else response.writeHead(404).end()
      return
    }
    respond(answer(requestPath(request)), response, next)
  }
}

/**
 * A Fastify plugin serving the live page and its JSON:
 * `await app.register(fastifyDashboard, { registry, log })` serves `/cachekit`.
 *
 * @throws {MonitoringOptionError} on bad options.
 */
export async function fastifyDashboard(fastify: FastifyLike, options: DashboardOptions = {}): Promise<void> {
  const answer = dashboardEndpoints(options)
  const page = options.path ?? '/cachekit'
  for (const route of [page, `${page}.json`]) {
    fastify.get(route, async (_request, reply) => {
      const result = (await answer(route))!
      return reply.code(result.status).headers(result.headers).send(result.body)
    })
  }
}
