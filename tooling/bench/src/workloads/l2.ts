/**
 * Workloads that reach Redis: L2-only get, tiered get (L1 miss, L2 hit), getMany of 100 keys, and
 * set. Each has a like-for-like raw reference, the least any cache must do for the same work with
 * the bare libraries, which its target is judged against: ioredis and msgpackr `pack`/`unpack` with
 * the options cachekit's msgpack serializer uses, batched per tick where cachekit batches (its store
 * sends the reads of one tick as one MGET), and lru-cache where cachekit also writes its L1.
 */
import { LRUCache } from 'lru-cache'
import { type Budget, isObject, runOptions, verify } from '../budget.js'
import { coalescedGetBuffer, coalescedSetPx } from '../coalesce.js'
import { type Fixtures, KEY_COUNT } from '../fixtures.js'
import { bentocache, cachekit, cacheManager, packr, TTL_MS } from '../libraries.js'
import { type RedisBenchmarkOptions, redisBenchmark } from '../redis_benchmark.js'
import { referenceNotes, throughputTable, type WorkloadResult } from '../report.js'
import { compare, type Measurement, type Subject } from '../timing.js'
import { notesOf } from './l1.js'

/** The L2 get reference: what cachekit's store does with the gets of one tick, bare. */
export const RAW_MGET_PER_TICK = 'raw ioredis, one MGET per tick + unpack'
export const RAW_MGET_UNPACK = 'raw ioredis mgetBuffer + unpack'
export const RAW_SET_PX = 'raw pack + ioredis SET PX + lru.set'
const L2_KEYS = 1000
/** The size of the values redis-benchmark writes and reads: about the msgpack size of the objects. */
const SERVER_VALUE_BYTES = 900

const remoteOptions = {
  concurrency: 64,
  ops: 30_000,
  maxMs: 600,
  samples: 7,
  warmupOps: 10_000,
  latencyOps: 20_000,
}

export function l2GetSubjects(f: Fixtures): Subject[] {
  const keys = f.keys
  const { cachekit, cachekitJson, cachekitAutoPipelining, bento, cacheManager } = f.l2
  const { redis, redisAutoPipelining, redisKeys } = f.raw
  const coalesced = coalescedGetBuffer(redis)
  return [
    { name: 'cachekit', role: 'cachekit', op: (i) => cachekit.get(keys[i % L2_KEYS]!) },
    {
      name: 'cachekit (jsonCodec)',
      role: 'cachekit',
      op: (i) => cachekitJson.get(keys[i % L2_KEYS]!),
      note: 'the same cache with `codec: jsonCodec()`, the serializer class bentocache and cache-manager use',
    },
    { name: 'bentocache', role: 'peer', op: (i) => bento.get({ key: keys[i % L2_KEYS]! }) },
    { name: 'cache-manager', role: 'peer', op: (i) => cacheManager.get(keys[i % L2_KEYS]!) },
    {
      name: RAW_MGET_PER_TICK,
      role: 'raw',
      reference: true,
      op: async (i) => {
        const bytes = await coalesced(redisKeys[i % L2_KEYS]!)
        return bytes ? packr.unpack(bytes) : undefined
      },
      note: 'the gets issued in one tick sent as one MGET (src/coalesce.ts), then `unpack` of each: what cachekit’s store does by default (`coalesceGets`), without the frame, the checks or the stats',
    },
    {
      name: 'raw ioredis getBuffer + unpack, one GET per call (information only)',
      role: 'raw',
      op: async (i) => {
        const bytes = await redis.getBuffer(redisKeys[i % L2_KEYS]!)
        return bytes ? packr.unpack(bytes) : undefined
      },
    },
    {
      name: 'raw ioredis getBuffer (no decode; information only)',
      role: 'raw',
      op: async (i) => {
        const bytes = await redis.getBuffer(redisKeys[i % L2_KEYS]!)
        return bytes ? { id: bytes.length } : undefined
      },
    },
    {
      name: 'cachekit, client with enableAutoPipelining (information only)',
      role: 'cachekit',
      op: (i) => cachekitAutoPipelining.get(keys[i % L2_KEYS]!),
      note: '`createRedis({ url, ioredis: { enableAutoPipelining: true } })`: not cachekit’s default',
    },
    {
      name: 'raw ioredis getBuffer + unpack, enableAutoPipelining (information only)',
      role: 'raw',
      op: async (i) => {
        const bytes = await redisAutoPipelining.getBuffer(redisKeys[i % L2_KEYS]!)
        return bytes ? packr.unpack(bytes) : undefined
      },
    },
  ]
}

/**
 * Appends redis-benchmark's row for `test` (64 connections, like the 64 callers) to `measurements`,
 * and says so, or why not, in `notes`.
 */
