import { createHash } from 'node:crypto'
import {
  type Duration,
  InvalidOptionError,
  parseDuration,
  StoreClosedError,
  type TagIndex,
} from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { ConnectionWatch } from './connection_watch.js'
import { quitClient } from './quit_client.js'
import { translateRedisError } from './reply_errors.js'
import { groupByNode, isCluster } from './slot_groups.js'

/** Options of `redisTagIndex`. */
export interface RedisTagIndexOptions {
  /** The ioredis client: standalone, Sentinel or Cluster (see `createRedis`). */
  client: Redis | Cluster
  /**
   * Prefix of every key the index writes. Keep it outside the cache's key space (`shop-tags:` for a
   * cache with prefix `shop`), so the cache's `clear()` and pattern deletes never touch tag times.
   * Default: none.
   */
  prefix?: string
  /**
   * How long a tag key lives after its last move forward (ms or a duration string). A tag time only
   * matters while entries created before it can still be served, so this must be at least the longest
   * TTL + grace of any entry carrying the tag; a shorter one lets an invalidated entry come back when
   * its tag key expires. Default `'30d'`.
   */
  ttl?: Duration
  /**
   * Quit the client when the index closes. Default true, as for every cachekit part handed a client
   * (`redisStore`, `redisBus`); pass false to keep using the client after.
   */
  closeClient?: boolean
}

/** A TagIndex on Redis. */
export interface RedisTagIndex extends TagIndex {
  /** The client the index uses. */
  readonly client: Redis | Cluster
  /** The Redis key holding the time of `tag`, for inspection and tooling. */
  keyOf(tag: string): string
  close(): Promise<void>
  /** Same as `close`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

const DEFAULT_TTL = '30d'
/** Keys per script call, so one call never holds Redis for long; the calls share one pipeline. */
const KEYS_PER_SCRIPT = 1_000

/**
 * Moves every key in KEYS forward to ARGV[1] (the time) with a PX of ARGV[2], never back. A value
 * that is not a finite number >= 0 is overwritten, so an invalidation repairs a garbage key.
 */
const MOVE_FORWARD = `local at = tonumber(ARGV[1])
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]))
  local valid = current ~= nil and current == current and current >= 0 and current < math.huge
  if not valid or current < at then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  end
end
return #KEYS`
const MOVE_FORWARD_SHA = createHash('sha1').update(MOVE_FORWARD).digest('hex')

/**
 * Creates a TagIndex on Redis: one small string key per tag holding its latest invalidation time
 * (ms since the epoch), under `${prefix}{${prefix}tags}:${tag}`.
 *
 * - `invalidate` moves each tag's time forward to `max(current, at)` atomically with a Lua script
 *   (EVALSHA, falling back to EVAL when the script cache was flushed), so two processes whose clocks
 *   differ a little can never move a tag back. One round trip on a standalone server.
 * - `invalidatedAt` is one MGET; a missing key reads 0. A value that is not a number (written by
 *   something else, or corrupted) reads as **now**: entries carrying the tag read as invalidated
 *   until the next invalidation repairs the key, rather than being served on a guess.
 * - Every write sets a PX TTL (`ttl`, default 30 days), so tag keys do not pile up forever.
 *
 * **Slot placement on a Cluster.** Every tag key of one index shares the hash tag
 * `{${prefix}tags}`, so all of them live in one slot: invalidating or reading any number of tags is
 * one script call or one MGET, one round trip, and a `{` or `}` inside a tag can never steer its key
 * to another slot (the first `{...}` of the key is always the index's own). The cost is that one
 * cache's tag traffic lands on one master; tag keys are tiny and reads are one MGET per cache read,
 * so this beats spreading them, which would turn every multi-tag read into one round trip per node.
 * Indexes with different prefixes land on different slots. (If the prefix itself holds a hash tag,
 * such as `{shop}:`, that one wins and tag keys share the slot of the cache's other keys.)
 *
 * @example
 * const tags = redisTagIndex({ client: createRedis(process.env.REDIS_URL), prefix: 'shop-tags:' })
 * await tags.invalidate(['products'], Date.now())
 */
export function redisTagIndex(options: RedisTagIndexOptions): RedisTagIndex {
  return new RedisKeyTagIndex(options)
}

class RedisKeyTagIndex implements RedisTagIndex {
  readonly name = 'redis-tag-index'
  readonly client: Redis | Cluster
  private readonly keyPrefix: string
  private readonly ttlMs: number
  private readonly closeClient: boolean
  private readonly cluster: boolean
  private readonly connection: ConnectionWatch
  private closed = false

  constructor(options: RedisTagIndexOptions) {
    const prefix = options.prefix ?? ''
    if (typeof prefix !== 'string') throw new InvalidOptionError('[cachekit/redis] prefix must be a string')
    const ttl = parseDuration(options.ttl ?? DEFAULT_TTL)
    if (ttl < 1) throw new InvalidOptionError(`[cachekit/redis] ttl must be at least 1 ms, got ${ttl}`)
    this.client = options.client
    this.keyPrefix = `${prefix}{${prefix}tags}:`
    this.ttlMs = Math.ceil(ttl)
    this.closeClient = options.closeClient ?? true
    this.cluster = isCluster(options.client)
    this.connection = new ConnectionWatch(options.client)
  }

