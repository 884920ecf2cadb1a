import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import { groupBySlot } from './slot_groups.js'
import type { QueuedWrite } from './write_batcher.js'

type Pipeline = ReturnType<Redis['pipeline']>

/** Turns a Redis error into what the caller of one store operation sees (see `translateRedisError`). */
export type Translate = (error: unknown, operation: string, key: string | undefined) => unknown

/** One pipeline of a batch: its commands, and for each the write its reply belongs to. */
interface Lane {
  pipeline: Pipeline
  owners: BatchedWrite[]
}

/** Where a write puts its commands: the one pipeline of a server, or the pipeline of a key's node. */
export interface Lanes {
  readonly cluster: boolean
  /** Keys per UNLINK command. */
  readonly deleteBatch: number
  /** The pipeline that `redisKey` (and every key of its slot) goes to; the write is told each reply. */
  add(redisKey: string, owner: BatchedWrite): Pipeline
}

/**
 * A store call waiting in the write queue: it adds its commands to the batch's pipelines and settles
 * its caller's promise once every reply is back, with its own result or its own error. A refusal of
 * one command (`OOM`) fails only the write it belongs to.
 */
export abstract class BatchedWrite implements QueuedWrite {
  private remaining = 0
  private error: unknown = undefined

  /** Adds this write's commands, in order, to `lanes`. */
  abstract queue(lanes: Lanes): void

  /** One command's reply, in the order the commands were queued. */
  reply(error: Error | null | undefined, result: unknown): void {
    if (error) this.error ??= error
    else this.collect(result)
    if (--this.remaining === 0) this.settle(this.error)
  }

  /** Called by `Lanes.add` for each command. */
  counted(): void {
    this.remaining++
  }

  /** Settles a write that queued no command. */
  settleEmpty(): void {
    if (this.remaining === 0) this.settle(undefined)
  }

  abstract fail(error: unknown): void
  protected collect(_result: unknown): void {}
  protected abstract settle(error: unknown): void
}

/** `set(key, value, ttlMs)`: one SET, with PX when there is a TTL. */
export class SetWrite extends BatchedWrite {
  constructor(
    private readonly key: string,
    readonly redisKey: string,
    readonly value: Buffer,
    readonly ttlMs: number | undefined,
    private readonly translate: Translate,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super()
  }

  queue(lanes: Lanes): void {
    const pipeline = lanes.add(this.redisKey, this)
    if (this.ttlMs === undefined) pipeline.set(this.redisKey, this.value)
    else pipeline.set(this.redisKey, this.value, 'PX', this.ttlMs)
  }

  fail(error: unknown): void {
    this.reject(this.translate(error, 'set', this.key))
  }

  protected settle(error: unknown): void {
    if (error === undefined) this.resolve()
    else this.fail(error)
  }
}

/** `setMany(writes)`: one SET per write; rejects with the first error once all replied. */
export class SetManyWrite extends BatchedWrite {
  constructor(
    private readonly writes: ReadonlyArray<{ redisKey: string; value: Buffer; ttlMs: number | undefined }>,
    private readonly translate: Translate,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super()
  }

  queue(lanes: Lanes): void {
    for (const { redisKey, value, ttlMs } of this.writes) {
      const pipeline = lanes.add(redisKey, this)
      if (ttlMs === undefined) pipeline.set(redisKey, value)
      else pipeline.set(redisKey, value, 'PX', ttlMs)
    }
  }

  fail(error: unknown): void {
    this.reject(this.translate(error, 'setMany', undefined))
  }

  protected settle(error: unknown): void {
    if (error === undefined) this.resolve()
    else this.fail(error)
  }
}

/**
 * `delete(keys)`: UNLINK in commands of `deleteBatch` keys, one slot each on a Cluster; resolves
 * with how many keys existed.
 */
export class DeleteWrite extends BatchedWrite {
  private count = 0

  constructor(
    /** The key errors name: the one key of a single-key delete. */
    private readonly key: string | undefined,
    private readonly redisKeys: string[],
    private readonly translate: Translate,
    private readonly resolve: (count: number) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super()
  }

  queue(lanes: Lanes): void {
    const groups = lanes.cluster ? groupBySlot(this.redisKeys) : [this.redisKeys]
    for (const keys of groups) {
      for (let i = 0; i < keys.length; i += lanes.deleteBatch) {
        const batch = keys.length <= lanes.deleteBatch ? keys : keys.slice(i, i + lanes.deleteBatch)
        lanes.add(batch[0]!, this).unlink(...batch)
      }
    }
  }

  fail(error: unknown): void {
    this.reject(this.translate(error, 'delete', this.key))
  }

  protected override collect(result: unknown): void {
    this.count += result as number
  }

  protected settle(error: unknown): void {
    if (error === undefined) this.resolve(this.count)
    else this.fail(error)
  }
}

/**
 * Sends a batch of queued writes: one pipeline on a standalone server; on a Cluster one pipeline per
 * node (from the client's slot map; ioredis follows a MOVED), all nodes at once. Each write's
 * commands keep the order they were queued in, so two writes of one key reach Redis in that order.
 * A lone SET leaves as a plain command: a pipeline of one costs more than the command alone.
 */
export function sendWrites(
  client: Redis | Cluster,
  cluster: boolean,
  deleteBatch: number,
  writes: BatchedWrite[],
): void {
  if (writes.length === 1 && writes[0] instanceof SetWrite) {
    sendOne(client, writes[0])
    return
  }
  const lanes = new Map<string, Lane>()
  let single: Lane | undefined
  const sink: Lanes = {
    cluster,
    deleteBatch,
    add(redisKey, owner) {
      owner.counted()
      let lane: Lane | undefined
      if (!cluster) {
        single ??= { pipeline: client.pipeline(), owners: [] }
        lane = single
      } else {
        const slot = calculateSlot(redisKey)
        const node = (client as Cluster).slots[slot]?.[0] ?? `slot:${slot}`
        lane = lanes.get(node)
        if (!lane) {
          lane = { pipeline: client.pipeline(), owners: [] }
          lanes.set(node, lane)
        }
      }
      lane.owners.push(owner)
      return lane.pipeline
    },
  }
  for (const write of writes) {
    write.queue(sink)
    write.settleEmpty()
  }
  if (single) run(single)
  for (const lane of lanes.values()) run(lane)
}

function sendOne(client: Redis | Cluster, write: SetWrite): void {
  write.counted()
  const sent =
    write.ttlMs === undefined
      ? client.set(write.redisKey, write.value)
      : client.set(write.redisKey, write.value, 'PX', write.ttlMs)
  sent.then(
    (result) => write.reply(null, result),
    (error: Error) => write.reply(error, undefined),
  )
}

function run({ pipeline, owners }: Lane): void {
  pipeline.exec().then(
    (results) => {
      if (!results) {
        const discarded = new Error('[cachekit/redis] pipeline was discarded')
        for (const owner of owners) owner.reply(discarded, undefined)
        return
      }
      for (let i = 0; i < owners.length; i++) owners[i]!.reply(results[i]![0], results[i]![1])
    },
    (error: Error) => {
      for (const owner of owners) owner.reply(error, undefined)
    },
  )
}
