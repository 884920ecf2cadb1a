import { afterEach, describe, expect, it } from 'vitest'
import { writeThrough } from '../src/index.js'
import { localCache } from './support/local.js'
import { freshPrefix, Instances, topologies, waitFor } from './support/redis.js'

interface User {
  id: string
  name: string
}

describe.each(topologies)('writeThrough on %s Redis, two instances with their own L1', (topology) => {
  const instances = new Instances(topology)
  afterEach(() => instances.close())

  async function twoInstances() {
    const prefix = freshPrefix('wt')
    const a = instances.start(prefix)
    const b = instances.start(prefix)
    await Promise.all([a.ready(), b.ready()])
    const db = new Map<string, User>([['1', { id: '1', name: 'Ada' }]])
    await a.set('user:1', db.get('1'))
    expect(await b.get('user:1')).toEqual({ id: '1', name: 'Ada' })
    // B copies what it read into its L1 unless the bus told it of A's write while it read; then
    // the next read does.
    await waitFor("the value in B's L1", async () => {
      const hits = b.stats().tiers.l1.hits
      await b.get('user:1')
      return b.stats().tiers.l1.hits > hits
    })
    return { a, b, db, prefix }
  }

  it('writes the source first, then every tier; the other instance drops its L1 copy and reads the new value', async () => {
    const { a, b, db } = await twoInstances()
    const order: string[] = []
    const save = writeThrough(a, {
      write: async (user: User) => {
        order.push(`source:${db.has(user.id) ? 'update' : 'insert'}`)
        db.set(user.id, user)
        return user
      },
      key: (saved) => `user:${saved.id}`,
      tags: (saved) => [`user:${saved.id}`],
    })
    a.on('set', () => order.push('cache'))

    const saved = await save({ id: '1', name: 'Grace' })
    expect(saved).toEqual({ id: '1', name: 'Grace' })
    expect(order).toEqual(['source:update', 'cache'])
    expect(await a.get('user:1')).toEqual({ id: '1', name: 'Grace' })

    await waitFor("B's L1 copy to be dropped", async () => (await b.get<User>('user:1'))?.name === 'Grace')
    const l1Hits = b.stats().tiers.l1.hits
    expect(await b.get('user:1')).toEqual({ id: '1', name: 'Grace' })
    expect(b.stats().tiers.l1.hits).toBe(l1Hits + 1)
    // The tags went with it: invalidating them on B reaches A.
    await b.invalidateTags(['user:1'])
    await waitFor('A to hear the tag invalidation', async () => (await a.get('user:1')) === undefined)
  })

  it('leaves every tier of both instances alone when the source write fails, and the caller gets its error', async () => {
    const { a, b, prefix } = await twoInstances()
    const refused = new Error('unique constraint')
    const save = writeThrough(a, {
      write: async (_user: User): Promise<User> => {
        throw refused
      },
      key: (saved) => `user:${saved.id}`,
    })
    const setsBefore = a.stats().sets
    const bL1Hits = b.stats().tiers.l1.hits

    await expect(save({ id: '1', name: 'Grace' })).rejects.toBe(refused)
    expect(a.stats().sets).toBe(setsBefore)
    expect(await a.get('user:1')).toEqual({ id: '1', name: 'Ada' })
    expect(await b.get('user:1')).toEqual({ id: '1', name: 'Ada' })
    // B still answers from its L1: nothing told it to drop its copy.
    expect(b.stats().tiers.l1.hits).toBe(bL1Hits + 1)
    // A third instance, with an empty L1, reads L2: the old value is still there.
    const c = instances.start(prefix)
    expect(await c.get('user:1')).toEqual({ id: '1', name: 'Ada' })
  })
})

describe('writeThrough options', () => {
  it('refuses what it cannot use, at wrapping time', async () => {
    const cache = localCache()
    const write = async (id: string) => ({ id })
    expect(() => writeThrough({} as never, { write, key: 'k' })).toThrow(/needs a Cache/)
    expect(() => writeThrough(cache, { write: 'nope' as never, key: 'k' })).toThrow(/write function/)
    expect(() => writeThrough(cache, { write, key: '' })).toThrow(/non-empty string/)
    expect(() => writeThrough(cache, { write, key: 'k', tags: 'users' as never })).toThrow(
      /array of non-empty strings/,
    )
    const bad = writeThrough(cache, { write, key: () => 42 as never })
    await expect(bad('1')).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
  })

  it('keeps the defaults of a profile when given no ttl or tags', async () => {
    const cache = localCache().profile('short', { ttl: 1_000 })
    const save = writeThrough(cache, { write: async (id: string) => ({ id }), key: (_, id) => `k:${id}` })
    await save('1')
    expect(await cache.get('k:1')).toEqual({ id: '1' })
    const { entry } = cache.l1Entries()[0]!
    expect(entry.expiresAt - entry.createdAt).toBe(1_000)
  })
})
