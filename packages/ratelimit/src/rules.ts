import { type Duration, InvalidOptionError, parseDuration } from '@cachekit/core'

/** The algorithms a rule can use. */
export type Algorithm = 'fixed-window' | 'sliding-window' | 'sliding-log' | 'token-bucket' | 'gcra'

/** One limit: `limit` requests (or cost units) per `window`, counted by `algorithm`. */
export interface RuleOptions {
  /**
   * How requests are counted:
   * - `fixed-window`: a counter per window; the window starts at the key's first request, so keys
   *   reset at different moments. Exact per window.
   * - `sliding-window`: Cloudflare's weighted two-window estimate. Exact per aligned window; in any
   *   window of length `window` it allows under 2 × `limit` at worst, close to `limit` on real traffic.
   * - `sliding-log`: a sorted set of every allowed request's time. Exact over any window; memory
   *   grows with `limit`.
   * - `token-bucket`: `burst` tokens, refilled continuously at `limit` per `window`.
   * - `gcra`: the generic cell rate algorithm, one timestamp per key; the same limits as a token
   *   bucket of the same `burst`.
   */
  algorithm: Algorithm
  /** Requests (cost units) per window. A positive integer. */
  limit: number
  /** The window: milliseconds or a duration string ('1s', '1m', '1d'). */
  window: Duration
  /**
   * For `token-bucket` and `gcra`: how many requests may arrive at once (the bucket's capacity).
   * Default: `limit`. Ignored by the window algorithms.
   */
  burst?: number
  /**
   * The policy's name in the `RateLimit-Policy` header and in results. Letters, digits, `_`, `-`, `.`.
   * Default: `<limit>-in-<window>` (e.g. `100-in-1m`).
   */
  name?: string
}

/** A validated rule, as the deciders take it. */
export interface Rule {
  readonly name: string
  readonly algorithm: Algorithm
  readonly code: AlgorithmCode
  readonly limit: number
  readonly windowMs: number
  readonly burst: number
}

/** The algorithm's name in the Lua script's arguments. */
export type AlgorithmCode = 'fw' | 'sw' | 'sl' | 'tb' | 'gc'

const CODES: Record<Algorithm, AlgorithmCode> = {
  'fixed-window': 'fw',
  'sliding-window': 'sw',
  'sliding-log': 'sl',
  'token-bucket': 'tb',
  gcra: 'gc',
}

/** Rules per limiter: each is checked in the same script, on keys of one slot. */
export const MAX_RULES = 8

/** A sliding log stores one member per allowed request: past this it is the wrong algorithm. */
export const MAX_SLIDING_LOG_LIMIT = 100_000

const NAME = /^[A-Za-z0-9_.-]{1,64}$/

/** Validates one rule where it is given; throws `InvalidOptionError` naming the bad option. */
export function parseRule(options: RuleOptions, where = 'createRateLimiter'): Rule {
  const fail = (message: string): never => {
    throw new InvalidOptionError(`[cachekit/ratelimit] ${where}: ${message}`)
  }
  const code = CODES[options.algorithm]
  if (code === undefined)
    fail(
      `unknown algorithm ${JSON.stringify(options.algorithm)}; use one of ${Object.keys(CODES).join(', ')}`,
    )
  if (!Number.isSafeInteger(options.limit) || options.limit < 1)
    fail(`\`limit\` must be a positive integer, got ${String(options.limit)}`)
  const windowMs = parseDuration(options.window)
  if (!Number.isInteger(windowMs) || windowMs < 1)
    fail(`\`window\` must be at least 1 ms and a whole number of ms, got ${String(options.window)}`)
  const burst = options.burst ?? options.limit
  if (!Number.isSafeInteger(burst) || burst < 1)
    fail(`\`burst\` must be a positive integer, got ${String(burst)}`)
  if (options.algorithm === 'sliding-log' && options.limit > MAX_SLIDING_LOG_LIMIT)
    fail(`a sliding log keeps one entry per request: \`limit\` must be at most ${MAX_SLIDING_LOG_LIMIT}`)
  const name = options.name ?? `${options.limit}-in-${formatWindow(windowMs)}`
  if (!NAME.test(name)) fail(`\`name\` must match ${NAME}, got ${JSON.stringify(name)}`)
  return { name, algorithm: options.algorithm, code, limit: options.limit, windowMs, burst }
}

/** The rules of a limiter: names must differ, since they name the keys and the headers' policies. */
export function parseRules(rules: readonly RuleOptions[]): Rule[] {
  if (rules.length === 0)
    throw new InvalidOptionError('[cachekit/ratelimit] createRateLimiter: `rules` is empty')
  const parsed = rules.map((rule, i) => parseRule(rule, `createRateLimiter: rules[${i}]`))
  const names = new Set<string>()
  for (const rule of parsed) {
    if (names.has(rule.name))
      throw new InvalidOptionError(
        `[cachekit/ratelimit] createRateLimiter: two rules are named ${JSON.stringify(rule.name)}; give each a \`name\``,
      )
    names.add(rule.name)
  }
  return parsed
}

/** The largest cost a rule can ever allow. */
export function capacity(rule: Rule): number {
  return rule.code === 'tb' || rule.code === 'gc' ? rule.burst : rule.limit
}

function formatWindow(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ]
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}
