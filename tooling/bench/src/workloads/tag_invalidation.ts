/**
 * Tag invalidation over 1,000,000 keys. The issue's acceptance: "invalidating a tag that covers
 * 1,000,000 keys returns in under 5 ms and every read after it misses".
 *
 * Each library gets a Redis of its own (started here, stopped after), and there:
 * - writes the keys, each tagged `big` (every key) and `g:<i / 1000>` (1,000 keys per tag);
 * - times `invalidateTags(['big'])` (bentocache: `deleteByTag`) from the instance that read samples
 *   into its L1, then from a fresh instance that never read;
 * - reads samples after it, from that warm instance and from a fresh one, counting hits (must be 0),
 *   with the latency of the same reads before it;
 * - checks, for information, what an instance that read the tag's time just before sees without a bus;
 * - for cachekit, times the background sweep that deletes the invalidated keys from Redis.
 * cache-manager has no tags.
 */
import { PerformanceObserver } from 'node:perf_hooks'
import { startStandalone } from '@cachekit/redis-harness'
import type { Redis } from 'ioredis'
import { type Budget, scaled } from '../budget.js'
import { seededRandom, sleep } from '../data.js'
import { bentocache, cachekit, rawRedis } from '../libraries.js'
import { formatRatio, formatUs, type WorkloadResult } from '../report.js'
import { median, percentile } from '../timing.js'

const TAG = 'big'
/** Keys per group tag `g:<n>`. */
const GROUP = 1000
const CK_LOAD_BATCH = 1000
const CK_LOAD_IN_FLIGHT = 8
const BENTO_LOAD_CALLERS = 64
const GET_MANY_CHUNK = 100
/** cachekit's default `tagCleanup`, which the sweep runs with. */
const SWEEP_BATCH = 500
const SWEEP_PAUSE_MS = 10
/** Without a bus, cachekit reads a tag's time again at most this often (core's TAG_TRUST_WITHOUT_BUS_MS). */
const TRUST_WITHOUT_BUS_MS = 1000

/** The workload's time bound; main.ts skips it when it would end past the run's limit. */
export function tagInvalidationMaxMs(budget: Budget): number {
  return scaled(budget, 90_000, 32_000)
}

interface Plan {
  keys: number
  /** Keys per read pass (get), and again per getMany pass. */
  sample: number
  /** Keys per pass of the stale-window check. */
  infoSample: number
  /** Timed invalidations per instance, the first included. */
  calls: number
  /** Every loop also stops here (performance.now() ms), so the workload ends within its budget. */
  endsAt: number
  loadMaxMs: number
  passMaxMs: number
  sweepMaxMs: number
  /** Left for the reads once a library's load is done. */
  readsReserveMs: number
  /** Left for bentocache once cachekit's sweep is done. */
  peerReserveMs: number
}

/** When a read pass or a series of timed calls stops. */
const passEnd = (plan: Plan) => Math.min(performance.now() + plan.passMaxMs, plan.endsAt)

export interface ReadPass {
  /** Keys read. */
  reads: number
  /** Cache calls made (`getMany` reads 100 keys per call). */
  calls: number
  hits: number
  /** Latency of the first call, µs. */
  firstUs: number
  p50Us: number
  p99Us: number
  timedOut: boolean
  /** Commands Redis ran during the pass (from INFO commandstats, background ones included). */
  redisCommands?: Record<string, number>
}

export interface InvalidationTimes {
  calls: number
  /** Every call in order, ms; the first is the first call of that instance. */
  ms: number[]
  firstMs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Each call's start and end, performance.now() ms. */
  spans: Array<[start: number, end: number]>
  /** GC pauses of this process during each call, ms: a slow call with a pause was not Redis' doing. */
  gcMs: number[]
}

export interface SweepResult {
  batchSize: number
  pauseMs: number
  /** That instance's `invalidateTags` call, with the sweep on, ms. */
  invalidateMs: number
  keysBefore: number
  removed: number
  seconds: number
  /** The sweep finished (`tags:cleanup` fired) before the time bound. */
  complete: boolean
  /** `tags:cleanup` payload when complete. */
  reported?: { removed: number; scanned: number }
  keysPerSec: number
  /** Seconds to sweep `keys` at that rate (reads before the sweep already removed some keys). */
  secondsForAllKeys: number
  redisCpuSeconds: number
  redisBytesFreed: number
}

