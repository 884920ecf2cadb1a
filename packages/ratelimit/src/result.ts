import type { Algorithm, Rule } from './rules.js'

/** Where a decision was made. */
export type DecisionSource =
  /** One script on Redis. */
  | 'redis'
  /** The in-process limiter of `memory: true`. */
  | 'memory'
  /** Denied in this process, with no Redis call: the key was over its limit until `resetMs` (`localBlock`). */
  | 'local-block'
  /** Denied because `block(key, duration)` blocked the key. */
  | 'blocked'
  /** Redis was unreachable: the per-process insurance limiter decided (`onRedisDown: 'insurance'`). */
  | 'insurance'
  /** Redis was unreachable: allowed without counting (`onRedisDown: 'fail-open'`). */
  | 'fail-open'
  /** Redis was unreachable: denied (`onRedisDown: 'fail-closed'`). */
  | 'fail-closed'

/** One rule's part of a decision. */
export interface RuleResult {
  /** The rule's name, as in the `RateLimit-Policy` header. */
  readonly name: string
  readonly algorithm: Algorithm
  /** Whether this rule alone would allow the request. */
  readonly allowed: boolean
  /** The rule's `limit`. */
  readonly limit: number
  /** The window, in milliseconds. */
  readonly windowMs: number
  /** What is left after this request (when allowed) or now (when denied). Never negative. */
  readonly remaining: number
  /** Milliseconds until this rule's quota is whole again. */
  readonly resetMs: number
  /**
   * Milliseconds until the same request could be allowed by this rule: 0 when it is allowed,
   * `Infinity` when it never can be (its cost exceeds the rule's capacity).
   */
  readonly retryAfterMs: number
}

/** A decision. A denial is a result like any other, never a thrown error. */
export interface RateLimitResult {
  /** Whether the request may go ahead. When false nothing was counted, by any rule. */
  readonly allowed: boolean
  /** The deciding rule's `limit` (the most restrictive rule: see `policy`). */
  readonly limit: number
  /** The deciding rule's `remaining`. */
  readonly remaining: number
  /** The deciding rule's `resetMs`. */
  readonly resetMs: number
  /** 0 when allowed; else milliseconds until the request could be allowed (`Infinity`: never). */
  readonly retryAfterMs: number
  /**
   * The deciding rule's name: when denied, the denying rule that frees up last; when allowed, the
   * rule with the least left (as a share of its limit).
   */
  readonly policy: string
  /** Every rule's part, in the order the rules were given. */
  readonly rules: readonly RuleResult[]
  /** Where the decision was made. */
  readonly source: DecisionSource
  /**
   * When the decision was made, in epoch milliseconds by the deciding clock: Redis' `TIME` for
   * Redis decisions, so that app hosts whose clocks disagree still agree on absolute times.
   */
  readonly decidedAt: number
}

/**
 * What a decider (the Redis script, the memory limiter) answers, in the script's reply layout:
 * blocked ms (0 when not blocked), now in µs, corrupt-rule bit flags, then four numbers per rule:
 * allowed (0|1), remaining, reset µs, retry µs (-1: never).
 */
export type RawDecision = readonly number[]

const PER_RULE = 4

/**
 * Builds the public result out of a raw decision of a request of `cost`. Each rule reports its
 * remaining as if the request went through; when another rule denied it, nothing was counted, so
 * the rules that would have allowed it get the cost back.
 */
export function toResult(
  rules: readonly Rule[],
  raw: RawDecision,
  source: DecisionSource,
  cost: number,
): RateLimitResult {
  const decidedAt = raw[1]! / 1000
  const blockedMs = raw[0]!
  if (blockedMs > 0) return blockedResult(rules, blockedMs, 'blocked', decidedAt)
  let allowed = true
  for (let i = 0; i < rules.length; i++) if (raw[3 + i * PER_RULE] !== 1) allowed = false
  const parts: RuleResult[] = []
  let deciding: RuleResult | undefined
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!
    const at = 3 + i * PER_RULE
    const ok = raw[at] === 1
    const uncounted = ok && !allowed ? cost : 0
    const retryUs = raw[at + 3]!
    const part: RuleResult = {
      name: rule.name,
      algorithm: rule.algorithm,
      allowed: ok,
      limit: rule.limit,
      windowMs: rule.windowMs,
      remaining: Math.max(0, raw[at + 1]! + uncounted),
      resetMs: Math.max(0, Math.ceil(raw[at + 2]! / 1000)),
      retryAfterMs: ok ? 0 : retryUs < 0 ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(retryUs / 1000)),
    }
    parts.push(part)
    deciding = deciding === undefined ? part : moreRestrictive(deciding, part)
  }
  return {
    allowed,
    limit: deciding!.limit,
    remaining: deciding!.remaining,
    resetMs: deciding!.resetMs,
    retryAfterMs: deciding!.retryAfterMs,
    policy: deciding!.name,
    rules: parts,
    source,
    decidedAt,
  }
}

/** A denial that no rule was asked about: a blocked key, a local block, or failing closed. */
export function blockedResult(
  rules: readonly Rule[],
  retryAfterMs: number,
  source: DecisionSource,
  decidedAt: number,
): RateLimitResult {
  const parts = rules.map(
    (rule): RuleResult => ({
      name: rule.name,
      algorithm: rule.algorithm,
      allowed: false,
      limit: rule.limit,
      windowMs: rule.windowMs,
      remaining: 0,
      resetMs: retryAfterMs,
      retryAfterMs,
    }),
  )
  const first = parts[0]!
  return {
    allowed: false,
    limit: first.limit,
    remaining: 0,
    resetMs: retryAfterMs,
    retryAfterMs,
    policy: first.name,
    rules: parts,
    source,
    decidedAt,
  }
}

/** An allowance that counted nothing (failing open). */
export function uncountedResult(rules: readonly Rule[], decidedAt: number): RateLimitResult {
  const parts = rules.map(
    (rule): RuleResult => ({
      name: rule.name,
      algorithm: rule.algorithm,
      allowed: true,
      limit: rule.limit,
      windowMs: rule.windowMs,
      remaining: rule.limit,
      resetMs: 0,
      retryAfterMs: 0,
    }),
  )
  const first = parts[0]!
  return {
    allowed: true,
    limit: first.limit,
    remaining: first.remaining,
    resetMs: 0,
    retryAfterMs: 0,
    policy: first.name,
    rules: parts,
    source: 'fail-open',
    decidedAt,
  }
}

function moreRestrictive(a: RuleResult, b: RuleResult): RuleResult {
  if (a.allowed !== b.allowed) return a.allowed ? b : a
  if (!a.allowed) return b.retryAfterMs > a.retryAfterMs ? b : a
  return b.remaining / b.limit < a.remaining / a.limit ? b : a
}