export async function withServerLimit(
  url: string,
  budget: Budget,
  test: RedisBenchmarkOptions['test'],
  measurements: Measurement[],
  notes: string[],
): Promise<void> {
  const requests = budget.quick ? 50_000 : 200_000
  const result = await redisBenchmark(url, {
    test,
    clients: 64,
    requests,
    valueBytes: SERVER_VALUE_BYTES,
  })
  if (!result.ok) {
    process.stderr.write(`[bench] ${result.reason}\n`)
    notes.push(result.reason)
    return
  }
  measurements.push(result.measurement)
  notes.push(
    `${result.measurement.name}: ${result.measurement.note}. It is Redis’ own C client on the same server, one connection per caller where the Node rows share one; "cachekit ÷ this" is how far the cache is from what the server serves this way, not a target.`,
  )
}

export async function l2Get(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = l2GetSubjects(f)
  await verify(subjects, isObject)
  const measurements = await compare(subjects, runOptions(budget, remoteOptions))
  const serverNotes: string[] = []
  await withServerLimit(f.url, budget, 'get', measurements, serverNotes)
  return {
    id: 'l2-get',
    title: 'L2 only: get, 64 concurrent callers',
    setup:
      'Each library with only its Redis layer; 1,000 keys of a ~1 KB object (msgpack 860-890 B, under the 1 KiB lz4 threshold of the default codec); 64 callers awaiting `get` in a loop. The target is judged against the reference, raw ioredis with one MGET per tick + unpack (cachekit batches the gets of one tick the same way), not against one GET per call.',
    table: throughputTable(measurements),
    notes: [
      ...referenceNotes(measurements),
      ...notesOf(subjects),
      ...serverNotes,
      'bentocache and cache-manager store JSON text (their Redis drivers read strings), so msgpack is not an option for them.',
      'cache-manager talks to Redis through node-redis (@keyv/redis), which pipelines the commands issued in one tick; the others use ioredis, which writes each command as it comes.',
    ],
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}

const TIERED_L1 = 1000

export function tieredGetSubjects(f: Fixtures): { subjects: Subject[]; close: () => Promise<unknown> } {
  const l1Entries = TIERED_L1
  const keys = f.keys
  const ck = cachekit(f.url, { prefix: 'ck', l1Entries })
  const bento = bentocache(f.url, { prefix: 'bento', l1Entries })
  const cm = cacheManager(f.url, { namespace: 'cm', l1Entries })
  const { redis, redisKeys } = f.raw
  const lru = new LRUCache<string, object>({ max: l1Entries, ttl: TTL_MS, ttlAutopurge: false })
  const lruBatched = new LRUCache<string, object>({ max: l1Entries, ttl: TTL_MS, ttlAutopurge: false })
  const coalesced = coalescedGetBuffer(redis)
  const subjects: Subject[] = [
    { name: 'cachekit', role: 'cachekit', op: (i) => ck.get(keys[i % KEY_COUNT]!) },
    { name: 'bentocache', role: 'peer', op: (i) => bento.get({ key: keys[i % KEY_COUNT]! }) },
    { name: 'cache-manager', role: 'peer', op: (i) => cm.get(keys[i % KEY_COUNT]!) },
    {
      name: 'raw lru-cache, else one MGET per tick + unpack + lru.set',
      role: 'raw',
      reference: true,
      op: async (i) => {
        const key = redisKeys[i % KEY_COUNT]!
        const local = lruBatched.get(key)
        if (local !== undefined) return local
        const bytes = await coalesced(key)
        if (!bytes) return undefined
        const value = packr.unpack(bytes) as object
        lruBatched.set(key, value)
        return value
      },
    },
    {
      name: 'raw lru-cache, else getBuffer + unpack + lru.set (one GET per call; information only)',
      role: 'raw',
      op: async (i) => {
        const key = redisKeys[i % KEY_COUNT]!
        const local = lru.get(key)
        if (local !== undefined) return local
        const bytes = await redis.getBuffer(key)
        if (!bytes) return undefined
        const value = packr.unpack(bytes) as object
        lru.set(key, value)
        return value
      },
    },
  ]
  return { subjects, close: () => Promise.all([ck.close(), bento.disconnect(), cm.close()]) }
}

export async function tieredGet(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const l1Entries = TIERED_L1
  const { subjects, close } = tieredGetSubjects(f)
  try {
    await verify(subjects, isObject)
    const measurements = await compare(subjects, runOptions(budget, remoteOptions))
    return {
      id: 'tiered-get',
      title: 'Tiered get: L1 miss, L2 hit, copied into L1',
      setup: `L1 of ${l1Entries} entries + Redis; 64 callers walk ${KEY_COUNT.toLocaleString('en-US')} keys in order, so every read misses L1, hits Redis and is copied into L1.`,
      table: throughputTable(measurements),
      notes: referenceNotes(measurements),
      data: { measurements },
      seconds: (performance.now() - started) / 1000,
    }
  } finally {
    await close()
  }
}

export function getManySubjects(f: Fixtures): Subject[] {
  const batchSize = 100
  const batches = Array.from({ length: KEY_COUNT / batchSize }, (_, b) =>
    f.keys.slice(b * batchSize, (b + 1) * batchSize),
  )
  const rawBatches = Array.from({ length: KEY_COUNT / batchSize }, (_, b) =>
    f.raw.redisKeys.slice(b * batchSize, (b + 1) * batchSize),
  )
  const { cachekit, bento, cacheManager } = f.l2
  const { redis } = f.raw
  return [
    {
      name: 'cachekit',
      role: 'cachekit',
      op: (i) => cachekit.getMany(batches[i % batches.length]!),
    },
    {
      name: 'bentocache',
      role: 'peer',
      op: (i) => Promise.all(batches[i % batches.length]!.map((key) => bento.get({ key }))),
      note: 'bentocache 1.6 has no getMany; 100 concurrent `get` calls with Promise.all',
    },
    {
      name: 'cache-manager (mget)',
      role: 'peer',
      op: (i) => cacheManager.mget(batches[i % batches.length]!),
    },
    {
      name: RAW_MGET_UNPACK,
      role: 'raw',
      reference: true,
      op: async (i) => {
        const values = await redis.mgetBuffer(...rawBatches[i % rawBatches.length]!)
        return values.map((bytes) => (bytes ? packr.unpack(bytes) : undefined))
      },
    },
  ]
}

export async function getMany(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const first = (values: unknown) => (values as unknown[])[0]
  const subjects = getManySubjects(f)
  await verify(
    subjects.map((s) => ({ ...s, op: async (i: number) => first(await s.op(i)) })),
    isObject,
  )
  const measurements = await compare(
    subjects,
    runOptions(budget, {
      concurrency: 8,
      ops: 2_000,
      maxMs: 600,
      samples: 7,
      warmupOps: 500,
      latencyOps: 1_000,
    }),
  )
  return {
    id: 'get-many',
    title: 'getMany of 100 keys (L2 only), 8 concurrent callers',
    setup:
      'The L2-only caches; each call reads 100 existing keys (~1 KB objects). ops/s counts calls: keys/s is 100 times that.',
    table: throughputTable(measurements),
    notes: [...referenceNotes(measurements), ...notesOf(subjects)],
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}

export function setSubjects(f: Fixtures): Subject[] {
  const { keys, values } = f
  const { cachekit, bento, cacheManager } = f.tiered
  const { redis, redisKeys, lru } = f.raw
  const batched = coalescedSetPx(redis)
  return [
    {
      name: 'cachekit',
      role: 'cachekit',
      op: (i) => cachekit.set(keys[i % KEY_COUNT]!, values[i % KEY_COUNT]),
    },
    {
      name: 'bentocache',
      role: 'peer',
      op: (i) => bento.set({ key: keys[i % KEY_COUNT]!, value: values[i % KEY_COUNT] }),
    },
    {
      name: 'cache-manager',
      role: 'peer',
      op: (i) => cacheManager.set(keys[i % KEY_COUNT]!, values[i % KEY_COUNT]),
    },
    {
      name: RAW_SET_PX,
      role: 'raw',
      reference: true,
      op: (i) => {
        const value = values[i % KEY_COUNT]!
        lru.set(keys[i % KEY_COUNT]!, value)
        return redis.set(redisKeys[i % KEY_COUNT]!, packr.pack(value), 'PX', TTL_MS)
      },
      note: 'msgpackr `pack` of the object, one `SET key bytes PX ttl` per call, and `lru.set` of the object (cachekit’s set writes its L1 too)',
    },
    {
      name: 'raw pack + one pipeline of SET PX per tick + lru.set (information only)',
      role: 'raw',
      op: (i) => {
        const value = values[i % KEY_COUNT]!
        lru.set(keys[i % KEY_COUNT]!, value)
        return batched({ key: redisKeys[i % KEY_COUNT]!, value: packr.pack(value), ttlMs: TTL_MS })
      },
      note: 'the same writes, those issued in one tick sent as one pipeline (src/coalesce.ts; MSET has no PX): the headroom of coalescing same-tick writes, as issue 17 has cachekit do',
    },
  ]
}

export async function set(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = setSubjects(f)
  const measurements = await compare(subjects, runOptions(budget, remoteOptions))
  const serverNotes: string[] = []
  await withServerLimit(f.url, budget, 'set', measurements, serverNotes)
  return {
    id: 'set',
    title: 'set, 64 concurrent callers',
    setup:
      'Tiered caches (L1 10,000 + Redis); each call writes a ~1 KB object to both tiers, cycling over 10,000 keys, same TTL everywhere. The targets are judged against bentocache and the reference, raw pack + SET PX + lru.set, one command per call.',
    table: throughputTable(measurements),
    notes: [...referenceNotes(measurements), ...notesOf(subjects), ...serverNotes],
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}
