import { LRUCache } from 'lru-cache'
import type { DecideMode, Decider } from '../decider.js'
import type { RawDecision } from '../result.js'
import type { Rule } from '../rules.js'

/** A fixed window: the count and when the window ends (µs). */
interface WindowCount {
  count: number
  ends: number
}
/** The weighted sliding window: the current window's index, its count and the previous one's. */
interface TwoWindows {
  index: number
  current: number
  previous: number
}
/** A token bucket: tokens left and when they were counted (µs). */
interface Bucket {
  tokens: number
  at: number
}
/** GCRA: the theoretical arrival time (µs). */
interface Arrival {
  at: number
}
/** The sliding log: allowed requests' times (µs), oldest first. */
type Log = number[]

type State = WindowCount | TwoWindows | Bucket | Arrival | Log

interface Check {
  ok: boolean
  remaining: number
  reset: number
  retry: number
  commit: (cost: number) => void
}

/** Options of the in-process decider. */
export interface MemoryDeciderOptions {
  /** Keys (× rules) kept at most; the least recently used go first. */
  maxKeys: number
  /** The clock in µs. Monotonic by default, so a moved wall clock changes nothing. */
  nowUs?: () => number
}

const monotonicUs = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000)

/**
 * The same algorithms as the Redis script, on one process's memory, answering in the script's
 * reply layout. Used by `memory: true` and as the insurance limiter while Redis is down. Each
 * state expires when the script's key would, so an idle key costs nothing.
 */
export class MemoryDecider implements Decider {
  private readonly states: LRUCache<string, State>
  private readonly blocks: LRUCache<string, number>
  private readonly nowUs: () => number

  constructor(
    readonly rules: readonly Rule[],
    options: MemoryDeciderOptions,
  ) {
    this.nowUs = options.nowUs ?? monotonicUs
    // lru-cache's own clock (performance.now) drives the TTLs; ours only decides.
    this.states = new LRUCache<string, State>({ max: options.maxKeys, ttlAutopurge: false })
    this.blocks = new LRUCache<string, number>({ max: options.maxKeys })
  }

  decide(key: string, mode: DecideMode, cost: number): Promise<RawDecision> {
    return Promise.resolve(this.decideNow(key, mode, cost))
  }

  /** The decision, synchronously (the local paths need no promise). */
  decideNow(key: string, mode: DecideMode, cost: number): RawDecision {
    const now = this.nowUs()
    if (mode !== 'r') {
      const until = this.blocks.get(key)
      if (until !== undefined && until > now) return [Math.ceil((until - now) / 1000), now, 0]
    }
    const reply: number[] = [0, now, 0]
    const checks: Check[] = []
    let allowed = true
    for (const [i, rule] of this.rules.entries()) {
      const check = this.check(rule, `${rule.name}:${key}`, cost, now)
      if (!check.ok) allowed = false
      checks.push(check)
      reply[3 + i * 4] = check.ok ? 1 : 0
      reply[4 + i * 4] = check.remaining
      reply[5 + i * 4] = check.reset
      reply[6 + i * 4] = check.retry
    }
    if (mode === 'l' && allowed && cost > 0) for (const check of checks) check.commit(cost)
    else if (mode === 'r' && cost > 0) for (const check of checks) check.commit(-cost)
    return reply
  }

  block(key: string, ms: number): Promise<void> {
    this.blocks.set(key, this.nowUs() + ms * 1000, { ttl: ms })
    return Promise.resolve()
  }

  reset(key: string): Promise<void> {
    this.blocks.delete(key)
    for (const rule of this.rules) this.states.delete(`${rule.name}:${key}`)
    return Promise.resolve()
  }

  close(): Promise<void> {
    this.states.clear()
    this.blocks.clear()
    return Promise.resolve()
  }

  private check(rule: Rule, id: string, cost: number, now: number): Check {
    const window = rule.windowMs * 1000
    switch (rule.code) {
      case 'fw':
        return this.fixedWindow(id, rule.limit, window, cost, now)
      case 'sw':
        return this.slidingWindow(id, rule.limit, window, cost, now)
      case 'sl':
        return this.slidingLog(id, rule.limit, window, cost, now)
      case 'tb':
        return this.tokenBucket(id, rule.limit, window, rule.burst, cost, now)
      case 'gc':
        return this.gcra(id, rule.limit, window, rule.burst, cost, now)
    }
  }

  private save(id: string, state: State, ttlUs: number): void {
    this.states.set(id, state, { ttl: Math.max(1, Math.ceil(ttlUs / 1000)) })
  }

  private fixedWindow(id: string, limit: number, window: number, cost: number, now: number): Check {
    const stored = this.states.get(id) as WindowCount | undefined
    const fresh = stored === undefined || stored.ends <= now
    const count = fresh ? 0 : stored.count
    const ends = fresh ? (Math.floor(now / 1000) + Math.ceil(window / 1000)) * 1000 : stored.ends
    const reset = ends - now
    const commit = (c: number): void => {
      const next = count + c
      if (next <= 0) this.states.delete(id)
      else this.save(id, { count: next, ends }, ends - now)
    }
    if (count + cost <= limit) return { ok: true, remaining: limit - count - cost, reset, retry: 0, commit }
    return {
      ok: false,
      remaining: Math.max(0, limit - count),
      reset,
      retry: cost > limit ? -1 : reset,
      commit,
    }
  }

