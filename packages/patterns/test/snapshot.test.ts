import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import type { CacheStats } from '@cachekit/core'
import { requireTopology } from '@cachekit/redis-harness'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { restoreSnapshot, SnapshotError, snapshot } from '../src/index.js'
import { localCache } from './support/local.js'
import { freshPrefix, Instances, topologies } from './support/redis.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cachekit-snapshot-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})
afterEach(() => {
  vi.useRealTimers()
})

let files = 0
const fileTarget = () => ({ path: join(dir, `l1-${++files}.snapshot`) })

/** Header (magic, version, flags) and digest lengths of the documented format. */
const HEADER = 8
const DIGEST = 32

describe('snapshot and restoreSnapshot', () => {
  it('carry L1 entries with their values, times, tags and namespaces to another cache', async () => {
    const source = localCache()
    const value = { at: new Date('2024-05-01T00:00:00Z'), seen: new Set(['a']), map: new Map([[1, 2n]]) }
    await source.set('rich', value, { ttl: '10m', tags: ['t'], grace: '1m' })
    await source.namespace('tenant:1').set('plain', 'x')
    const target = fileTarget()
    const written = await snapshot(source, target)
    expect(written).toMatchObject({ entries: 2, skipped: 0 })

    const fresh = localCache()
    const restored = await restoreSnapshot(fresh, target)
    expect(restored).toMatchObject({ found: true, entries: 2, restored: 2, expired: 0, present: 0 })
    expect(await fresh.get('rich')).toEqual(value)
    expect(await fresh.namespace('tenant:1').get('plain')).toBe('x')
    const byKey = (entries: ReturnType<typeof source.l1Entries>) =>
      new Map(entries.map((item) => [item.storeKey, item.entry]))
    expect(byKey(fresh.l1Entries())).toEqual(byKey(source.l1Entries()))
    await fresh.invalidateTags(['t'])
    expect(await fresh.get('rich')).toBeUndefined()
  })

  it('keep the remaining TTL and leave out entries that expired meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const source = localCache()
    await source.set('long', 1, { ttl: 10_000 })
    await source.set('short', 2, { ttl: 1_000 })
    const target = fileTarget()
    await snapshot(source, target)
    const original = source.l1Entries().find((item) => item.storeKey === 'local::long')!.entry
    vi.setSystemTime(Date.now() + 4_000)

    const fresh = localCache()
    expect(await restoreSnapshot(fresh, target)).toMatchObject({ entries: 2, restored: 1, expired: 1 })
    const [restored] = fresh.l1Entries()
    expect(restored).toEqual({ storeKey: 'local::long', entry: original })
    expect(restored!.entry.expiresAt - Date.now()).toBe(6_000)
    expect(await fresh.get('short')).toBeUndefined()
  })

  it('keep the most recently used entries first, up to `limit`', async () => {
    const source = localCache()
    for (const key of ['a', 'b', 'c']) await source.set(key, key)
    await source.get('a')
    const target = fileTarget()
    expect(await snapshot(source, target, { limit: 2 })).toMatchObject({ entries: 2 })
    const fresh = localCache()
    await restoreSnapshot(fresh, target)
    expect(fresh.l1Entries().map((item) => item.storeKey)).toEqual(['local::a', 'local::c'])
  })

  it('leave out values the serializer cannot carry, and never overwrite a key L1 already holds', async () => {
    const source = localCache()
    await source.set('fn', { run: () => 1 })
    await source.set('ok', 1)
    const target = fileTarget()
    expect(await snapshot(source, target)).toMatchObject({ entries: 1, skipped: 1 })
    const fresh = localCache()
    await fresh.set('ok', 2)
    expect(await restoreSnapshot(fresh, target)).toMatchObject({ restored: 0, present: 1 })
    expect(await fresh.get('ok')).toBe(2)
  })

  it('report no snapshot at a first start, without an error', async () => {
    expect(await restoreSnapshot(localCache(), { path: join(dir, 'missing') })).toMatchObject({
      found: false,
      restored: 0,
    })
  })

  describe('refuse a corrupt or altered snapshot, applying nothing of it', () => {
    async function written(options: { secret?: string } = {}) {
      const source = localCache()
      for (let i = 0; i < 20; i++) await source.set(`k:${i}`, { i })
      const target = fileTarget()
      await snapshot(source, target, options)
      return { target, bytes: await readFile(target.path) }
    }

    async function refused(bytes: Uint8Array, options: { secret?: string } = {}) {
      const target = fileTarget()
      await writeFile(target.path, bytes)
      const fresh = localCache()
      const error = await restoreSnapshot(fresh, target, options).catch((caught: unknown) => caught)
      expect(fresh.l1Entries()).toEqual([])
      expect(error).toBeInstanceOf(SnapshotError)
      expect(error).toMatchObject({ code: 'E_CODEC_DECODE', source: target.path })
      return (error as Error).message
    }

    it('a flipped bit, a truncation, another file', async () => {
      const { bytes } = await written()
      for (const at of [0, 6, 7, HEADER + 3, bytes.length - 1, Math.floor(bytes.length / 2)]) {
        const flipped = Buffer.from(bytes)
        flipped[at]! ^= 0x10
        await refused(flipped)
      }
      expect(await refused(bytes.subarray(0, bytes.length - 5))).toMatch(/checksum/)
      expect(await refused(bytes.subarray(0, 20))).toMatch(/not a cachekit snapshot/)
      expect(await refused(Buffer.from('{"entries":[]}'))).toMatch(/not a cachekit snapshot/)
    })

    it('an entry edited and the checksum recomputed: refused as a whole when an entry is malformed', async () => {
      const { bytes } = await written()
      const body = deserialize(bytes.subarray(HEADER + DIGEST)) as { rows: unknown[][] }
      body.rows[5]![3] = 'later'
      const newBody = serialize(body)
      const header = bytes.subarray(0, HEADER)
      const digest = createHash('sha256').update(header).update(newBody).digest()
      expect(await refused(Buffer.concat([header, digest, newBody]))).toMatch(/entry 5 is malformed/)
    })

    it('with a secret: a forged checksum, a stripped signature, a missing or wrong secret', async () => {
      const secret = 'correct horse battery staple'
      const { bytes, target } = await written({ secret })
      expect(await restoreSnapshot(localCache(), target, { secret })).toMatchObject({ restored: 20 })
      const body = deserialize(bytes.subarray(HEADER + DIGEST)) as { rows: unknown[][] }
      body.rows[0]![1] = { i: 'forged' }
      const newBody = serialize(body)
      const header = bytes.subarray(0, HEADER)
      const forged = Buffer.concat([
        header,
        createHash('sha256').update(header).update(newBody).digest(),
        newBody,
      ])
      expect(await refused(forged, { secret })).toMatch(/HMAC/)
      const stripped = Buffer.from(forged)
      stripped[HEADER - 1] = 0
      expect(await refused(stripped, { secret })).toMatch(/not signed/)
      expect(await refused(bytes)).toMatch(/pass its `secret`/)
      expect(await refused(bytes, { secret: 'another secret of enough length' })).toMatch(/HMAC/)
    })
  })

  it('refuse bad arguments', async () => {
    const cache = localCache()
    await expect(snapshot(cache, {} as never)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(snapshot(cache, fileTarget(), { secret: 'short' })).rejects.toThrow(/at least 16 bytes/)
    await expect(snapshot(cache, fileTarget(), { limit: -1 })).rejects.toThrow(/limit/)
    await expect(restoreSnapshot({} as never, fileTarget())).rejects.toThrow(/needs a Cache/)
  })

  it('refuse, before restoring anything, a snapshot of a cache with another prefix', async () => {
    const source = localCache({ prefix: 'one' })
    await source.set('a', 1)
    const target = fileTarget()
    await snapshot(source, target)
    const other = localCache({ prefix: 'two' })
    await expect(restoreSnapshot(other, target)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    expect(other.l1Entries()).toEqual([])
  })
})

describe.each(topologies)('snapshots in a Redis key on %s', (topology) => {
  const instances = new Instances(topology)
  afterEach(() => instances.close())

  it('are written with one SET that expires with the last entry, and restored from it', async () => {
    const client = instances.client()
    const prefix = freshPrefix('snap')
    const source = instances.start(prefix)
    await source.set('a', 1, { ttl: '1m' })
    await source.set('b', 2, { ttl: '2m' })
    const target = { client, key: `${prefix}:snapshot` }
    await snapshot(source, target)
    const ttl = await client.pttl(target.key)
    expect(ttl).toBeGreaterThan(60_000)
    expect(ttl).toBeLessThanOrEqual(120_000)

    const fresh = instances.start(prefix)
    expect(await restoreSnapshot(fresh, target)).toMatchObject({ found: true, restored: 2 })
    expect(await fresh.getMany(['a', 'b'])).toEqual([1, 2])
    expect(fresh.stats().tiers.l1.hits).toBe(2)
    expect(await restoreSnapshot(fresh, { client, key: `${prefix}:none` })).toMatchObject({ found: false })
    await client.del(target.key)
  })
})

describe('a new process restored from a snapshot', () => {
  it('serves L1 hits before its first L2 read', async () => {
    const { url } = requireTopology(inject('redis'), 'standalone')
    const instances = new Instances('standalone')
    try {
      const prefix = freshPrefix('child')
      const running = instances.start(prefix)
      const keys = Array.from({ length: 50 }, (_, i) => `product:${i}`)
      await running.setMany(keys.map((key, i) => ({ key, value: { id: i, name: `p${i}` } })))
      await running.set('not-in-snapshot', 'from L2')
      await running.namespace('scratch').set('x', 1)
      const target = fileTarget()
      // What the running process had in L1 when it stopped, less the key kept out to show L2 reads count.
      await running.delete('not-in-snapshot')
      await snapshot(running, target)
      await running.set('not-in-snapshot', 'from L2')

      const report = await runChild({ url, prefix, path: target.path, keys, extraKey: 'not-in-snapshot' })
      expect(report.restore).toMatchObject({ found: true, restored: 51 })
      expect(report.values).toEqual(keys.map((_, i) => ({ id: i, name: `p${i}` })))
      expect(report.beforeExtra.l2Reads).toBe(0)
      expect(report.beforeExtra.stats.tiers.l1.hits).toBe(50)
      expect(report.beforeExtra.stats.tiers.l2.hits).toBe(0)
      // The same process does read L2, and the count sees it, for a key the snapshot did not hold.
      expect(report.extra).toBe('from L2')
      expect(report.after.l2Reads).toBe(1)
      expect(report.after.stats.tiers.l2.hits).toBe(1)
    } finally {
      await instances.close()
    }
  }, 30_000)
})

interface ChildReport {
  restore: { found: boolean; restored: number }
  values: unknown[]
  beforeExtra: { stats: CacheStats; l2Reads: number }
  extra: unknown
  after: { stats: CacheStats; l2Reads: number }
}

function runChild(config: Record<string, unknown>): Promise<ChildReport> {
  const here = import.meta.dirname
  const tsx = createRequire(import.meta.url).resolve('tsx')
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', tsx, join(here, 'support', 'restore_child.ts')],
      {
        env: {
          ...process.env,
          SNAPSHOT_CHILD: JSON.stringify(config),
          TSX_TSCONFIG_PATH: join(here, 'support', 'tsconfig.child.json'),
        },
        timeout: 25_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`the child failed: ${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout) as ChildReport)
      },
    )
  })
}
