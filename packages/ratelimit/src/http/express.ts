import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RateLimiter } from '../rate_limiter.js'
import { quotaExceededProblem, rateLimitHeaders } from './headers.js'
import type { HttpLimitOptions } from './middleware_options.js'
import { type KeyedRequest, requestKey } from './request_key.js'

/** The parts of an Express request the middleware reads. */
export interface ExpressLikeRequest extends IncomingMessage, KeyedRequest {
  ip?: string | undefined
  route?: { path?: unknown } | undefined
}

/** An Express (4 or 5) middleware. */
export type ExpressRateLimitMiddleware = (
  request: ExpressLikeRequest,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void

/**
 * Express middleware: decides each request, sets the RateLimit header fields, and answers a denial
 * with 429, `Retry-After` and an `application/problem+json` body. The decision is in
 * `res.locals.rateLimit` for the handlers. A limiter never fails a request: while Redis is down its
 * `onRedisDown` choice decides.
 *
 * @example
 * app.use(expressRateLimit(limiter, { key: (req) => req.user?.id ?? req.ip }))
 */
export function expressRateLimit(
  limiter: RateLimiter,
  options: HttpLimitOptions<ExpressLikeRequest> = {},
): ExpressRateLimitMiddleware {
  const keyBy = options.key ?? 'ip'
  return (request, response, next) => {
    const route = typeof request.route?.path === 'string' ? request.route.path : undefined
    const key = requestKey(request, keyBy, route)
    if (key === undefined) {
      next()
      return
    }
    const cost = typeof options.cost === 'function' ? options.cost(request) : (options.cost ?? 1)
    limiter.limit(key, { cost }).then((result) => {
      for (const [name, value] of Object.entries(rateLimitHeaders(result, options.headers)))
        response.setHeader(name, value)
      const locals = (response as ServerResponse & { locals?: Record<string, unknown> }).locals
      if (locals !== undefined) locals.rateLimit = result
      if (result.allowed) {
        next()
        return
      }
      options.onLimited?.(request, result)
      response.statusCode = 429
      response.setHeader('Content-Type', 'application/problem+json')
      response.end(JSON.stringify(quotaExceededProblem(result)))
    }, next)
  }
}
