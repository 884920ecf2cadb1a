/**
 * The L2 get, getMany and set workloads again, on a 3-master Redis Cluster: cachekit and bentocache
 * against raw ioredis `Cluster`. On a cluster a batch costs one round trip per node: the references
 * send the reads of one tick (or the 100 keys of a getMany) as one pipeline per node of one MGET per
 * hash slot, as cachekit's store does, and the writes as one SET PX per call. Fewer samples than the
 * standalone workloads, so the cluster part stays within about a minute.
 */
import { type Budget, isObject, runOptions, verify } from '../budget.js'
import { CLUSTER_KEY_COUNT, type ClusterFixtures } from '../cluster_fixtures.js'
import { coalescedGetBuffer, coalescedSetPx, mgetBuffers } from '../coalesce.js'
import { packr, TTL_MS } from '../libraries.js'
import { referenceNotes, throughputTable, type WorkloadResult } from '../report.js'
import { compare, type Subject } from '../timing.js'
import { notesOf } from './l1.js'

export const CLUSTER_RAW_GET = 'raw ioredis Cluster, one pipeline per node per tick (MGET per slot) + unpack'
export const CLUSTER_RAW_GET_MANY = 'raw ioredis Cluster, one pipeline per node (MGET per slot) + unpack'
export const CLUSTER_RAW_SET = 'raw pack + ioredis Cluster SET PX + lru.set'
const GET_KEYS = 1000
const BATCH = 100

/** Each of the three workloads: at most ~15 s (4 subjects of warmup, 5 samples and a latency pass). */
const clusterOptions = {
  concurrency: 64,
  ops: 20_000,
  maxMs: 400,
  samples: 5,
  warmupOps: 5_000,
  latencyOps: 10_000,
}

/** The upper bound of one cluster step, for the run's time budget (the first also starts the cluster). */
export const CLUSTER_STEP_MAX_MS = 25_000

const setupOf = (what: string) =>
  `A 3-master Redis Cluster (no replicas) started by @cachekit/redis-harness, ${CLUSTER_KEY_COUNT.toLocaleString('en-US')} keys of a ~1 KB object spread over its slots; ${what}`

export function clusterGetSubjects(f: ClusterFixtures): Subject[] {
  const { keys } = f
  const { cluster, redisKeys } = f.raw
  const coalesced = coalescedGetBuffer(cluster)
  return [
    { name: 'cachekit', role: 'cachekit', op: (i) => f.l2.cachekit.get(keys[i % GET_KEYS]!) },
    { name: 'bentocache', role: 'peer', op: (i) => f.l2.bento.get({ key: keys[i % GET_KEYS]! }) },
    {
      name: CLUSTER_RAW_GET,
      role: 'raw',
      reference: true,
      op: async (i) => {
        const bytes = await coalesced(redisKeys[i % GET_KEYS]!)
        return bytes ? packr.unpack(bytes) : undefined
      },
      note: 'the gets of one tick grouped by the node serving their slot, one pipeline per node of one MGET per slot, all nodes at once (src/coalesce.ts): what cachekit’s store does, bare',
    },
    {
      name: 'raw ioredis Cluster getBuffer + unpack, one GET per call (information only)',
      role: 'raw',
      op: async (i) => {
        const bytes = await cluster.getBuffer(redisKeys[i % GET_KEYS]!)
        return bytes ? packr.unpack(bytes) : undefined
      },
    },
  ]
}