export interface TagRow {
  library: string
  keys: number
  loadSeconds: number
  loadTimedOut: boolean
  redisBytesPerKey: number
  invalidator: InvalidationTimes
  /** Redis commands of the very first invalidation on this server. */
  firstCallCommands: Record<string, number>
  secondInstance: InvalidationTimes
  /** The invalidating instance, whose L1 holds the sampled keys. */
  warm: { get: { before: ReadPass; after: ReadPass }; getMany: { before: ReadPass; after: ReadPass } }
  /** Fresh instances: one reads before the invalidation, another after it. */
  cold: { get: { before: ReadPass; after: ReadPass }; getMany: { before: ReadPass; after: ReadPass } }
  /** Sampled keys still in Redis right before the after-reads: the misses are the tag's doing. */
  presentBeforeReads: { checked: number; present: number }
  /** An instance that read the tag's time just before the invalidation, no bus. */
  staleWindow: { immediately: ReadPass; laterMs: number; later: ReadPass }
  sweep?: SweepResult
}

export interface TagInvalidationData {
  rows: TagRow[]
  plan: Plan
  /** What went wrong: a hit after the invalidation, a miss before it. Empty when all is well. */
  failures: string[]
}

interface TagCache {
  get(key: string): Promise<unknown>
  getMany(keys: readonly string[]): Promise<unknown[]>
  invalidate(tag: string): Promise<unknown>
  close(): Promise<unknown>
}

interface TagLibrary {
  name: string
  /** A new instance; `l1Entries` 0 for Redis only. */
  open(url: string, l1Entries: number): TagCache
  /** Writes keys [0, count) until done or past the deadline; resolves with how many were written. */
  load(url: string, count: number, deadline: number): Promise<number>
  redisKey(key: string): string
}

const keyOf = (i: number) => `item:${i}`
const tagsOf = (i: number) => [TAG, `g:${Math.floor(i / GROUP)}`]

const CACHEKIT: TagLibrary = {
  name: 'cachekit',
  open(url, l1Entries) {
    const cache = cachekit(url, { prefix: 'ck', l1Entries, tags: { cleanup: false } })
    return {
      get: (key) => cache.get(key),
      getMany: (keys) => cache.getMany(keys),
      invalidate: (tag) => cache.invalidateTags([tag]),
      close: () => cache.close(),
    }
  },
  async load(url, count, deadline) {
    const cache = cachekit(url, { prefix: 'ck', l1Entries: 0, tags: { cleanup: false } })
    let next = 0
    let written = 0
    const worker = async () => {
      while (next < count && performance.now() < deadline) {
        const start = next
        const end = Math.min(count, start + CK_LOAD_BATCH)
        next = end
        const items = []
        for (let i = start; i < end; i++) items.push({ key: keyOf(i), value: { id: i }, tags: tagsOf(i) })
        await cache.setMany(items)
        written += end - start
      }
    }
    try {
      await Promise.all(Array.from({ length: CK_LOAD_IN_FLIGHT }, worker))
    } finally {
      await cache.close()
    }
    return written
  },
  redisKey: (key) => `ck::${key}`,
}

const BENTOCACHE: TagLibrary = {
  name: 'bentocache',
  open(url, l1Entries) {
    const cache = bentocache(url, { prefix: 'bento', l1Entries })
    return {
      get: (key) => cache.get({ key }),
      // bentocache 1.6 has no getMany.
      getMany: (keys) => Promise.all(keys.map((key) => cache.get({ key }))),
      invalidate: (tag) => cache.deleteByTag({ tags: [tag] }),
      close: () => cache.disconnect(),
    }
  },
  async load(url, count, deadline) {
    const cache = bentocache(url, { prefix: 'bento', l1Entries: 0 })
    let next = 0
    let written = 0
    const worker = async () => {
      while (next < count && performance.now() < deadline) {
        const i = next++
        await cache.set({ key: keyOf(i), value: { id: i }, tags: tagsOf(i) })
        written++
      }
    }
    try {
      await Promise.all(Array.from({ length: BENTO_LOAD_CALLERS }, worker))
    } finally {
      await cache.disconnect()
    }
    return written
  },
  redisKey: (key) => `bento:${key}`,
}

