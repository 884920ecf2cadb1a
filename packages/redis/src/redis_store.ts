import {
  type Codec,
  type DistributedLock,
  type Duration,
  escapeGlob,
  InvalidOptionError,
  parseDuration,
  type Store,
  StoreClosedError,
  StoreFailureError,
  type StoreWrite,
  ValueTooLargeError,
} from '@cachekit/core'
import { defaultCodec } from '@cachekit/serializers'
import type { Cluster, Redis } from 'ioredis'
import { type BatchedWrite, DeleteWrite, SetManyWrite, SetWrite, sendWrites } from './batched_writes.js'
import { ConnectionWatch } from './connection_watch.js'
import { mastersReady } from './masters_ready.js'
import { quitClient } from './quit_client.js'
import { ReadBatcher } from './read_batcher.js'
import { redisLock } from './redis_lock.js'
import { translateRedisError } from './reply_errors.js'
import { groupByNode, groupBySlot, isCluster } from './slot_groups.js'
import { WriteBatcher } from './write_batcher.js'

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** The ioredis client: standalone, Sentinel or Cluster (see `createRedis`). */
  client: Redis | Cluster
  /** Prefix of every key this store touches, so apps can share a database. Default: none. */
  prefix?: string
  /** The codec a cache uses with this store unless told otherwise. Default: msgpack, lz4 above 1 KiB. */
  codec?: Codec
  /** Largest value accepted, in bytes; larger ones are refused with `ValueTooLargeError`. Default 64 MiB. */
  maxValueBytes?: number
  /** Keys asked per SCAN call. Default 1000. */
  scanCount?: number
  /** Keys per UNLINK call when clearing. Default 500. */
  deleteBatch?: number
  /**
   * Quit the client when the store closes. Default true, as for every cachekit part handed a client
   * (`redisTagIndex`, `redisBus`, `streamConsumer`); pass false to keep using the client after.
   */
  closeClient?: boolean
  /** How long the first command waits for the initial connection (`'3s'`, `500`). Default `'3s'`. */
  readyTimeout?: Duration
  /**
   * Send the `get`s made in one tick as one MGET (grouped by slot on a Cluster). Default true: under
   * concurrency it beats one GET per call by a wide margin (see tooling/bench), for one
   * `process.nextTick` of latency.
   */
  coalesceGets?: boolean
  /**
   * Send the writes (`set`, `setMany`, `delete`) made in one tick as one pipeline of SET PX and
   * UNLINK (one per node on a Cluster), in the order they were made. Default true: under concurrency
   * one socket write and one round trip replace one per call, for one `process.nextTick` of latency.
   * Each caller still gets its own result or error. With false, every call is its own command.
   */
  coalesceWrites?: boolean
}

/** A Store of bytes on Redis. */
export interface RedisStore extends Store<Uint8Array> {
  /** The client the store uses. */
  readonly client: Redis | Cluster
}

const DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024

