import { createHash } from 'node:crypto'
import { type ScriptBatcher, scriptBatcher } from '@cachekit/core'
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

/** Operations per script call: see ratelimit's ScriptRunner for the measurements behind 16. */
const BATCH_SIZE = 16

/**
 * The store's per-request operations of one tick, 16 to a script call (grouped by slot on a
 * Cluster), each call under one timeout, with core's `scriptBatcher`. A save was five commands
 * for ioredis to build, send, time and parse (MULTI, HSET, EXPIRE, HEXISTS, EXEC); now 16
 * operations are one (tooling/bench, bench:sessions).
 */
export class StoreBatch {
  private readonly batcher: ScriptBatcher<StoreOp>

  constructor(client: Redis | Cluster, timeoutMs: number, tombstone: string) {
    const cluster = (client as Cluster).isCluster === true
    this.batcher = scriptBatcher<StoreOp>({
      client,
      script: storeBatchScript(tombstone),
      timeoutMs,
      batchSize: BATCH_SIZE,
      ...(cluster ? { slotOf: (op: StoreOp) => calculateSlot(op.key) } : {}),
      encode: (op, keys, args) => {
        keys.push(op.key)
        if (op.kind === 'get') args.push('g')
        else if (op.kind === 'touch') args.push('t', op.ttl)
        else if (op.kind === 'destroy') args.push('d', op.lifeSeconds)
        else args.push('s', op.ttl, op.set.length / 2, ...op.set, op.removed.length, ...op.removed)
      },
      nameOf: (op) => op.kind,
    })
  }

  run<T>(op: StoreOp): Promise<T> {
    return this.batcher.run<T>(op)
  }
}