const isHit = (value: unknown) => value !== undefined && value !== null

/** `get` of each key in turn, one caller; hits counted, every call timed. */
async function getPass(cache: TagCache, keys: readonly string[], deadline: number): Promise<ReadPass> {
  const timings = new Float64Array(keys.length)
  let hits = 0
  let reads = 0
  let timedOut = false
  for (const key of keys) {
    if (performance.now() > deadline) {
      timedOut = true
      break
    }
    const t0 = process.hrtime.bigint()
    const value = await cache.get(key)
    timings[reads++] = Number(process.hrtime.bigint() - t0) / 1000
    if (isHit(value)) hits++
  }
  return summary(timings.subarray(0, reads), reads, hits, timedOut)
}

/** `getMany` of the keys in chunks, one caller; hits counted per key, every call timed. */
async function getManyPass(cache: TagCache, keys: readonly string[], deadline: number): Promise<ReadPass> {
  const timings = new Float64Array(Math.ceil(keys.length / GET_MANY_CHUNK))
  let hits = 0
  let reads = 0
  let calls = 0
  let timedOut = false
  for (let i = 0; i < keys.length; i += GET_MANY_CHUNK) {
    if (performance.now() > deadline) {
      timedOut = true
      break
    }
    const chunk = keys.slice(i, i + GET_MANY_CHUNK)
    const t0 = process.hrtime.bigint()
    const values = await cache.getMany(chunk)
    timings[calls++] = Number(process.hrtime.bigint() - t0) / 1000
    reads += chunk.length
    for (const value of values) if (isHit(value)) hits++
  }
  return summary(timings.subarray(0, calls), reads, hits, timedOut)
}

function summary(timings: Float64Array, reads: number, hits: number, timedOut: boolean): ReadPass {
  const firstUs = timings[0] ?? Number.NaN
  const sorted = timings.slice().sort()
  return {
    reads,
    calls: timings.length,
    hits,
    firstUs,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    timedOut,
  }
}

async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1]!, Number(match[2]))
  }
  return calls
}

/** Runs a pass and records the Redis commands it caused, waiting a moment for background ones. */
async function withCommands(admin: Redis, run: () => Promise<ReadPass>): Promise<ReadPass> {
  const before = await commandCalls(admin)
  const pass = await run()
  await sleep(50)
  return { ...pass, redisCommands: commandsSince(before, await commandCalls(admin)) }
}

function commandsSince(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const commands: Record<string, number> = {}
  for (const [name, calls] of after) {
    const made = calls - (before.get(name) ?? 0) - (name === 'info' ? 1 : 0)
    if (made > 0) commands[name] = made
  }
  return commands
}

/** `calls` timed invalidations in a row; the first always runs, the others until the deadline. */
async function timeInvalidations(
  cache: TagCache,
  calls: number,
  deadline: number,
): Promise<InvalidationTimes> {
  const spans: Array<[number, number]> = []
  for (let i = 0; i < calls && (i === 0 || performance.now() < deadline); i++) {
    const t0 = performance.now()
    await cache.invalidate(TAG)
    spans.push([t0, performance.now()])
  }
  return timesOf(spans)
}

function timesOf(spans: Array<[number, number]>): InvalidationTimes {
  const ms = spans.map(([start, end]) => end - start)
  const sorted = [...ms].sort((a, b) => a - b)
  return {
    calls: ms.length,
    ms,
    firstMs: ms[0]!,
    p50Ms: median(ms),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1]!,
    spans,
    gcMs: [],
  }
}

/** GC pauses of this process, as the `gc` performance entries report them (after the fact). */
function watchGc(): { pauses: Array<[number, number]>; stop: () => Promise<void> } {
  const pauses: Array<[number, number]> = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration])
  })
  observer.observe({ entryTypes: ['gc'] })
  return {
    pauses,
    async stop() {
      await sleep(20) // entries are delivered asynchronously
      observer.disconnect()
    },
  }
}

function attributeGc(times: InvalidationTimes, pauses: ReadonlyArray<[number, number]>): void {
  times.gcMs = times.spans.map(([start, end]) =>
    pauses.reduce((sum, [from, to]) => sum + Math.max(0, Math.min(end, to) - Math.max(start, from)), 0),
  )
}