/**
 * Creates the Redis store: binary values (Buffer APIs), PX expiries, batches grouped by hash slot
 * (one round trip per node on a Cluster), and SCAN + UNLINK in batches on every master. Never KEYS.
 *
 * Errors: an error reply that means "the server is up and said no" (OOM, READONLY, a script error,
 * WRONGTYPE, NOPERM, ...) rejects with `StoreRefusedError` (`E_STORE_REFUSED`), which the cache never
 * counts as an outage; while the client is not connected, failures carry the connection's own error
 * (`RedisConnectionError`: ECONNREFUSED, ENOTFOUND, WRONGPASS, with host and port) as their cause.
 *
 * @example
 * const store = redisStore({ client: createRedis(process.env.REDIS_URL) })
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisBinaryStore(options)
}

class RedisBinaryStore implements RedisStore {
  readonly name = 'redis'
  readonly kind = 'remote' as const
  readonly client: Redis | Cluster
  readonly lock: DistributedLock
  private readonly givenCodec: Codec | undefined
  private defaultCodec: Codec | undefined
  private readonly prefix: string
  private readonly maxValueBytes: number
  private readonly scanCount: number
  private readonly deleteBatch: number
  private readonly closeClient: boolean
  private readonly readyTimeout: number
  private readonly cluster: boolean
  private readonly coalesceGets: boolean
  private readonly reads: ReadBatcher
  /** Every write, in call order, when `coalesceWrites` is on. */
  private readonly writes: WriteBatcher<BatchedWrite> | undefined
  private readonly translateError = (error: unknown, operation: string, key: string | undefined) =>
    this.translate(error, operation, key)
  private readonly connection: ConnectionWatch
  private closed = false
  private wasReady = false
  private firstConnect: Promise<void> | undefined

  constructor(options: RedisStoreOptions) {
    this.client = options.client
    this.givenCodec = options.codec
    this.prefix = options.prefix ?? ''
    this.maxValueBytes = positive('maxValueBytes', options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES)
    this.scanCount = positive('scanCount', options.scanCount ?? 1000)
    this.deleteBatch = positive('deleteBatch', options.deleteBatch ?? 500)
    this.closeClient = options.closeClient ?? true
    this.readyTimeout = parseDuration(options.readyTimeout ?? '3s')
    this.cluster = isCluster(options.client)
    this.lock = redisLock(options.client, this.prefix)
    this.coalesceGets = options.coalesceGets ?? true
    this.connection = new ConnectionWatch(options.client)
    this.writes =
      (options.coalesceWrites ?? true)
        ? new WriteBatcher<BatchedWrite>({
            send: (writes) => sendWrites(this.client, this.cluster, this.deleteBatch, writes),
            gate: () => this.writeGate(),
          })
        : undefined
    // Errors are translated once per batch, not per call: the hot path gains no promise.
    // Writes queued before the reads leave first, so a read never overtakes an earlier write.
    this.reads = new ReadBatcher((redisKeys) => {
      this.writes?.flush()
      return this.fetch(redisKeys).catch((error: unknown) => {
        throw this.translate(
          error,
          'get',
          redisKeys.length === 1 ? this.unprefixed(redisKeys[0]!) : undefined,
        )
      })
    })
  }
  /**
   * The codec a cache uses with this store unless told otherwise. Built on first use: a cache given
   * its own codec (say `jsonCodec()`) never builds the default, so it runs where lz4-napi's native
   * binary is missing.
   */
  get codec(): Codec {
    if (this.givenCodec) return this.givenCodec
    this.defaultCodec ??= defaultCodec()
    return this.defaultCodec
  }

  connectionError(): Error | undefined {
    return this.connection.error
  }

  get(key: string): Promise<Uint8Array | undefined> {
    if (!this.wasReady || this.closed) return this.ready().then(() => this.get(key))
    if (!this.coalesceGets) {
      this.writes?.flush()
      return this.client.getBuffer(this.prefix + key).then(orUndefined, (error: unknown) => {
        throw this.translate(error, 'get', key)
      })
    }
    return this.reads.get(this.prefix + key)
  }

  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    await this.ready()
    if (keys.length === 0) return []
    this.writes?.flush()
    try {
      return await this.fetch(keys.map((key) => this.prefix + key))
    } catch (error) {
      throw this.translate(error, 'getMany')
    }
  }

  /** MGET on a standalone server; one pipeline of per-slot MGETs per node on a Cluster. */
  private async fetch(redisKeys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    if (redisKeys.length === 1) return [orUndefined(await this.client.getBuffer(redisKeys[0]!))]
    if (!this.cluster) {
      const values = await this.client.mgetBuffer(...redisKeys)
      return values.map((value) => value ?? undefined)
    }
    const values: Array<Uint8Array | undefined> = new Array(redisKeys.length)
    await this.perNode(
      redisKeys,
      (pipeline, slotKeys) => pipeline.mgetBuffer(...slotKeys),
      (positions, reply) => {
        const buffers = reply as Array<Buffer | null>
        for (const [i, position] of positions.entries()) values[position] = buffers[i] ?? undefined
      },
    )
    return values
  }

  set(key: string, value: Uint8Array, ttlMs?: number): Promise<void> {
    if (this.closed) return this.rejectClosed()
    try {
      this.checkSize(key, value)
    } catch (error) {
      return Promise.reject(error)
    }
    const writes = this.writes
    if (!writes) return this.setNow(key, value, ttlMs)
    const buffer = asBuffer(value)
    const px = ttlMs === undefined ? undefined : ttl(ttlMs)
    return new Promise((resolve, reject) => {
      writes.add(new SetWrite(key, this.prefix + key, buffer, px, this.translateError, resolve, reject))
    })
  }

  private async setNow(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<void> {
    await this.ready()
    const buffer = asBuffer(value)
    try {
      if (ttlMs === undefined) await this.client.set(this.prefix + key, buffer)
      else await this.client.set(this.prefix + key, buffer, 'PX', ttl(ttlMs))
    } catch (error) {
      throw this.translate(error, 'set', key)
    }
  }

  setMany(writes: readonly StoreWrite<Uint8Array>[]): Promise<void> {
    if (this.closed) return this.rejectClosed()
    const queue = this.writes
    if (!queue) return this.setManyNow(writes)
    if (writes.length === 0) return Promise.resolve()
    let queued: Array<{ redisKey: string; value: Buffer; ttlMs: number | undefined }>
    try {
      for (const write of writes) this.checkSize(write.key, write.value)
      queued = writes.map((write) => ({
        redisKey: this.prefix + write.key,
        value: asBuffer(write.value),
        ttlMs: write.ttlMs === undefined ? undefined : ttl(write.ttlMs),
      }))
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      queue.add(new SetManyWrite(queued, this.translateError, resolve, reject))
    })
  }

  private async setManyNow(writes: readonly StoreWrite<Uint8Array>[]): Promise<void> {
    await this.ready()
    if (writes.length === 0) return
    try {
      await this.writeMany(writes)
    } catch (error) {
      throw this.translate(error, 'setMany')
    }
  }

  private async writeMany(writes: readonly StoreWrite<Uint8Array>[]): Promise<void> {
    for (const write of writes) this.checkSize(write.key, write.value)
    const redisKeys = writes.map((write) => this.prefix + write.key)
    const queue = (pipeline: ReturnType<Redis['pipeline']>, position: number) => {
      const write = writes[position]!
      const buffer = asBuffer(write.value)
      if (write.ttlMs === undefined) pipeline.set(redisKeys[position]!, buffer)
      else pipeline.set(redisKeys[position]!, buffer, 'PX', ttl(write.ttlMs))
    }
    if (!this.cluster) {
      const pipeline = this.client.pipeline()
      for (let position = 0; position < writes.length; position++) queue(pipeline, position)
      throwFirstError(await pipeline.exec())
      return
    }
    await Promise.all(
      groupByNode(this.client as Cluster, redisKeys).map(async (group) => {
        const pipeline = this.client.pipeline()
        for (const positions of group.slots.values())
          for (const position of positions) queue(pipeline, position)
        throwFirstError(await pipeline.exec())
      }),
    )
  }

  delete(keys: readonly string[]): Promise<number> {
    if (this.closed) return this.rejectClosed()
    const queue = this.writes
    if (!queue) return this.deleteNow(keys)
    if (keys.length === 0) return Promise.resolve(0)
    const redisKeys = keys.map((key) => this.prefix + key)
    return new Promise((resolve, reject) => {
      queue.add(
        new DeleteWrite(
          keys.length === 1 ? keys[0] : undefined,
          redisKeys,
          this.translateError,
          resolve,
          reject,
        ),
      )
    })
  }

  private async deleteNow(keys: readonly string[]): Promise<number> {
    await this.ready()
    if (keys.length === 0) return 0
    try {
      return await this.unlink(keys)
    } catch (error) {
      throw this.translate(error, 'delete', keys.length === 1 ? keys[0] : undefined)
    }
  }

  private async unlink(keys: readonly string[]): Promise<number> {
    const redisKeys = keys.map((key) => this.prefix + key)
    if (!this.cluster) {
      let count = 0
      for (let i = 0; i < redisKeys.length; i += this.deleteBatch) {
        count += await this.client.unlink(...redisKeys.slice(i, i + this.deleteBatch))
      }
      return count
    }
    let count = 0
    await this.perNode(
      redisKeys,
      (pipeline, slotKeys) => pipeline.unlink(...slotKeys),
      (_positions, reply) => {
        count += reply as number
      },
    )
    return count
  }

  async clear(prefix = ''): Promise<number> {
    await this.ready()
    // Writes made before the clear reach Redis before its SCAN, so the clear removes them.
    this.writes?.flush()
    try {
      return await this.clearPrefix(prefix)
    } catch (error) {
      throw this.translate(error, 'clear')
    }
  }

  private async clearPrefix(prefix: string): Promise<number> {
    let count = 0
    const pattern = `${escapeGlob(this.prefix + prefix)}*`
    await Promise.all(
      this.masters().map(async (node) => {
        for await (const batch of this.scanNode(node, pattern)) {
          // Not `count += await ...`: that reads `count` before the await and loses other nodes' counts.
          const unlinked = await this.unlinkOnNode(node, batch)
          count += unlinked
        }
      }),
    )
    return count
  }

  async *scan(pattern: string): AsyncIterable<string> {
    await this.ready()
    const redisPattern = escapeGlob(this.prefix) + pattern
    // SCAN may return a key more than once; the contract promises each key once.
    const seen = new Set<string>()
    this.writes?.flush()
    for (const node of this.masters()) {
      const pages = this.scanNode(node, redisPattern)[Symbol.asyncIterator]()
      while (true) {
        let page: IteratorResult<string[]>
        try {
          page = await pages.next()
        } catch (error) {
          throw this.translate(error, 'scan')
        }
        if (page.done) break
        for (const redisKey of page.value) {
          if (seen.has(redisKey)) continue
          seen.add(redisKey)
          yield redisKey.slice(this.prefix.length)
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    // Writes already made leave before QUIT; only those still waiting for a first connection fail.
    this.writes?.flush()
    this.closed = true
    this.writes?.failQueued(new StoreClosedError(this.name))
    if (this.closeClient) await quitClient(this.client)
    this.connection.stop()
  }

  /** See `translateRedisError`: refusals become `StoreRefusedError`, outages carry the connection's error. */
  private translate(error: unknown, operation: string, key?: string): unknown {
    return translateRedisError(error, this.name, operation, key, this.connection.error)
  }

  /**
   * When queued writes may leave: after the first connection, and on a Cluster once every master's
   * connection is up (see `mastersReady`: ioredis would otherwise resend some of them late, out of
   * order).
   */
  private writeGate(): Promise<void> | undefined {
    if (!this.wasReady || this.closed) return this.ready()
    return this.cluster ? mastersReady(this.client as Cluster, this.readyTimeout) : undefined
  }

  private rejectClosed(): Promise<never> {
    return Promise.reject(new StoreClosedError(this.name))
  }

  private unprefixed(redisKey: string): string {
    return redisKey.slice(this.prefix.length)
  }

  /**
   * Waits for the first connection only. After that, commands fail fast while Redis is away (the
   * offline queue is off), which is what lets the cache fall back at once.
   */
  private async ready(): Promise<void> {
    if (this.closed) throw new StoreClosedError(this.name)
    if (this.wasReady) return
    if (this.client.status === 'ready') {
      this.wasReady = true
      return
    }
    // One wait shared by every caller: a listener per call would pile up before the first connect.
    this.firstConnect ??= this.waitForFirstConnect().finally(() => {
      this.firstConnect = undefined
    })
    await this.firstConnect
    this.wasReady = true
  }

  private waitForFirstConnect(): Promise<void> {
    if (this.client.status === 'wait') void this.client.connect().catch(() => undefined)
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady)
        reject(
          new StoreFailureError(this.name, `connect (not ready within ${this.readyTimeout} ms)`, {
            cause: this.connection.error,
          }),
        )
      }, this.readyTimeout)
      const onReady = () => {
        clearTimeout(timer)
        resolve()
      }
      this.client.once('ready', onReady)
    })
  }

  private masters(): Redis[] {
    return this.cluster ? (this.client as Cluster).nodes('master') : [this.client as Redis]
  }

  private async *scanNode(node: Redis, pattern: string): AsyncIterable<string[]> {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', this.scanCount)
      cursor = next
      if (keys.length > 0) yield keys
    } while (cursor !== '0')
  }

  /** Unlinks keys a node's SCAN returned, on that node, one command per slot in one pipeline. */
  private async unlinkOnNode(node: Redis, keys: string[]): Promise<number> {
    let count = 0
    for (let i = 0; i < keys.length; i += this.deleteBatch) {
      const batch = keys.slice(i, i + this.deleteBatch)
      if (!this.cluster) {
        count += await node.unlink(...batch)
        continue
      }
      const pipeline = node.pipeline()
      for (const slotKeys of groupBySlot(batch)) pipeline.unlink(...slotKeys)
      for (const [error, reply] of (await pipeline.exec()) ?? []) if (!error) count += reply as number
    }
    return count
  }

  /** Runs one multi-key command per slot, in one pipeline per node, all nodes at once. */
  private async perNode(
    redisKeys: readonly string[],
    queue: (pipeline: ReturnType<Redis['pipeline']>, slotKeys: string[]) => void,
    collect: (positions: number[], reply: unknown) => void,
  ): Promise<void> {
    await Promise.all(
      groupByNode(this.client as Cluster, redisKeys).map(async (group) => {
        const pipeline = this.client.pipeline()
        const order: number[][] = []
        for (const positions of group.slots.values()) {
          queue(
            pipeline,
            positions.map((position) => redisKeys[position]!),
          )
          order.push(positions)
        }
        const replies = throwFirstError(await pipeline.exec())
        for (const [i, positions] of order.entries()) collect(positions, replies[i])
      }),
    )
  }

  private checkSize(key: string, value: Uint8Array): void {
    if (value.byteLength > this.maxValueBytes) {
      throw new ValueTooLargeError(
        value.byteLength,
        this.maxValueBytes,
        `[cachekit/redis] value of "${key}" is ${value.byteLength} bytes, above maxValueBytes ${this.maxValueBytes}`,
        { key },
      )
    }
  }
}

type PipelineResult = Array<[error: Error | null, result: unknown]> | null

function orUndefined(value: Buffer | null | undefined): Uint8Array | undefined {
  return value ?? undefined
}

function throwFirstError(results: PipelineResult): unknown[] {
  if (!results) throw new Error('[cachekit/redis] pipeline was discarded')
  return results.map(([error, result]) => {
    if (error) throw error
    return result
  })
}

/** Buffers go to Redis as they are; other Uint8Arrays are viewed as Buffers without a copy. */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

function ttl(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs))
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(`[cachekit/redis] ${name} must be a positive integer, got ${value}`)
  }
  return value
}
