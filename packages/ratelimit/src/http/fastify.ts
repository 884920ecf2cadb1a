import type { RateLimiter } from '../rate_limiter.js'
import type { RateLimitResult } from '../result.js'
import { quotaExceededProblem, rateLimitHeaders } from './headers.js'
import type { HttpLimitOptions } from './middleware_options.js'
import { type KeyedRequest, requestKey } from './request_key.js'

/** The parts of a Fastify request the hook reads. */
export interface FastifyLikeRequest extends KeyedRequest {
  ip: string
  routeOptions?: { url?: string | undefined } | undefined
}

/** The parts of a Fastify reply the hook uses. */
export interface FastifyLikeReply {
  header(name: string, value: string): unknown
  code(statusCode: number): unknown
  type(contentType: string): unknown
  send(payload: string): unknown
}

/** A Fastify (4 or 5) `onRequest` hook. */
export type FastifyRateLimitHook = (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<void>

/**
 * A Fastify `onRequest` hook: decides each request, sets the RateLimit header fields, and answers a
 * denial with 429, `Retry-After` and an `application/problem+json` body. Add it to the app
 * (`app.addHook('onRequest', hook)`) or to one route (`{ onRequest: hook }`).
 *
 * @example
 * app.addHook('onRequest', fastifyRateLimit(limiter, { key: 'ip+route' }))
 */
export function fastifyRateLimit(
  limiter: RateLimiter,
  options: HttpLimitOptions<FastifyLikeRequest> = {},
): FastifyRateLimitHook {
  const keyBy = options.key ?? 'ip'
  return async (request, reply) => {
    const key = requestKey(request, keyBy, request.routeOptions?.url)
    if (key === undefined) return
    const cost = typeof options.cost === 'function' ? options.cost(request) : (options.cost ?? 1)
    const result: RateLimitResult = await limiter.limit(key, { cost })
    for (const [name, value] of Object.entries(rateLimitHeaders(result, options.headers)))
      reply.header(name, value)
    if (result.allowed) return
    options.onLimited?.(request, result)
    reply.code(429)
    reply.type('application/problem+json')
    await reply.send(JSON.stringify(quotaExceededProblem(result)))
  }
}
