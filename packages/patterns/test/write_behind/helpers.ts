import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import type { Cluster, Redis } from 'ioredis'
import { afterEach, inject } from 'vitest'
import { compareVersions, type WriteBehindRecord, type WriteBehindSink } from '../../src/index.js'

/** Everything a test opened, closed after it (last opened first) whatever happened. */
const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

export function onCleanup(close: () => Promise<unknown>): void {
  closers.push(close)
}

export type Topology = 'standalone' | 'cluster'
export const topologies: Topology[] = ['standalone', 'cluster']

export function redisClient(topology: Topology | { url: string }): Redis | Cluster {
  const provided = typeof topology === 'object' ? undefined : inject('redis')
  const client =
    typeof topology === 'object'
      ? createRedis(topology.url)
      : topology === 'standalone'
        ? createRedis(requireTopology(provided!, 'standalone').url)
        : createRedis({ cluster: requireTopology(provided!, 'cluster').startupNodes })
  onCleanup(async () => {
    if (client.status !== 'end') await client.quit().catch(() => client.disconnect())
  })
  return client
}

let streams = 0
/** A stream key no other test uses; hash-tagged, so its dead-letter stream shares its slot. */
export function uniqueStream(): string {
  return `{wb-${process.pid}-${Date.now().toString(36)}-${streams++}}`
}

/** A sink in memory with the version guard every sink must have; it records each call. */
export function memorySink<V>(): WriteBehindSink<V> & {
  rows: Map<string, { value: V; version: string }>
  calls: WriteBehindRecord<V>[][]
} {
  const rows = new Map<string, { value: V; version: string }>()
  const calls: WriteBehindRecord<V>[][] = []
  return {
    rows,
    calls,
    async writeBatch(records) {
      calls.push([...records])
      for (const { key, value, version } of records) {
        const row = rows.get(key)
        if (!row || compareVersions(row.version, version) < 0) rows.set(key, { value, version })
      }
    },
  }
}

/** Every entry of a stream, oldest first, with its fields as an object. */
export async function readStream(
  client: Redis | Cluster,
  stream: string,
): Promise<Array<{ id: string; fields: Record<string, string> }>> {
  const out: Array<{ id: string; fields: Record<string, string> }> = []
  let from = '-'
  for (;;) {
    const page = (await client.xrange(stream, from, '+', 'COUNT', 5_000)) as Array<[string, string[]]>
    for (const [id, flat] of page) {
      const fields: Record<string, string> = {}
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!
      out.push({ id, fields })
    }
    if (page.length < 5_000) return out
    from = `(${page.at(-1)![0]}`
  }
}

/** A small seeded PRNG (mulberry32), so a test's "random" failures are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
