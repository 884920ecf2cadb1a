/**
 * A skewed read/write load, as a web app sees it: keys drawn from a Zipf distribution, 90% reads
 * through `getOrSet` with a 5 ms loader, 10% writes. Every library replays the same operation
 * sequence from a cold start; the loader counts its calls.
 */
import { type Budget, scaled } from '../budget.js'
import { objectOf1Kb, seededRandom, sleep, zipfSampler } from '../data.js'
import { bentocache, cachekit, cacheManager } from '../libraries.js'
import { formatOps, formatUs, type WorkloadResult } from '../report.js'
import { percentile } from '../timing.js'

const KEYS = 10_000
const EXPONENT = 1
const WRITE_SHARE = 0.1
const LOADER_MS = 5
const CONCURRENCY = 64
const L1_ENTRIES = 1000
const MAX_MS = 20_000

interface ZipfCache {
  getOrSet(key: string, loader: () => Promise<unknown>): Promise<unknown>
  set(key: string, value: unknown): Promise<unknown>
  close(): Promise<void>
}

const LIBRARIES: Record<string, (url: string, prefix: string) => ZipfCache> = {
  cachekit: (url, prefix) => {
    const cache = cachekit(url, { prefix, l1Entries: L1_ENTRIES })
    return {
      getOrSet: (key, loader) => cache.getOrSet(key, loader),
      set: (key, value) => cache.set(key, value),
      close: () => cache.close(),
    }
  },
  bentocache: (url, prefix) => {
    const cache = bentocache(url, { prefix, l1Entries: L1_ENTRIES })
    return {
      getOrSet: (key, factory) => cache.getOrSet({ key, factory }),
      set: (key, value) => cache.set({ key, value }),
      close: () => cache.disconnect(),
    }
  },
  'cache-manager': (url, prefix) => {
    const cache = cacheManager(url, { namespace: prefix, l1Entries: L1_ENTRIES })
    return {
      getOrSet: (key, loader) => cache.wrap(key, loader),
      set: (key, value) => cache.set(key, value),
      close: () => cache.close(),
    }
  },
}

export interface ZipfRow {
  library: string
  ops: number
  reads: number
  loaderCalls: number
  hitRate: number
  opsPerSec: number
  readP50Us: number
  readP99Us: number
  writeP50Us: number
  writeP99Us: number
  timedOut: boolean
}

export async function zipf(url: string, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const count = scaled(budget, 40_000, 8_000)
  const random = seededRandom(2024)
  const next = zipfSampler(KEYS, EXPONENT, random)
  const sequence = new Int32Array(count)
  const writes = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    sequence[i] = next()
    writes[i] = random() < WRITE_SHARE ? 1 : 0
  }
  const keys = Array.from({ length: KEYS }, (_, k) => `user:${k}`)
  const values = Array.from({ length: KEYS }, (_, k) => objectOf1Kb(k))
  const rows: ZipfRow[] = []
  for (const [library, create] of Object.entries(LIBRARIES)) {
    const cache = create(url, `zipf-${library}`)
    const counts = { loader: 0 }
    const loaders = values.map((value) => async () => {
      counts.loader++
      await sleep(LOADER_MS)
      return value
    })
    const readTimes = new Float64Array(count)
    const writeTimes = new Float64Array(count)
    let reads = 0
    let writesDone = 0
    let nextOp = 0
    const deadline = performance.now() + (budget.quick ? MAX_MS / 4 : MAX_MS)
    let timedOut = false
    try {
      const t0 = performance.now()
      const worker = async () => {
        while (nextOp < count) {
          if (performance.now() > deadline) {
            timedOut = true
            return
          }
          const i = nextOp++
          const k = sequence[i]!
          const start = process.hrtime.bigint()
          if (writes[i]) {
            await cache.set(keys[k]!, values[k])
            writeTimes[writesDone++] = Number(process.hrtime.bigint() - start) / 1000
          } else {
            await cache.getOrSet(keys[k]!, loaders[k]!)
            readTimes[reads++] = Number(process.hrtime.bigint() - start) / 1000
          }
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const seconds = (performance.now() - t0) / 1000
      const sortedReads = readTimes.subarray(0, reads).sort()
      const sortedWrites = writeTimes.subarray(0, writesDone).sort()
      rows.push({
        library,
        ops: reads + writesDone,
        reads,
        loaderCalls: counts.loader,
        hitRate: reads === 0 ? 0 : 1 - counts.loader / reads,
        opsPerSec: (reads + writesDone) / seconds,
        readP50Us: percentile(sortedReads, 50),
        readP99Us: percentile(sortedReads, 99),
        writeP50Us: percentile(sortedWrites, 50),
        writeP99Us: percentile(sortedWrites, 99),
        timedOut,
      })
    } finally {
      await cache.close()
    }
  }
  return {
    id: 'zipf',
    title: 'Zipf-skewed 90% read / 10% write, 5 ms loader',
    setup: `Tiered caches with an L1 of ${L1_ENTRIES.toLocaleString('en-US')} entries + Redis, cold start; ${count.toLocaleString('en-US')} operations over ${KEYS.toLocaleString('en-US')} keys drawn from Zipf(s = ${EXPONENT}); reads are \`getOrSet\` (cache-manager: \`wrap\`) with a ${LOADER_MS} ms loader, writes are \`set\`; ${CONCURRENCY} concurrent callers; the same seeded sequence for every library.`,
    table: {
      columns: [
        'library',
        'ops/s',
        'hit rate',
        'loader calls',
        'read p50',
        'read p99',
        'write p50',
        'write p99',
      ],
      rows: rows.map((row) => [
        row.timedOut ? `${row.library} (stopped at ${MAX_MS / 1000} s)` : row.library,
        formatOps(row.opsPerSec),
        `${(row.hitRate * 100).toFixed(1)}%`,
        row.loaderCalls.toLocaleString('en-US'),
        formatUs(row.readP50Us),
        formatUs(row.readP99Us),
        formatUs(row.writeP50Us),
        formatUs(row.writeP99Us),
      ]),
    },
    notes: [
      'Hit rate = 1 - loader calls / reads, the same formula for every library (not each library’s own counters).',
    ],
    data: { rows, keys: KEYS, exponent: EXPONENT, writeShare: WRITE_SHARE, loaderMs: LOADER_MS },
    seconds: (performance.now() - started) / 1000,
  }
}
