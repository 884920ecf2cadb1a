export { type ExpressLikeRequest, type ExpressRateLimitMiddleware, expressRateLimit } from './http/express.js'
export {
  type ClientRateLimitInfo,
  type ExpressRateLimitStore,
  type ExpressRateLimitStoreInit,
  expressRateLimitStore,
} from './http/express_rate_limit_store.js'
export {
  type FastifyLikeReply,
  type FastifyLikeRequest,
  type FastifyRateLimitHook,
  fastifyRateLimit,
} from './http/fastify.js'
export {
  type HeaderOptions,
  QUOTA_EXCEEDED_TYPE,
  type QuotaExceededProblem,
  quotaExceededProblem,
  rateLimitHeaders,
  retryAfterSeconds,
} from './http/headers.js'
export type { HttpLimitOptions } from './http/middleware_options.js'
export type { KeyBy, KeyedRequest } from './http/request_key.js'
export type {
  CommonRateLimiterOptions,
  InsuranceOptions,
  ManyRulesOptions,
  MemoryRateLimiterOptions,
  OnRedisDown,
  RateLimiterOptions,
  RedisRateLimiterOptions,
  SingleRuleOptions,
} from './options.js'
export {
  createRateLimiter,
  DECISION_CHANNEL,
  type DecisionMessage,
  type LimitOptions,
  RateLimiter,
  type RateLimiterEventMap,
} from './rate_limiter.js'
export type { DecisionSource, RateLimitResult, RuleResult } from './result.js'
export { type Algorithm, MAX_RULES, MAX_SLIDING_LOG_LIMIT, type Rule, type RuleOptions } from './rules.js'
