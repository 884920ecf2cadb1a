/**
 * Workloads that reach Redis: L2-only get, tiered get (L1 miss, L2 hit), getMany of 100 keys, and
 * set. The raw references do the least any cache must: ioredis `getBuffer` and msgpackr `unpack` of
 * the same object with the options cachekit's msgpack serializer uses.
 */
import { LRUCache } from 'lru-cache'
import { type Budget, isObject, runOptions, verify } from '../budget.js'
import { coalescedGetBuffer } from '../coalesce.js'
import { type Fixtures, KEY_COUNT } from '../fixtures.js'
import { bentocache, cachekit, cacheManager, packr, TTL_MS } from '../libraries.js'
import { throughputTable, type WorkloadResult } from '../report.js'
import { compare, type Subject } from '../timing.js'
import { notesOf } from './l1.js'

export const RAW_GET_UNPACK = 'raw ioredis getBuffer + unpack'
const L2_KEYS = 1000

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
      name: RAW_GET_UNPACK,
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
      name: 'raw ioredis, one MGET per tick + unpack (information only)',
      role: 'raw',
      op: async (i) => {
        const bytes = await coalesced(redisKeys[i % L2_KEYS]!)
        return bytes ? packr.unpack(bytes) : undefined
      },
      note: 'the gets issued in one tick sent as one MGET (src/coalesce.ts): the headroom batching would give',
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

export async function l2Get(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = l2GetSubjects(f)
  await verify(subjects, isObject)
  const measurements = await compare(subjects, runOptions(budget, remoteOptions))
  return {
    id: 'l2-get',
    title: 'L2 only: get, 64 concurrent callers',
    setup:
      'Each library with only its Redis layer; 1,000 keys of a ~1 KB object (msgpack 860-890 B, under the 1 KiB lz4 threshold of the default codec); 64 callers awaiting `get` in a loop.',
    table: throughputTable(measurements),
    notes: [
      ...notesOf(subjects),
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
  const subjects: Subject[] = [
    { name: 'cachekit', role: 'cachekit', op: (i) => ck.get(keys[i % KEY_COUNT]!) },
    { name: 'bentocache', role: 'peer', op: (i) => bento.get({ key: keys[i % KEY_COUNT]! }) },
    { name: 'cache-manager', role: 'peer', op: (i) => cm.get(keys[i % KEY_COUNT]!) },
    {
      name: 'raw lru-cache, else getBuffer + unpack + lru.set',
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
      name: 'raw ioredis mgetBuffer + unpack',
      role: 'raw',
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
    notes: notesOf(subjects),
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}

export function setSubjects(f: Fixtures): Subject[] {
  const { keys, values } = f
  const { cachekit, bento, cacheManager } = f.tiered
  const { redis, redisKeys, lru } = f.raw
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
      name: 'raw pack + ioredis SET PX + lru.set',
      role: 'raw',
      op: (i) => {
        const value = values[i % KEY_COUNT]!
        lru.set(keys[i % KEY_COUNT]!, value)
        return redis.set(redisKeys[i % KEY_COUNT]!, packr.pack(value), 'PX', TTL_MS)
      },
    },
  ]
}

export async function set(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = setSubjects(f)
  const measurements = await compare(subjects, runOptions(budget, remoteOptions))
  return {
    id: 'set',
    title: 'set, 64 concurrent callers',
    setup:
      'Tiered caches (L1 10,000 + Redis); each call writes a ~1 KB object to both tiers, cycling over 10,000 keys, same TTL everywhere.',
    table: throughputTable(measurements),
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}
