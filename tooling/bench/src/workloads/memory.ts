/**
 * Bytes of heap per L1 entry: each in-process tier filled with 100,000 small objects in a process of
 * its own (node --expose-gc), heap measured after full collections before the store exists and
 * after it is full. The Map row is the floor: the keys and values themselves.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { type Budget, scaled } from '../budget.js'
import { formatBytes, formatRatio, type WorkloadResult } from '../report.js'

const run = promisify(execFile)

export const MEMORY_REFERENCE = 'lru-cache (bare)'
export const MEMORY_MEMORY_STORE = 'cachekit memoryStore'

export const MEMORY_LIBRARIES = [
  'Map (baseline: the keys and values alone)',
  MEMORY_REFERENCE,
  MEMORY_MEMORY_STORE,
  'cachekit cache (L1 only)',
  'bentocache (memory driver, default)',
  'bentocache (memory driver, serialize: false)',
  'cache-manager (CacheableMemory)',
] as const

export interface MemoryRow {
  library: string
  count: number
  bytesPerEntry: number
}

export async function memoryPerEntry(budget: Budget, tsxImport: string): Promise<WorkloadResult> {
  const started = performance.now()
  const count = scaled(budget, 100_000, 20_000)
  const child = new URL('../memory_child.ts', import.meta.url).pathname
  const rows: MemoryRow[] = []
  for (const library of MEMORY_LIBRARIES) {
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--import', tsxImport, child, library, String(count)],
      { timeout: 60_000 },
    )
    rows.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as MemoryRow)
  }
  const floor = rows[0]!.bytesPerEntry
  // The reference: the same entries in the library memoryStore is built on, bare.
  const lru = rows.find((row) => row.library === MEMORY_REFERENCE)!.bytesPerEntry
  return {
    id: 'memory-per-entry',
    title: 'Memory per L1 entry',
    setup: `${count.toLocaleString('en-US')} entries of \`{ id, name, active }\` under keys \`key:<i>\`, TTL ${'10 min'}, each store sized to hold them all; heapUsed delta / entries, one process per row.`,
    table: {
      columns: ['store', 'bytes / entry', 'over the Map floor', 'this ÷ bare lru-cache'],
      rows: rows.map((row) => [
        row.library === MEMORY_REFERENCE ? `${row.library} (reference)` : row.library,
        formatBytes(row.bytesPerEntry),
        row === rows[0] ? '-' : `+${formatBytes(row.bytesPerEntry - floor)}`,
        formatRatio(row.bytesPerEntry / lru),
      ]),
    },
    notes: [
      'Reference: lru-cache (bare), the library cachekit’s memoryStore is built on, with the same objects and TTL; the target (at most 1.3x) is judged on the memoryStore row.',
      'cachekit wraps each value in a CacheEntry (value, createdAt, expiresAt, hardExpiresAt, tags) so L1 and L2 share one envelope.',
      'bentocache serializes L1 entries to JSON strings by default (serialize: true).',
    ],
    data: { rows },
    seconds: (performance.now() - started) / 1000,
  }
}
