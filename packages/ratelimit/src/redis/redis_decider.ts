import { withDeadline } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import type { DecideMode, Decider } from '../decider.js'
import type { RawDecision } from '../result.js'
import type { Rule } from '../rules.js'
import { decideScript } from './decide_script.js'
import { ScriptRunner } from './script_runner.js'

/**
 * Decisions on Redis: the limiter's script (a tick's decisions batched into calls of it), each
 * decision on keys that share one hash slot. The layout, for prefix `rl:` and key `user:1`:
 *
 *   rl:<rule name>:{user:1}   each rule's state (a string, or the sliding log's sorted set)
 *   rl:~block:{user:1}        the block marker of `block(key, duration)`
 *
 * `~` cannot start a rule name, so no rule collides with the marker.
 */
export class RedisDecider implements Decider {
  private readonly runner: ScriptRunner

  constructor(
    private readonly client: Redis | Cluster,
    private readonly rules: readonly Rule[],
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {
    this.runner = new ScriptRunner(client, decideScript(rules), timeoutMs)
  }

  decide(key: string, mode: DecideMode, cost: number): Promise<RawDecision> {
    return this.runner.run(this.keysOf(key), [mode, cost])
  }

  block(key: string, ms: number): Promise<void> {
    const marker = `${this.prefix}~block:${hashTag(key)}`
    return withDeadline(this.client.set(marker, '1', 'PX', ms), this.timeoutMs, 'redis', 'block').then(
      () => undefined,
    )
  }

  reset(key: string): Promise<void> {
    return withDeadline(this.client.del(...this.keysOf(key)), this.timeoutMs, 'redis', 'reset').then(
      () => undefined,
    )
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  private keysOf(key: string): string[] {
    const tag = hashTag(key)
    const keys = [`${this.prefix}~block:${tag}`]
    for (const rule of this.rules) keys.push(`${this.prefix}${rule.name}:${tag}`)
    return keys
  }
}

/**
 * `{key}`, the Redis Cluster hash tag that puts a key's rules and marker in one slot. A `}` in the
 * key would end the tag early (and a leading one would leave it empty, spreading the keys over
 * slots), so `%` and `}` are escaped: the tag is always the whole key, and distinct keys stay distinct.
 */
export function hashTag(key: string): string {
  if (!key.includes('}') && !key.includes('%')) return `{${key}}`
  return `{${key.replaceAll('%', '%25').replaceAll('}', '%7D')}}`
}