/** Distinct random key indexes below `count`, in `sizes` disjoint slices (partial Fisher-Yates). */
function disjointSamples(count: number, sizes: readonly number[], seed: number): string[][] {
  const total = sizes.reduce((a, b) => a + b, 0)
  if (total > count) throw new Error(`[bench] ${total} sampled keys asked of ${count}`)
  const random = seededRandom(seed)
  const order = new Int32Array(count)
  for (let i = 0; i < count; i++) order[i] = i
  for (let i = 0; i < total; i++) {
    const j = i + Math.floor(random() * (count - i))
    const swap = order[i]!
    order[i] = order[j]!
    order[j] = swap
  }
  const out: string[][] = []
  let at = 0
  for (const size of sizes) {
    out.push(Array.from(order.subarray(at, at + size), keyOf))
    at += size
  }
  return out
}

async function info(admin: Redis, section: string, field: string): Promise<number> {
  const text = await admin.info(section)
  return Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(text)?.[1] ?? Number.NaN)
}

async function redisCpuSeconds(admin: Redis): Promise<number> {
  return (await info(admin, 'cpu', 'used_cpu_sys')) + (await info(admin, 'cpu', 'used_cpu_user'))
}

async function countPresent(admin: Redis, library: TagLibrary, keys: readonly string[]): Promise<number> {
  let present = 0
  for (let i = 0; i < keys.length; i += 1000) {
    present += await admin.exists(...keys.slice(i, i + 1000).map((key) => library.redisKey(key)))
  }
  return present
}

