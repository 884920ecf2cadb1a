import { type Duration, InvalidOptionError, parseDuration } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { parseRule, parseRules, type Rule, type RuleOptions } from './rules.js'

/** What a Redis limiter does while Redis cannot answer. There is no default: say what you want. */
export type OnRedisDown =
  /**
   * A per-process memory limiter decides, with each rule's limit divided by `expectedProcesses`;
   * Redis decides again as soon as it answers. Protects without a shared count.
   */
  | 'insurance'
  /** Every request is allowed, uncounted: availability over protection. */
  | 'fail-open'
  /** Every request is denied: protection over availability. */
  | 'fail-closed'

/** The insurance limiter of `onRedisDown: 'insurance'`. */
export interface InsuranceOptions {
  /** How many processes share the limit: each gets `limit / expectedProcesses` while Redis is down. Default 1. */
  expectedProcesses?: number
  /** Per-process limits by rule name, instead of the division. */
  limits?: Readonly<Record<string, number>>
}

/** Options every limiter takes. */
export interface CommonRateLimiterOptions {
  /**
   * Deny, with no Redis call, a key this process saw denied until it may retry. A per-process
   * shortcut: it never allows more, but a `reset(key)` made by another process is seen only when
   * the block ends. Off by default. `{ maxKeys }` bounds the keys remembered (default 10,000).
   */
  localBlock?: boolean | { maxKeys?: number }
}

/** A limiter on Redis: standalone, Sentinel or Cluster, from `createRedis` or ioredis itself. */
export interface RedisRateLimiterOptions extends CommonRateLimiterOptions {
  /** An ioredis client or Cluster. */
  client: Redis | Cluster
  memory?: false
  /** What to do while Redis cannot answer (see `OnRedisDown`). Required. */
  onRedisDown: OnRedisDown
  /** With `onRedisDown: 'insurance'`: the per-process limits. */
  insurance?: InsuranceOptions
  /** Key prefix. Default `rl:`. It may not contain `{` or `}` (the keys' hash tag). */
  prefix?: string
  /** The longest any call waits on Redis before the fallback decides. Default `500ms`. */
  timeout?: Duration
  /** After a failure, how long Redis is skipped before one decision probes it. Default `1s`. */
  retryInterval?: Duration
  /** Close the client in `close()`. Default true (as everywhere in cachekit). */
  closeClient?: boolean
}

/** A limiter in this process's memory, for development, tests and single-process apps. */
export interface MemoryRateLimiterOptions extends CommonRateLimiterOptions {
  memory: true
  client?: never
  /** Keys (× rules) kept at most; the least recently used go first. Default 100,000. */
  maxKeys?: number
}

/** One rule, given inline. */
export interface SingleRuleOptions extends RuleOptions {
  rules?: never
}

/** Several rules checked together in one round trip; the most restrictive decides. */
export interface ManyRulesOptions {
  /** e.g. `[{ name: 'burst', algorithm: 'token-bucket', limit: 10, window: '1s' }, { name: 'daily', ... }]`. */
  rules: readonly RuleOptions[]
  algorithm?: never
  limit?: never
  window?: never
  burst?: never
  name?: never
}

/** Options of `createRateLimiter`. */
export type RateLimiterOptions = (SingleRuleOptions | ManyRulesOptions) &
  (RedisRateLimiterOptions | MemoryRateLimiterOptions)

/** Options after validation. */
export interface ResolvedOptions {
  rules: Rule[]
  localBlockKeys: number
  backend:
    | { kind: 'memory'; maxKeys: number }
    | {
        kind: 'redis'
        client: Redis | Cluster
        onRedisDown: OnRedisDown
        insuranceRules: Rule[]
        prefix: string
        timeoutMs: number
        retryIntervalMs: number
        closeClient: boolean
      }
}

const DOWN_CHOICES: readonly OnRedisDown[] = ['insurance', 'fail-open', 'fail-closed']

function fail(message: string): never {
  throw new InvalidOptionError(`[cachekit/ratelimit] createRateLimiter: ${message}`)
}

/** Validates every option where it is given. */
export function resolveOptions(options: RateLimiterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options are required')
  const rules = options.rules === undefined ? [parseRule(options as RuleOptions)] : parseRules(options.rules)
  const localBlockKeys =
    options.localBlock === undefined || options.localBlock === false
      ? 0
      : options.localBlock === true
        ? 10_000
        : positiveInteger(options.localBlock.maxKeys ?? 10_000, 'localBlock.maxKeys')
  if (options.memory === true) {
    if ((options as { client?: unknown }).client !== undefined)
      fail('give either `client` or `memory: true`, not both')
    return {
      rules,
      localBlockKeys,
      backend: { kind: 'memory', maxKeys: positiveInteger(options.maxKeys ?? 100_000, 'maxKeys') },
    }
  }
  const redis = options as RedisRateLimiterOptions
  if (redis.client === undefined || redis.client === null)
    fail('`client` (an ioredis client or Cluster) is required, or `memory: true`')
  if (!DOWN_CHOICES.includes(redis.onRedisDown))
    fail(
      `\`onRedisDown\` is required: 'insurance', 'fail-open' or 'fail-closed' (got ${JSON.stringify(redis.onRedisDown)}); the README's "When Redis is down" explains the choice`,
    )
  const prefix = redis.prefix ?? 'rl:'
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) fail('`prefix` must be a string without `{` or `}`')
  const timeoutMs = parseDuration(redis.timeout ?? '500ms')
  if (timeoutMs <= 0) fail('`timeout` must be more than 0')
  return {
    rules,
    localBlockKeys,
    backend: {
      kind: 'redis',
      client: redis.client,
      onRedisDown: redis.onRedisDown,
      insuranceRules: insuranceRules(rules, redis.insurance ?? {}),
      prefix,
      timeoutMs,
      retryIntervalMs: parseDuration(redis.retryInterval ?? '1s'),
      closeClient: redis.closeClient ?? true,
    },
  }
}

function insuranceRules(rules: readonly Rule[], options: InsuranceOptions): Rule[] {
  const processes = positiveInteger(options.expectedProcesses ?? 1, 'insurance.expectedProcesses')
  for (const name of Object.keys(options.limits ?? {}))
    if (!rules.some((rule) => rule.name === name))
      fail(`insurance.limits names no rule: ${JSON.stringify(name)}`)
  return rules.map((rule) => {
    const given = options.limits?.[rule.name]
    const limit =
      given === undefined
        ? Math.max(1, Math.floor(rule.limit / processes))
        : positiveInteger(given, 'insurance.limits')
    const burst = Math.max(1, Math.floor((rule.burst * limit) / rule.limit))
    return { ...rule, limit, burst }
  })
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    fail(`\`${name}\` must be a positive integer, got ${String(value)}`)
  return value
}
