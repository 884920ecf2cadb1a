/** The parts of a request that keys are made of; Express' and Fastify's requests both have them. */
export interface KeyedRequest {
  /** The client's address, as the framework resolved it (mind `trust proxy`). */
  ip?: string | undefined
  method?: string | undefined
  url?: string | undefined
}

/**
 * What a request is limited by:
 * - `'ip'`: the client address (the default);
 * - `'ip+route'`: the client address and the route, so each route has its own quota per client;
 * - a function: anything else, e.g. the user (`(req) => req.user?.id ?? req.ip`). Returning
 *   `undefined` lets the request through without a decision.
 */
export type KeyBy<R> = 'ip' | 'ip+route' | ((request: R) => string | undefined)

/** The key of a request, or undefined to skip it. */
export function requestKey<R extends KeyedRequest>(
  request: R,
  keyBy: KeyBy<R>,
  route: string | undefined,
): string | undefined {
  if (typeof keyBy === 'function') return keyBy(request)
  const ip = request.ip ?? 'unknown'
  if (keyBy === 'ip') return `ip:${ip}`
  return `route:${request.method ?? 'GET'} ${route ?? pathOf(request.url)}|ip:${ip}`
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