async function runLibrary(library: TagLibrary, plan: Plan, failures: string[]): Promise<TagRow> {
  const server = await startStandalone()
  const admin = rawRedis(server.url)
  const url = server.url
  const warmL1 = 2 * plan.sample + 5 * GROUP
  // Opened before the load, so no timed call includes connecting.
  const invalidator = library.open(url, warmL1)
  const second = library.open(url, warmL1)
  const coldBefore = library.open(url, warmL1)
  const coldAfter = library.open(url, warmL1)
  const bystander = library.open(url, warmL1)
  const opened = [invalidator, second, coldBefore, coldAfter, bystander]
  try {
    const memoryBefore = await info(admin, 'memory', 'used_memory')
    const l0 = performance.now()
    const keys = await library.load(
      url,
      plan.keys,
      Math.min(l0 + plan.loadMaxMs, plan.endsAt - plan.readsReserveMs),
    )
    const loadSeconds = (performance.now() - l0) / 1000
    const memoryAfter = await info(admin, 'memory', 'used_memory')
    // Smaller samples only if the load stopped early with too few keys for them.
    const w = Math.min(plan.infoSample, Math.floor(keys / 20))
    const s = Math.min(plan.sample, Math.floor((keys - 2 * w) / 6))
    const [warmGet, warmMany, coldGetBefore, coldManyBefore, coldGetAfter, coldManyAfter, infoA, infoB] =
      disjointSamples(keys, [s, s, s, s, s, s, w, w], 1_000_003)

    // Before: the warm instance reads its samples twice (the second pass is L1 hits), a fresh one
    // reads other samples from Redis.
    await getPass(invalidator, warmGet!, passEnd(plan))
    await getManyPass(invalidator, warmMany!, passEnd(plan))
    const counted = (run: () => Promise<ReadPass>) => withCommands(admin, run)
    const warmGetBefore = await counted(() => getPass(invalidator, warmGet!, passEnd(plan)))
    const warmManyBefore = await counted(() => getManyPass(invalidator, warmMany!, passEnd(plan)))
    const coldGet = await counted(() => getPass(coldBefore, coldGetBefore!, passEnd(plan)))
    const coldMany = await counted(() => getManyPass(coldBefore, coldManyBefore!, passEnd(plan)))
    for (const [name, pass] of [
      ['warm get', warmGetBefore],
      ['warm getMany', warmManyBefore],
      ['cold get', coldGet],
      ['cold getMany', coldMany],
    ] as const) {
      if (pass.hits !== pass.reads) {
        failures.push(
          `${library.name}: ${pass.reads - pass.hits} of ${pass.reads} ${name} reads missed BEFORE the invalidation (setup broken)`,
        )
      }
    }

    // The bystander reads one key, so it knows the tag's time just before it moves.
    await bystander.get(infoA![0]!)
    const commandsBefore = await commandCalls(admin)
    const invalidatorTimes = await timeInvalidations(invalidator, 1, passEnd(plan))
    const firstCallCommands = commandsSince(commandsBefore, await commandCalls(admin))
    const invalidatedAt = performance.now()
    const immediately = await getPass(bystander, infoA!.slice(1), passEnd(plan))
    const more = await timeInvalidations(invalidator, plan.calls - 1, passEnd(plan))
    const invalidatorAll = mergeTimes(invalidatorTimes, more)
    const secondTimes = await timeInvalidations(second, plan.calls, passEnd(plan))
    const laterMs = TRUST_WITHOUT_BUS_MS + 100
    await sleep(Math.max(0, invalidatedAt + laterMs - performance.now()))
    const later = await getPass(bystander, infoB!, passEnd(plan))

    const afterKeys = [...warmGet!, ...warmMany!, ...coldGetAfter!, ...coldManyAfter!]
    const present = await countPresent(admin, library, afterKeys)
    const warmGetAfter = await counted(() => getPass(invalidator, warmGet!, passEnd(plan)))
    const warmManyAfter = await counted(() => getManyPass(invalidator, warmMany!, passEnd(plan)))
    const coldGetAfterPass = await counted(() => getPass(coldAfter, coldGetAfter!, passEnd(plan)))
    const coldManyAfterPass = await counted(() => getManyPass(coldAfter, coldManyAfter!, passEnd(plan)))
    for (const [name, pass] of [
      ['warm-L1 get', warmGetAfter],
      ['warm-L1 getMany', warmManyAfter],
      ['cold-L1 get', coldGetAfterPass],
      ['cold-L1 getMany', coldManyAfterPass],
    ] as const) {
      if (pass.hits > 0) {
        failures.push(
          `${library.name}: ${pass.hits} of ${pass.reads} ${name} reads HIT after the invalidation`,
        )
      }
    }

    const row: TagRow = {
      library: library.name,
      keys,
      loadSeconds,
      loadTimedOut: keys < plan.keys,
      redisBytesPerKey: (memoryAfter - memoryBefore) / keys,
      invalidator: invalidatorAll,
      firstCallCommands,
      secondInstance: secondTimes,
      warm: {
        get: { before: warmGetBefore, after: warmGetAfter },
        getMany: { before: warmManyBefore, after: warmManyAfter },
      },
      cold: {
        get: { before: coldGet, after: coldGetAfterPass },
        getMany: { before: coldMany, after: coldManyAfterPass },
      },
      presentBeforeReads: { checked: afterKeys.length, present },
      staleWindow: { immediately, laterMs, later },
    }
    await Promise.all(opened.map((cache) => cache.close()))
    opened.length = 0
    if (library === CACHEKIT)
      row.sweep = await measureSweep(
        url,
        admin,
        keys,
        Math.min(performance.now() + plan.sweepMaxMs, plan.endsAt - plan.peerReserveMs),
      )
    return row
  } finally {
    await Promise.all(opened.map((cache) => cache.close()))
    admin.disconnect()
    await server.stop()
  }
}

function mergeTimes(first: InvalidationTimes, rest: InvalidationTimes): InvalidationTimes {
  return timesOf([...first.spans, ...rest.spans])
}

/**
 * A fresh cachekit instance with the default `tagCleanup` invalidates the tag again and sweeps Redis
 * in the background; DBSIZE is polled until the sweep reports `tags:cleanup` or the time bound, where
 * the instance is closed (which stops the sweep) and the rate is extrapolated.
 */
