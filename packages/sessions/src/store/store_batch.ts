import { createHash } from 'node:crypto'
import { StoreFailureError } from '@cachekit/core'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'

/** One store operation on one session key, as the batch script reads it. */
export type StoreOp =
  | { kind: 'get'; key: string }
  | { kind: 'touch'; key: string; ttl: number }
  | { kind: 'destroy'; key: string; lifeSeconds: number }
  /** `ttl` -1: no expiry (PERSIST). `set`: field, text pairs; `removed`: fields to delete. */
  | { kind: 'set'; key: string; ttl: number; set: readonly string[]; removed: readonly string[] }

/**
 * Every operation of a batch, in one script call. KEYS: one per operation; ARGV: a stream, per
 * operation its code and arguments. Each operation is atomic (as the MULTI/EXEC it replaces) and
 * answers on its own: a failing one (a key of another type) is an error in its place of the
 * reply, and the others still answer.
 *
 * - `g`: HGETALL.
 * - `t` ttl: EXPIRE.
 * - `d` life: DEL, then the tombstone field, expiring with the session's life.
 * - `s` ttl n field text... m field...: HSET, HDEL, EXPIRE (PERSIST when ttl is -1), then whether the
 *   tombstone is there (1: the session was destroyed and stays so).
 */
export function storeBatchScript(tombstone: string): { source: string; sha: string } {
  const source = `
local out = {}
local a = 1
for i = 1, #KEYS do
  local key = KEYS[i]
  local op = ARGV[a]
  a = a + 1
  if op == 'g' then
    out[i] = redis.pcall('HGETALL', key)
  elseif op == 't' then
    out[i] = redis.pcall('EXPIRE', key, ARGV[a])
    a = a + 1
  elseif op == 'd' then
    redis.call('DEL', key)
    redis.call('HSET', key, '${tombstone}', '1')
    out[i] = redis.call('EXPIRE', key, ARGV[a])
    a = a + 1
  else
    local ttl, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    a = a + 2
    local failed = nil
    if n > 0 then
      local r = redis.pcall('HSET', key, unpack(ARGV, a, a + 2 * n - 1))
      if type(r) == 'table' and r.err then failed = r end
      a = a + 2 * n
    end
    local m = tonumber(ARGV[a])
    a = a + 1
    if failed == nil and m > 0 then
      local r = redis.pcall('HDEL', key, unpack(ARGV, a, a + m - 1))
      if type(r) == 'table' and r.err then failed = r end
    end
    a = a + m
    if failed then
      out[i] = failed
    else
      if ttl < 0 then redis.call('PERSIST', key) else redis.call('EXPIRE', key, ttl) end
      out[i] = redis.call('HEXISTS', key, '${tombstone}')
    end
  end
end
return out`
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

interface Queued {
  op: StoreOp
  resolve: (reply: unknown) => void
  reject: (error: unknown) => void
}

/** Operations per script call: see ratelimit's ScriptRunner for the measurements behind 16. */
const BATCH_SIZE = 16

/**
 * The store's per-request operations of one tick, 16 to a script call (grouped by slot on a
 * Cluster), each call under one timeout. ioredis builds, sends, times and parses each command on
 * its own; a save was five of them (MULTI, HSET, EXPIRE, HEXISTS, EXEC). As one script call per
 * batch the client does that once for 16 operations (tooling/bench, bench:sessions).
 */
export class StoreBatch {
  private queue: Queued[] = []
  private readonly cluster: boolean
  private readonly script: { source: string; sha: string }

  constructor(
    private readonly client: Redis | Cluster,
    private readonly timeoutMs: number,
    tombstone: string,
  ) {
    this.cluster = (client as Cluster).isCluster === true
    this.script = storeBatchScript(tombstone)
  }

  run<T>(op: StoreOp): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(this.flush)
      this.queue.push({ op, resolve: resolve as (reply: unknown) => void, reject })
    })
  }

  private readonly flush = (): void => {
    const batch = this.queue
    this.queue = []
    if (!this.cluster) {
      this.inBatches(batch)
      return
    }
    const bySlot = new Map<number, Queued[]>()
    for (const queued of batch) {
      const slot = calculateSlot(queued.op.key)
      const group = bySlot.get(slot)
      if (group) group.push(queued)
      else bySlot.set(slot, [queued])
    }
    for (const group of bySlot.values()) this.inBatches(group)
  }

  private inBatches(queued: Queued[]): void {
    if (queued.length <= BATCH_SIZE) this.send(queued)
    else for (let i = 0; i < queued.length; i += BATCH_SIZE) this.send(queued.slice(i, i + BATCH_SIZE))
  }

  private send(batch: Queued[]): void {
    let settled = false
    const failAll = (cause: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const queued of batch) queued.reject(new StoreFailureError('redis', queued.op.kind, { cause }))
    }
    const timer = setTimeout(
      () => failAll(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    )
    const keys: string[] = []
    const args: Array<string | number> = []
    for (const { op } of batch) {
      keys.push(op.key)
      if (op.kind === 'get') args.push('g')
      else if (op.kind === 'touch') args.push('t', op.ttl)
      else if (op.kind === 'destroy') args.push('d', op.lifeSeconds)
      else args.push('s', op.ttl, op.set.length / 2, ...op.set, op.removed.length, ...op.removed)
    }
    const deliver = (replies: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const [i, queued] of batch.entries()) {
        const reply = (replies as unknown[])[i]
        if (reply instanceof Error)
          queued.reject(new StoreFailureError('redis', queued.op.kind, { cause: reply }))
        else queued.resolve(reply)
      }
    }
    this.client.evalsha(this.script.sha, keys.length, ...keys, ...args).then(deliver, (error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) return failAll(error)
      // Under the same timer: a call still waits no longer than the timeout.
      this.client.eval(this.script.source, keys.length, ...keys, ...args).then(deliver, failAll)
    })
  }
}
