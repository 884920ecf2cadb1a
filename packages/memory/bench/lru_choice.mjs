// Decides whether @cachekit/memory builds on lru-cache or on a hand-written LRU, by measuring the
// three on our job: an L1 holding CacheEntry objects with a TTL, bounded by entries and bytes.
//
//   pnpm --filter @cachekit/memory build && node packages/memory/bench/lru_choice.mjs
//
// Every implementation runs in its own child process (started with --expose-gc), so one does not
// warm or pollute the JIT for another, and memory is measured from a clean heap. The children run
// in interleaved passes and the table shows the median of the passes, so a noisy neighbour on the
// machine slows every contender alike.
import { spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { LRUCache } from 'lru-cache'
import { memoryStore } from '../dist/index.js'
import { LinkedListStore, MapOrderStore } from './hand_written_stores.mjs'

const ENTRIES = 100_000
const OPS = 1 << 18
const ROUNDS = 5
/** Each implementation runs this many times, interleaved with the others; the table shows medians. */
const PASSES = 5
const TTL_MS = 3_600_000
const IMPLEMENTATIONS = [
  'lru-cache (bare)',
  'memoryStore (on lru-cache)',
  'hand-written (Map + linked list)',
  'hand-written (Map order)',
]

/** The contenders behind one small interface: `get` (sync), `getAsync` when it has one, `set`. */
function create(name, maxEntries) {
  const options = { maxEntries, maxBytes: Number.MAX_SAFE_INTEGER }
  switch (name) {
    case 'lru-cache (bare)': {
      // As a user would set it up for this job: bounded by count, a TTL per entry, no autopurge.
      const lru = new LRUCache({ max: maxEntries, ttlAutopurge: false })
      return { get: (key) => lru.get(key), set: (key, value) => lru.set(key, value, { ttl: TTL_MS }) }
    }
    case 'memoryStore (on lru-cache)':
      return storeApi(memoryStore(options))
    case 'hand-written (Map + linked list)':
      return storeApi(new LinkedListStore(options))
    case 'hand-written (Map order)':
      return storeApi(new MapOrderStore(options))
  }
  throw new Error(`unknown implementation ${name}`)
}

function storeApi(store) {
  return {
    get: (key) => store.getSync(key),
    getAsync: (key) => store.get(key),
    set: (key, value) => store.set(key, value, TTL_MS),
  }
}

/** What an L1 holds: a CacheEntry around a small row. One object shared by all keys. */
function sampleEntry() {
  const now = Date.now()
  return {
    value: { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'author'] },
    createdAt: now,
    expiresAt: now + TTL_MS,
    hardExpiresAt: now + TTL_MS,
    tags: [],
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Median ns per operation over ROUNDS rounds of OPS calls, after a warm-up round. */
function time(run) {
  run()
  const samples = []
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint()
    run()
    samples.push(Number(process.hrtime.bigint() - start) / OPS)
  }
  return median(samples)
}

async function measureSpeed(name) {
  const value = sampleEntry()
  const keys = Array.from({ length: ENTRIES }, (_, i) => `shop:user:${i}`)
  const missKeys = Array.from({ length: ENTRIES }, (_, i) => `shop:absent:${i}`)
  const order = Uint32Array.from({ length: OPS }, () => Math.floor(Math.random() * ENTRIES))
  const store = create(name, ENTRIES)
  for (const key of keys) store.set(key, value)
  let sink = 0
  const hit = time(() => {
    for (let i = 0; i < OPS; i++) if (store.get(keys[order[i]]) !== undefined) sink++
  })
  const miss = time(() => {
    for (let i = 0; i < OPS; i++) if (store.get(missKeys[order[i]]) === undefined) sink++
  })
  // Every set adds a new key to a full store, so every set evicts one entry.
  const newKeys = Array.from({ length: OPS }, (_, i) => `shop:new:${i}`)
  let generation = 0
  const evict = time(() => {
    const suffix = `:${generation++}`
    for (let i = 0; i < OPS; i++) store.set(newKeys[i] + suffix, value)
  })
  let hitAsync
  if (store.getAsync) {
    for (const key of keys) store.set(key, value)
    hitAsync = time(() => {
      for (let i = 0; i < OPS; i++) store.getAsync(keys[order[i]])
    })
  }
  await new Promise((resolve) => setImmediate(resolve))
  return { hit, miss, evict, hitAsync, sink }
}

/** Bytes per entry: heap and array buffers (lru-cache keeps its links in typed arrays) after GC. */
function measureMemory(name, maxEntries) {
  const value = sampleEntry()
  const keys = Array.from({ length: ENTRIES }, (_, i) => `shop:user:${i}`)
  const used = () => {
    globalThis.gc()
    globalThis.gc()
    const { heapUsed, arrayBuffers } = process.memoryUsage()
    return heapUsed + arrayBuffers
  }
  const before = used()
  const store = create(name, maxEntries)
  for (const key of keys) store.set(key, value)
  const after = used()
  if (store.get(keys[ENTRIES - 1]) !== value) throw new Error(`${name} lost an entry`)
  return (after - before) / ENTRIES
}

async function child(name) {
  const speed = await measureSpeed(name)
  const memory = measureMemory(name, ENTRIES)
  const memoryLarge = measureMemory(name, 10 * ENTRIES)
  process.stdout.write(JSON.stringify({ name, ...speed, memory, memoryLarge }))
}

function main() {
  const runs = new Map(IMPLEMENTATIONS.map((name) => [name, []]))
  for (let pass = 0; pass < PASSES; pass++) {
    for (const name of IMPLEMENTATIONS) {
      const script = fileURLToPath(import.meta.url)
      const result = spawnSync(process.execPath, ['--expose-gc', script, name], { encoding: 'utf8' })
      if (result.status !== 0) throw new Error(`${name} failed:\n${result.stderr}`)
      runs.get(name).push(JSON.parse(result.stdout))
    }
  }
  const metric = (name, field) => {
    const values = runs.get(name).map((run) => run[field])
    return values.includes(undefined) ? undefined : median(values)
  }
  const ns = (n) => (n === undefined ? '' : n.toFixed(0))
  console.log(
    `node ${process.version}, ${cpus()[0]?.model}, ${ENTRIES} entries, medians of ${PASSES} passes x ${ROUNDS} rounds x ${OPS} ops\n`,
  )
  console.log(
    '| implementation | hit getSync | miss getSync | hit get (promise) | set + evict | bytes/entry, max 100k | bytes/entry, max 1M |',
  )
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  for (const name of IMPLEMENTATIONS) {
    const cells = ['hit', 'miss', 'hitAsync', 'evict'].map((field) => ns(metric(name, field)))
    const memory = ['memory', 'memoryLarge'].map((field) => Math.round(metric(name, field)))
    console.log(`| ${name} | ${cells.join(' | ')} | ${memory.join(' | ')} |`)
  }
  console.log('\nTimes in ns per operation; memory is heap + array buffers after GC, 100k entries held.')
}

const name = process.argv[2]
if (name) await child(name)
else main()
