/**
 * Bytes of heap per L1 entry: each in-process tier filled with 100,000 small objects in a process of
 * its own (node --expose-gc), heap measured after full collections before the store exists and
 * after it is full. The Map row is the floor: the keys and values themselves.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { type Budget, scaled } from '../budget.js'
import { formatBytes, type WorkloadResult } from '../report.js'

const run = promisify(execFile)

export const MEMORY_LIBRARIES = [
  'Map (baseline: the keys and values alone)',
  'lru-cache (bare)',
  'cachekit memoryStore',
  'cachekit cache (L1 only)',
  'bentocache (memory driver, default)',
  'bentocache (memory driver, serialize: false)',
  'cache-manager (CacheableMemory)',
] as const

interface MemoryRow {
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
  return {
    id: 'memory-per-entry',
    title: 'Memory per L1 entry',
    setup: `${count.toLocaleString('en-US')} entries of \`{ id, name, active }\` under keys \`key:<i>\`, TTL ${'10 min'}, each store sized to hold them all; heapUsed delta / entries, one process per row.`,
    table: {
      columns: ['store', 'bytes / entry', 'over the Map floor'],
      rows: rows.map((row) => [
        row.library,
        formatBytes(row.bytesPerEntry),
        row === rows[0] ? '-' : `+${formatBytes(row.bytesPerEntry - floor)}`,
      ]),
    },
    notes: [
      'cachekit wraps each value in a CacheEntry (value, createdAt, expiresAt, hardExpiresAt, tags) so L1 and L2 share one envelope.',
      'bentocache serializes L1 entries to JSON strings by default (serialize: true).',
    ],
    data: { rows },
    seconds: (performance.now() - started) / 1000,
  }
}