  private slidingWindow(id: string, limit: number, window: number, cost: number, now: number): Check {
    const index = Math.floor(now / window)
    const stored = this.states.get(id) as TwoWindows | undefined
    let current = 0
    let previous = 0
    if (stored?.index === index) {
      current = stored.current
      previous = stored.previous
    } else if (stored?.index === index - 1) previous = stored.current
    const elapsed = now - index * window
    const left = window - elapsed
    const estimate = (previous * (window - elapsed)) / window + current
    const commit = (c: number): void =>
      this.save(id, { index, current: Math.max(0, current + c), previous }, left + window)
    let reset = current > 0 ? left + window : previous > 0 ? left : 0
    if (estimate + cost <= limit) {
      if (current + cost > 0) reset = left + window
      return { ok: true, remaining: Math.floor(limit - estimate - cost), reset, retry: 0, commit }
    }
    let retry: number
    if (cost > limit) retry = -1
    else if (current + cost <= limit)
      retry = window - ((limit - current - cost) * window) / previous - elapsed
    else retry = left + window * (1 - (limit - cost) / current)
    return {
      ok: false,
      remaining: Math.max(0, Math.floor(limit - estimate)),
      reset,
      retry: retry < 0 ? -1 : Math.ceil(retry),
      commit,
    }
  }

  private slidingLog(id: string, limit: number, window: number, cost: number, now: number): Check {
    const stored = (this.states.get(id) as Log | undefined) ?? []
    // Entries at or before now - window have left the window (the script's ZREMRANGEBYSCORE).
    let first = 0
    while (first < stored.length && stored[first]! <= now - window) first++
    const log = first === 0 ? stored : stored.slice(first)
    const count = log.length
    let reset = count > 0 ? log[count - 1]! + window - now : 0
    const commit = (c: number): void => {
      if (c < 0) log.splice(Math.max(0, log.length + c))
      else for (let i = 0; i < c; i++) log.push(now)
      if (log.length === 0) this.states.delete(id)
      else this.save(id, log, log[log.length - 1]! + window - now)
    }
    if (count + cost <= limit) {
      if (cost > 0) reset = window
      return { ok: true, remaining: limit - count - cost, reset, retry: 0, commit }
    }
    const retry = cost > limit ? -1 : log[count + cost - limit - 1]! + window - now
    return { ok: false, remaining: Math.max(0, limit - count), reset, retry, commit }
  }

  private tokenBucket(
    id: string,
    limit: number,
    window: number,
    burst: number,
    cost: number,
    now: number,
  ): Check {
    const rate = limit / window
    const stored = this.states.get(id) as Bucket | undefined
    const tokens =
      stored === undefined ? burst : Math.min(burst, stored.tokens + Math.max(0, now - stored.at) * rate)
    const commit = (c: number): void => {
      const left = Math.min(burst, tokens - c)
      this.save(id, { tokens: left, at: now }, (burst - left) / rate + 1000)
    }
    // A billionth of a token of slack, as in the script: the refill is floating point.
    if (tokens + 1e-9 >= cost)
      return {
        ok: true,
        remaining: Math.max(0, Math.floor(tokens - cost + 1e-9)),
        reset: Math.ceil((burst - tokens + cost) / rate),
        retry: 0,
        commit,
      }
    return {
      ok: false,
      remaining: Math.floor(tokens),
      reset: Math.ceil((burst - tokens) / rate),
      retry: cost > burst ? -1 : Math.max(1, Math.ceil((cost - 1e-9 - tokens) / rate)),
      commit,
    }
  }

  private gcra(id: string, limit: number, window: number, burst: number, cost: number, now: number): Check {
    const interval = window / limit
    const tolerance = interval * burst
    const stored = this.states.get(id) as Arrival | undefined
    const arrival = stored === undefined || stored.at < now ? now : stored.at
    const after = arrival + cost * interval
    const allowAt = after - tolerance
    const commit = (c: number): void => {
      const moved = Math.max(now, arrival + c * interval)
      if (moved <= now) this.states.delete(id)
      else this.save(id, { at: moved }, moved - now + 1000)
    }
    if (allowAt <= now)
      return {
        ok: true,
        remaining: Math.floor((tolerance - (after - now)) / interval),
        reset: Math.ceil(after - now),
        retry: 0,
        commit,
      }
    return {
      ok: false,
      remaining: Math.max(0, Math.floor((tolerance - (arrival - now)) / interval)),
      reset: Math.ceil(arrival - now),
      retry: cost > burst ? -1 : Math.ceil(allowAt - now),
      commit,
    }
  }
}
