/**
 * L1 hits: `get` and `getOrSet` of keys every library holds in its in-process tier. The raw
 * reference is a bare lru-cache (the same library cachekit's memoryStore is built on) holding the
 * same objects with the same TTL, called through the same `await` loop; its sync loop is shown too.
 */
import { type Budget, isObject, runOptions, verify } from '../budget.js'
import type { Fixtures } from '../fixtures.js'
import {
  formatOps,
  formatRatio,
  referenceNotes,
  referenceOf,
  type Table,
  throughputTable,
  type WorkloadResult,
} from '../report.js'
import { compare, type Measurement, measureSync, type Subject } from '../timing.js'

const HOT = 1000

const options = {
  concurrency: 1,
  ops: 200_000,
  maxMs: 300,
  samples: 5,
  warmupOps: 100_000,
  latencyOps: 50_000,
}

export const LRU_AWAITED = 'lru-cache get (awaited)'
export const LRU_EXACT_AWAITED = 'lru-cache get, ttlResolution: 0 (awaited)'

function withSyncRow(table: Table, measurements: readonly Measurement[], syncNsPerOp: number): Table {
  const cachekit = measurements[0]!
  const reference = referenceOf(measurements)
  const syncOps = 1e9 / syncNsPerOp
  table.rows.push([
    'lru-cache get (sync loop, no await; information only)',
    'raw',
    formatOps(syncOps),
    '-',
    '-',
    formatRatio(cachekit.opsPerSec / syncOps),
    ...(reference ? [formatRatio(syncOps / reference.opsPerSec)] : []),
  ])
  return table
}

export function l1GetSubjects(f: Fixtures): Subject[] {
  const hot = f.keys.slice(0, HOT)
  const { cachekit, bento, bentoNoSerialize, cacheManager } = f.tiered
  const lru = f.raw.lru
  return [
    { name: 'cachekit', role: 'cachekit', op: (i) => cachekit.get(hot[i % HOT]!) },
    { name: 'bentocache', role: 'peer', op: (i) => bento.get({ key: hot[i % HOT]! }) },
    {
      name: 'bentocache (L1 serialize: false)',
      role: 'peer',
      op: (i) => bentoNoSerialize.get({ key: hot[i % HOT]! }),
      note: 'not its default (its docs warn that callers then share, and can mutate, the cached object); its L1 is filled with set, because bentocache 1.6.1 with serialize: false copies an L2 hit into L1 as a JSON string and then throws TypeError on the next get (CacheEntry.fromDriver)',
    },
    { name: 'cache-manager', role: 'peer', op: (i) => cacheManager.get(hot[i % HOT]!) },
    {
      name: LRU_AWAITED,
      role: 'raw',
      reference: true,
      op: (i) => lru.get(hot[i % HOT]!),
      note: 'the same objects in a bare lru-cache (the library under cachekit’s memoryStore), same TTL, its `get` awaited in the same loop as every async cache',
    },
    {
      name: LRU_EXACT_AWAITED,
      role: 'raw',
      op: (i) => f.raw.lruExact.get(hot[i % HOT]!),
      note: 'the same bare lru-cache with `ttlResolution: 0`, as cachekit’s memoryStore is set up: each get checks the TTL against the clock (~40 ns per read here), where the default (1 ms) reuses a clock read for up to a millisecond, or for as long as the event loop is busy, and may serve an entry that long past its TTL',
    },
  ]
}

export async function l1Get(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const hot = f.keys.slice(0, HOT)
  const lru = f.raw.lru
  const subjects = l1GetSubjects(f)
  await verify(subjects, isObject)
  const measurements = await compare(subjects, runOptions(budget, options))
  const syncNs = measureSync((i) => lru.get(hot[i % HOT]!), 2_000_000, budget.quick ? 2 : 5, 200)
  return {
    id: 'l1-get',
    title: 'L1 hit: get',
    setup:
      'Tiered caches (L1 10,000 entries + Redis), 1,000 hot keys of a ~1 KB object, all in L1; one caller, `await cache.get(key)` in a loop.',
    table: withSyncRow(throughputTable(measurements), measurements, syncNs),
    notes: [...referenceNotes(measurements), ...notesOf(subjects)],
    data: { measurements, lruSyncNsPerOp: syncNs },
    seconds: (performance.now() - started) / 1000,
  }
}

export function l1GetOrSetSubjects(f: Fixtures): Subject[] {
  const hot = f.keys.slice(0, HOT)
  const { cachekit, bento, bentoNoSerialize, cacheManager } = f.tiered
  const lru = f.raw.lru
  const values = f.values
  // One factory per library, never called on a hit; allocated once so no closure is timed.
  const factory = () => values[0]
  const lruGetOrSet = (key: string) => {
    const found = lru.get(key)
    if (found !== undefined) return found
    const value = values[0]!
    lru.set(key, value)
    return value
  }
  return [
    { name: 'cachekit', role: 'cachekit', op: (i) => cachekit.getOrSet(hot[i % HOT]!, factory) },
    { name: 'bentocache', role: 'peer', op: (i) => bento.getOrSet({ key: hot[i % HOT]!, factory }) },
    {
      name: 'bentocache (L1 serialize: false)',
      role: 'peer',
      op: (i) => bentoNoSerialize.getOrSet({ key: hot[i % HOT]!, factory }),
    },
    { name: 'cache-manager (wrap)', role: 'peer', op: (i) => cacheManager.wrap(hot[i % HOT]!, factory) },
    {
      name: 'lru-cache get ?? set (awaited)',
      role: 'raw',
      reference: true,
      op: (i) => lruGetOrSet(hot[i % HOT]!),
    },
  ]
}

export async function l1GetOrSet(f: Fixtures, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const subjects = l1GetOrSetSubjects(f)
  await verify(subjects, isObject)
  const measurements = await compare(subjects, runOptions(budget, options))
  return {
    id: 'l1-get-or-set',
    title: 'L1 hit: getOrSet',
    setup:
      'Same caches and keys as the L1 get; `getOrSet(key, factory)` (cache-manager: `wrap`), the factory never runs.',
    table: throughputTable(measurements),
    notes: referenceNotes(measurements),
    data: { measurements },
    seconds: (performance.now() - started) / 1000,
  }
}

export function notesOf(subjects: readonly Subject[]): string[] {
  return subjects.filter((s) => s.note).map((s) => `${s.name}: ${s.note}`)
}