  keyOf(tag: string): string {
    return this.keyPrefix + tag
  }

  async invalidate(tags: readonly string[], at: number): Promise<void> {
    this.checkOpen()
    checkTime(at)
    if (tags.length === 0) return
    try {
      await this.moveForward(tags, at)
    } catch (error) {
      throw this.translate(error, 'invalidateTags')
    }
  }

  private async moveForward(tags: readonly string[], at: number): Promise<void> {
    const keys = [...new Set(tags)].map((tag) => this.keyOf(tag))
    const args = [String(at), String(this.ttlMs)]
    if (!this.cluster) {
      await runScript(() => this.client.pipeline(), chunks(keys), args)
      return
    }
    await Promise.all(
      groupByNode(this.client as Cluster, keys).map((group) => {
        const calls: string[][] = []
        for (const positions of group.slots.values()) {
          calls.push(...chunks(positions.map((position) => keys[position]!)))
        }
        return runScript(() => this.client.pipeline(), calls, args)
      }),
    )
  }

  async invalidatedAt(tags: readonly string[]): Promise<number[]> {
    this.checkOpen()
    if (tags.length === 0) return []
    try {
      return await this.read(tags)
    } catch (error) {
      throw this.translate(error, 'invalidatedAt')
    }
  }

  private async read(tags: readonly string[]): Promise<number[]> {
    const keys = tags.map((tag) => this.keyOf(tag))
    const values: Array<string | null> = new Array(keys.length)
    if (!this.cluster) {
      const replies = await this.client.mget(...keys)
      for (const [i, reply] of replies.entries()) values[i] = reply
    } else {
      await Promise.all(
        groupByNode(this.client as Cluster, keys).map(async (group) => {
          const pipeline = this.client.pipeline()
          const order: number[][] = []
          for (const positions of group.slots.values()) {
            pipeline.mget(...positions.map((position) => keys[position]!))
            order.push(positions)
          }
          const replies = throwFirstError(await pipeline.exec())
          for (const [i, positions] of order.entries()) {
            const slotValues = replies[i] as Array<string | null>
            for (const [j, position] of positions.entries()) values[position] = slotValues[j] ?? null
          }
        }),
      )
    }
    const now = Date.now()
    return values.map((value) => parseTime(value, now))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.closeClient) await quitClient(this.client)
    this.connection.stop()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** Refusals (OOM, READONLY, a script error) become `StoreRefusedError`; outages carry the connection's error. */
  private translate(error: unknown, operation: string): unknown {
    return translateRedisError(error, this.name, operation, undefined, this.connection.error)
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError(this.name)
  }
}

type Pipeline = ReturnType<Redis['pipeline']>
type PipelineResult = Array<[error: Error | null, result: unknown]> | null

/**
 * Sends one script call per key list in one pipeline, by SHA; calls that find the script missing
 * from the server's cache (NOSCRIPT: first use, restart, SCRIPT FLUSH) are sent again with the body.
 * Running the script twice is harmless: moving a time forward is idempotent.
 */
async function runScript(pipeline: () => Pipeline, calls: string[][], args: string[]): Promise<void> {
  const bySha = pipeline()
  for (const keys of calls) bySha.evalsha(MOVE_FORWARD_SHA, keys.length, ...keys, ...args)
  const missing: string[][] = []
  for (const [i, [error]] of (await exec(bySha)).entries()) {
    if (!error) continue
    if (!error.message.startsWith('NOSCRIPT')) throw error
    missing.push(calls[i]!)
  }
  if (missing.length === 0) return
  const byBody = pipeline()
  for (const keys of missing) byBody.eval(MOVE_FORWARD, keys.length, ...keys, ...args)
  throwFirstError(await byBody.exec())
}

async function exec(pipeline: Pipeline): Promise<Array<[error: Error | null, result: unknown]>> {
  const results: PipelineResult = await pipeline.exec()
  if (!results) throw new Error('[cachekit/redis] pipeline was discarded')
  return results
}

function throwFirstError(results: PipelineResult): unknown[] {
  if (!results) throw new Error('[cachekit/redis] pipeline was discarded')
  return results.map(([error, result]) => {
    if (error) throw error
    return result
  })
}

function chunks(keys: string[]): string[][] {
  if (keys.length <= KEYS_PER_SCRIPT) return [keys]
  const out: string[][] = []
  for (let i = 0; i < keys.length; i += KEYS_PER_SCRIPT) out.push(keys.slice(i, i + KEYS_PER_SCRIPT))
  return out
}

/** A missing key is 0; a value that is not a finite number >= 0 is `now`: invalidated, never valid. */
function parseTime(value: string | null, now: number): number {
  if (value === null) return 0
  const time = value.trim() === '' ? Number.NaN : Number(value)
  return Number.isFinite(time) && time >= 0 ? time : now
}

function checkTime(at: number): void {
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) {
    throw new InvalidOptionError(
      `[cachekit/redis] an invalidation time must be a finite number >= 0, got ${String(at)}`,
    )
  }
}