async function measureSweep(url: string, admin: Redis, keys: number, deadline: number): Promise<SweepResult> {
  const cache = cachekit(url, { prefix: 'ck', tags: {} })
  let reported: { removed: number; scanned: number } | undefined
  cache.on('tags:cleanup', (event) => {
    reported = { removed: event.removed, scanned: event.scanned }
  })
  try {
    await cache.ready()
    const keysBefore = await admin.dbsize()
    const memoryBefore = await info(admin, 'memory', 'used_memory')
    const cpuBefore = await redisCpuSeconds(admin)
    const t0 = performance.now()
    await cache.invalidateTags([TAG])
    const invalidateMs = performance.now() - t0
    while (!reported && performance.now() < deadline) await sleep(50)
    const seconds = (performance.now() - t0) / 1000
    const complete = reported !== undefined
    await cache.close()
    const removed = keysBefore - (await admin.dbsize())
    const keysPerSec = removed / seconds
    const result: SweepResult = {
      batchSize: SWEEP_BATCH,
      pauseMs: SWEEP_PAUSE_MS,
      invalidateMs,
      keysBefore,
      removed,
      seconds,
      complete,
      keysPerSec,
      secondsForAllKeys: keys / keysPerSec,
      redisCpuSeconds: (await redisCpuSeconds(admin)) - cpuBefore,
      redisBytesFreed: memoryBefore - (await info(admin, 'memory', 'used_memory')),
    }
    if (reported) result.reported = reported
    return result
  } finally {
    await cache.close()
  }
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} ms` : '-')
const count = (value: number) => value.toLocaleString('en-US')

function beforeAfter(pair: { before: ReadPass; after: ReadPass }): string {
  return `${formatUs(pair.before.p50Us)} → ${formatUs(pair.after.p50Us)} (${formatRatio(pair.after.p50Us / pair.before.p50Us)})`
}

/** `(GET 1, UNLINK 1)`: the commands of a pass per cache call, to two significant digits. */
function commandsPerCall(pass: ReadPass): string {
  if (pass.calls === 0) return '-'
  const commands = Object.entries(pass.redisCommands ?? {}).sort((a, b) => b[1] - a[1])
  if (commands.length === 0) return '(none)'
  const perCall = (calls: number) => String(Number((calls / pass.calls).toPrecision(2)))
  return `(${commands.map(([name, calls]) => `${name.toUpperCase()} ${perCall(calls)}`).join(', ')})`
}

function commandList(commands: Record<string, number>): string {
  const list = Object.entries(commands).map(([name, calls]) => `${name.toUpperCase()} ${calls}`)
  return `(${list.length === 0 ? 'none' : list.join(', ')})`
}

function slowest(row: TagRow, instance: 'invalidator' | 'secondInstance'): string {
  const times = row[instance]
  const index = times.ms.indexOf(times.maxMs)
  const which = instance === 'invalidator' ? 'invalidating instance' : 'fresh instance'
  const place = index === 0 ? 'its first call' : `call ${index + 1} of ${times.calls}`
  return `${row.library} ${which} ${ms(times.maxMs)} (${place}, GC ${ms(times.gcMs[index] ?? 0)})`
}

function hitsAfter(...passes: ReadPass[]): string {
  const hits = passes.reduce((sum, pass) => sum + pass.hits, 0)
  const reads = passes.reduce((sum, pass) => sum + pass.reads, 0)
  const bounded = passes.some((pass) => pass.timedOut) ? ' (a pass stopped at its time bound)' : ''
  return `${hits > 0 ? 'FAIL: ' : ''}${count(hits)} of ${count(reads)}${bounded}`
}

export async function tagInvalidation(budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const plan: Plan = {
    keys: scaled(budget, 1_000_000, 100_000),
    sample: scaled(budget, 10_000, 2_000),
    infoSample: scaled(budget, 1_000, 300),
    calls: scaled(budget, 21, 11),
    endsAt: started + tagInvalidationMaxMs(budget) - 2_000,
    loadMaxMs: scaled(budget, 40_000, 15_000),
    passMaxMs: scaled(budget, 5_000, 2_000),
    sweepMaxMs: scaled(budget, 15_000, 8_000),
    readsReserveMs: scaled(budget, 12_000, 6_000),
    peerReserveMs: scaled(budget, 45_000, 15_000),
  }
  const failures: string[] = []
  const rows: TagRow[] = []
  const gc = watchGc()
  try {
    for (const library of [CACHEKIT, BENTOCACHE]) rows.push(await runLibrary(library, plan, failures))
  } finally {
    await gc.stop()
  }
  for (const row of rows) {
    attributeGc(row.invalidator, gc.pauses)
    attributeGc(row.secondInstance, gc.pauses)
  }
  const [ck, bento] = rows as [TagRow, TagRow]
  for (const failure of failures) process.stderr.write(`[bench] FAIL tag-invalidation: ${failure}\n`)

  const tableRow = (row: TagRow, instance: 'invalidator' | 'secondInstance', reference: TagRow): string[] => {
    const times = row[instance]
    const reads = instance === 'invalidator' ? row.warm : row.cold
    return [
      row === ck ? 'cachekit' : 'bentocache (deleteByTag)',
      instance === 'invalidator'
        ? 'the invalidating instance; its L1 holds the read keys'
        : 'fresh instances: one invalidates, another reads',
      `${count(row.keys)}${row.loadTimedOut ? ' (load stopped at its time bound)' : ''}`,
      ms(times.firstMs),
      ms(times.p50Ms),
      ms(times.p99Ms),
      ms(times.maxMs),
      formatRatio(times.p50Ms / reference[instance].p50Ms),
      hitsAfter(reads.get.after, reads.getMany.after),
      beforeAfter(reads.get),
      beforeAfter(reads.getMany),
    ]
  }
  const sweep = ck.sweep!
  const perSec = (keys: number, seconds: number) => count(Math.round(keys / seconds))
  const window = (row: TagRow) =>
    `${count(row.staleWindow.immediately.hits)} of ${count(row.staleWindow.immediately.reads)} hit right after it, ${count(row.staleWindow.later.hits)} of ${count(row.staleWindow.later.reads)} when read ${count(row.staleWindow.laterMs)} ms after it`
  const sweepDone = sweep.complete
    ? `swept all ${count(sweep.keysBefore)} keys left in Redis (removed ${count(sweep.removed)}) in ${sweep.seconds.toFixed(1)} s`
    : `removed ${count(sweep.removed)} of the ${count(sweep.keysBefore)} keys left in Redis in ${sweep.seconds.toFixed(1)} s, then stopped at its time bound; ${count(ck.keys)} keys at that rate: ~${sweep.secondsForAllKeys.toFixed(0)} s (extrapolated)`
  const notes = [
    ...failures.map((failure) => `**FAIL**: ${failure}`),
    `Load: cachekit \`setMany\` of ${count(CK_LOAD_BATCH)} keys, ${CK_LOAD_IN_FLIGHT} calls in flight, from a Redis-only instance: ${count(ck.keys)} keys in ${ck.loadSeconds.toFixed(1)} s (${perSec(ck.keys, ck.loadSeconds)} keys/s), ${Math.round(ck.redisBytesPerKey)} B of Redis memory per key. bentocache (no setMany in 1.6): \`set\` by ${BENTO_LOAD_CALLERS} concurrent callers from a Redis-only instance: ${count(bento.keys)} keys in ${bento.loadSeconds.toFixed(1)} s (${perSec(bento.keys, bento.loadSeconds)} keys/s), ${Math.round(bento.redisBytesPerKey)} B per key.`,
    `Reads before → after: on the warm instance an L1 hit becomes a Redis read (the L1 copy is invalid, so the key is read from Redis, where it is invalid too). On fresh instances the first read after the invalidation also reads the tag's time from Redis: cachekit ${formatUs(ck.cold.get.after.firstUs)}, bentocache ${formatUs(bento.cold.get.after.firstUs)}. Before it, a fresh instance also reads the time of each key's group tag (one of ${count(Math.ceil(ck.keys / GROUP))}) once per tag, and again each second without a bus; after it, \`${TAG}\` alone decides, and each invalidated key read is also deleted (next note).`,
    `Sampled keys still in Redis right before the reads after the invalidation: cachekit ${count(ck.presentBeforeReads.present)} of ${count(ck.presentBeforeReads.checked)}, bentocache ${count(bento.presentBeforeReads.present)} of ${count(bento.presentBeforeReads.checked)}: the misses come from the tag check, not from missing keys. A read that finds an invalidated key also cleans it up: cachekit UNLINKs it in the background, bentocache rewrites it in Redis as logically expired.`,
    `Redis commands per call (INFO commandstats, background ones included), fresh instance before → after the invalidation: cachekit get ${commandsPerCall(ck.cold.get.before)} → ${commandsPerCall(ck.cold.get.after)}, getMany(100) ${commandsPerCall(ck.cold.getMany.before)} → ${commandsPerCall(ck.cold.getMany.after)}; bentocache get ${commandsPerCall(bento.cold.get.before)} → ${commandsPerCall(bento.cold.get.after)}, getMany(100) ${commandsPerCall(bento.cold.getMany.before)} → ${commandsPerCall(bento.cold.getMany.after)}. Warm instance after: cachekit get ${commandsPerCall(ck.warm.get.after)}, getMany(100) ${commandsPerCall(ck.warm.getMany.after)}; bentocache get ${commandsPerCall(bento.warm.get.after)}, getMany(100) ${commandsPerCall(bento.warm.getMany.after)}.`,
    `cachekit background sweep (default \`tagCleanup\`: batches of ${sweep.batchSize}, ${sweep.pauseMs} ms pauses), run by a fresh instance that invalidated \`${TAG}\` again (that call: ${ms(sweep.invalidateMs)}): ${sweepDone}; ${perSec(sweep.removed, sweep.seconds)} keys/s, Redis CPU ${sweep.redisCpuSeconds.toFixed(2)} s, ${(sweep.redisBytesFreed / 1024 ** 2).toFixed(0)} MiB freed. bentocache has no sweep: invalidated entries stay in Redis until read or expired.`,
    `Without a bus (information, not a failure; both libraries document it): an instance that had read the tag's time just before the invalidation, then reads other keys from Redis: cachekit ${window(ck)} (it reads a tag's time again at most every ${TRUST_WITHOUT_BUS_MS} ms); bentocache ${window(bento)} (it keeps a tag's time in its L1 for 10 days). With a bus both apply an invalidation on message; not measured here.`,
    `Slowest call of each row, and this process's GC pauses during it: ${[ck, bento]
      .flatMap((row) => [slowest(row, 'invalidator'), slowest(row, 'secondInstance')])
      .join('; ')}. The very first call on each server ran ${[ck, bento]
      .map((row) => `${row.library} ${commandList(row.firstCallCommands)}`)
      .join(', ')} in Redis (cachekit's script is not in Redis' script cache yet: NOSCRIPT, then EVAL).`,
    'cache-manager 7 has no tags.',
  ]
  return {
    id: 'tag-invalidation',
    title: `Tag invalidation over ${count(plan.keys)} keys${failures.length > 0 ? ' — FAIL' : ''}`,
    setup: `Each library on a Redis of its own: ${count(plan.keys)} keys of \`{ id: i }\`, each tagged \`${TAG}\` and \`g:<i / ${GROUP}>\`, TTL 10 min; then \`invalidateTags(['${TAG}'])\` (bentocache: \`deleteByTag({ tags: ['${TAG}'] })\`), timed ${plan.calls} times from the instance that read samples into its L1 (${count(2 * plan.sample + 5 * GROUP)} entries) and ${plan.calls} times from a fresh instance that never read (p50, p99 and max over all of them, the first included; later calls move the same tag again, at the same cost since neither library touches the keys). Reads: ${count(plan.sample)} random keys by \`get\` and ${count(plan.sample)} others by \`getMany\` of ${GET_MANY_CHUNK} (bentocache: ${GET_MANY_CHUNK} concurrent \`get\`), one caller, before and after the invalidation, on the warm instance (the same keys) and on fresh instances (one before, another after, different keys); every read after must miss. cachekit: \`redisTagIndex\` on the store's client, \`tagCleanup: false\` on the timed instances (the sweep is measured alone); no bus for either library.`,
    table: {
      columns: [
        'library',
        'instances',
        'keys tagged',
        'invalidate: first call',
        'p50',
        'p99',
        'max',
        'p50 ÷ cachekit',
        'hits after (get + getMany)',
        'get p50 before → after',
        'getMany(100) p50 before → after',
      ],
      rows: [
        tableRow(ck, 'invalidator', ck),
        tableRow(ck, 'secondInstance', ck),
        tableRow(bento, 'invalidator', ck),
        tableRow(bento, 'secondInstance', ck),
        ['cache-manager', 'no tags', '-', '-', '-', '-', '-', '-', '-', '-', '-'],
      ],
    },
    notes,
    data: { rows, plan, failures } satisfies TagInvalidationData,
    seconds: (performance.now() - started) / 1000,
  }
}