export async function clusterL2Get(f: ClusterFixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = clusterGetSubjects(f)
  await verify(subjects, isObject)
  const measurements = await compare(subjects, runOptions(budget, clusterOptions))
  return {
    id: 'cluster-l2-get',
    title: 'Cluster, L2 only: get, 64 concurrent callers',
    setup: setupOf(
      'each library with only its Redis layer, 64 callers awaiting `get` of 1,000 of the keys in a loop.',
    ),
    table: throughputTable(measurements),
    notes: [
      ...referenceNotes(measurements),
      ...notesOf(subjects),
      'bentocache’s Redis driver takes the ioredis `Cluster` as its `connection` (one GET per call, as on a standalone server).',
    ],
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}

export function clusterGetManySubjects(f: ClusterFixtures): Subject[] {
  const batches = Array.from({ length: CLUSTER_KEY_COUNT / BATCH }, (_, b) =>
    f.keys.slice(b * BATCH, (b + 1) * BATCH),
  )
  const rawBatches = Array.from({ length: CLUSTER_KEY_COUNT / BATCH }, (_, b) =>
    f.raw.redisKeys.slice(b * BATCH, (b + 1) * BATCH),
  )
  const { cluster } = f.raw
  return [
    { name: 'cachekit', role: 'cachekit', op: (i) => f.l2.cachekit.getMany(batches[i % batches.length]!) },
    {
      name: 'bentocache',
      role: 'peer',
      op: (i) => Promise.all(batches[i % batches.length]!.map((key) => f.l2.bento.get({ key }))),
      note: 'bentocache 1.6 has no getMany; 100 concurrent `get` calls with Promise.all',
    },
    {
      name: CLUSTER_RAW_GET_MANY,
      role: 'raw',
      reference: true,
      op: async (i) => {
        const values = await mgetBuffers(cluster, rawBatches[i % rawBatches.length]!)
        return values.map((bytes) => (bytes ? packr.unpack(bytes) : undefined))
      },
      note: 'an MGET may not cross a slot: the 100 keys grouped by node, one pipeline per node of one MGET per slot, all nodes at once',
    },
  ]
}

export async function clusterGetMany(f: ClusterFixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = clusterGetManySubjects(f)
  const first = (values: unknown) => (values as unknown[])[0]
  await verify(
    subjects.map((s) => ({ ...s, op: async (i: number) => first(await s.op(i)) })),
    isObject,
  )
  const measurements = await compare(
    subjects,
    runOptions(budget, {
      concurrency: 8,
      ops: 1_000,
      maxMs: 400,
      samples: 5,
      warmupOps: 200,
      latencyOps: 500,
    }),
  )
  return {
    id: 'cluster-get-many',
    title: 'Cluster: getMany of 100 keys (L2 only), 8 concurrent callers',
    setup: setupOf('each call reads 100 existing keys. ops/s counts calls: keys/s is 100 times that.'),
    table: throughputTable(measurements),
    notes: [...referenceNotes(measurements), ...notesOf(subjects)],
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}

export function clusterSetSubjects(f: ClusterFixtures): Subject[] {
  const { keys, values } = f
  const { cluster, redisKeys, lru } = f.raw
  const batched = coalescedSetPx(cluster)
  const n = CLUSTER_KEY_COUNT
  return [
    { name: 'cachekit', role: 'cachekit', op: (i) => f.tiered.cachekit.set(keys[i % n]!, values[i % n]) },
    {
      name: 'bentocache',
      role: 'peer',
      op: (i) => f.tiered.bento.set({ key: keys[i % n]!, value: values[i % n] }),
    },
    {
      name: CLUSTER_RAW_SET,
      role: 'raw',
      reference: true,
      op: (i) => {
        const value = values[i % n]!
        lru.set(keys[i % n]!, value)
        return cluster.set(redisKeys[i % n]!, packr.pack(value), 'PX', TTL_MS)
      },
    },
    {
      name: 'raw pack + one pipeline per node per tick of SET PX + lru.set (information only)',
      role: 'raw',
      op: (i) => {
        const value = values[i % n]!
        lru.set(keys[i % n]!, value)
        return batched({ key: redisKeys[i % n]!, value: packr.pack(value), ttlMs: TTL_MS })
      },
    },
  ]
}

export async function clusterSet(f: ClusterFixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = clusterSetSubjects(f)
  const measurements = await compare(subjects, runOptions(budget, clusterOptions))
  return {
    id: 'cluster-set',
    title: 'Cluster: set, 64 concurrent callers',
    setup: setupOf(
      'tiered caches (L1 10,000 + the cluster), each call writes a ~1 KB object to both tiers, cycling over the keys.',
    ),
    table: throughputTable(measurements),
    notes: [...referenceNotes(measurements), ...notesOf(subjects)],
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}
