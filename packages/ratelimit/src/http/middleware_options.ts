import type { RateLimitResult } from '../result.js'
import type { HeaderOptions } from './headers.js'
import type { KeyBy, KeyedRequest } from './request_key.js'

/** Options of the Express middleware and the Fastify hook. */
export interface HttpLimitOptions<R extends KeyedRequest> {
  /** What requests are limited by. Default `'ip'`. */
  key?: KeyBy<R>
  /** What a request costs. Default 1. */
  cost?: number | ((request: R) => number)
  /** Header fields to send (standard by default; legacy on request). */
  headers?: HeaderOptions
  /** Called on each denial, before the 429 is sent (for logs and metrics). */
  onLimited?: (request: R, result: RateLimitResult) => void
}
