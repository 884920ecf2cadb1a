import { afterEach, describe, expect, it, vi } from 'vitest'
import { invalidate } from '../src/index.js'
import { caches, recording, waitFor } from './helpers.js'

const open = caches()
afterEach(() => open.closeAll())

describe('invalidate', () => {
  it('deletes keys and counts those that existed', async () => {
    const cache = open.local()
    await cache.setMany([
      { key: 'user:1', value: 'Ada' },
      { key: 'user:2', value: 'Grace' },
      { key: 'user:3', value: 'Edsger' },
    ])
    const summary = await invalidate(cache, { keys: ['user:1', 'user:2', 'user:9'] })
    expect(summary).toEqual({ keys: 2, patterns: 0, tags: 0 })
    expect(await cache.getMany(['user:1', 'user:2', 'user:3'])).toEqual([undefined, undefined, 'Edsger'])
  })

  it('invalidates tags, whatever wrote them, and leaves other entries alone', async () => {
    const cache = open.local()
    await cache.set('product:1', { id: 1, category: 'books' }, { tags: ['products', 'category:books'] })
    await cache.set(
      'product:2',
      { id: 2, category: 'games' },
      { tags: (p) => ['products', `category:${p.category}`] },
    )
    await cache.getOrSet('product:3', () => ({ id: 3, category: 'books' }), { tags: ['category:books'] })
    await cache.set('settings', { theme: 'dark' })

    const summary = await invalidate(cache, { tags: ['category:books', 'category:books'] })
    expect(summary).toEqual({ keys: 0, patterns: 0, tags: 1 })
    expect(await cache.get('product:1')).toBeUndefined()
    expect(await cache.get('product:3')).toBeUndefined()
    expect(await cache.get('product:2')).toEqual({ id: 2, category: 'games' })

    await invalidate(cache, { tags: ['products'] })
    expect(await cache.get('product:2')).toBeUndefined()
    expect(await cache.get('settings')).toEqual({ theme: 'dark' })
  })

  it('deletes keys matching patterns and counts them all', async () => {
    const cache = open.local()
    await cache.setMany([
      { key: 'user:1:profile', value: 1 },
      { key: 'user:1:posts', value: 2 },
      { key: 'user:12:profile', value: 3 },
      { key: 'report:2024-01', value: 4 },
      { key: 'report:2024-02', value: 5 },
      { key: 'report:2025-01', value: 6 },
    ])
    const summary = await invalidate(cache, { patterns: ['user:1:*', 'report:2024-??'] })
    expect(summary).toEqual({ keys: 0, patterns: 4, tags: 0 })
    expect(
      await cache.getMany([
        'user:1:profile',
        'user:1:posts',
        'user:12:profile',
        'report:2024-01',
        'report:2025-01',
      ]),
    ).toEqual([undefined, undefined, 3, undefined, 6])
  })

  it('takes keys literally: a glob character in a user-supplied part never widens the delete', async () => {
    const cache = open.local()
    await cache.setMany([
      { key: 'user:1', value: 'Ada' },
      { key: 'user:2', value: 'Grace' },
      { key: 'user:*', value: 'a user whose id is a star' },
      { key: 'user:[12]', value: 'brackets' },
    ])
    for (const id of ['*', '?', '[12]', '[!x]', '\\*']) {
      await invalidate(cache, { keys: [`user:${id}`] })
    }
    expect(await cache.getMany(['user:1', 'user:2', 'user:*', 'user:[12]'])).toEqual([
      'Ada',
      'Grace',
      undefined,
      undefined,
    ])
  })

  it('runs keys, tags and patterns together, each once, and sums up', async () => {
    const real = open.local()
    const { cache, calls } = recording(real)
    await real.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'feed:1', value: 3 },
      { key: 'feed:2', value: 4 },
      { key: 'tagged', value: 5, tags: ['t'] },
    ])
    const summary = await invalidate(cache, {
      keys: ['a', 'b', 'a'],
      tags: ['t', 'u'],
      patterns: ['feed:*', 'feed:*'],
    })
    expect(summary).toEqual({ keys: 2, patterns: 2, tags: 2 })
    expect(calls).toEqual([
      ['deleteMany', ['a', 'b']],
      ['invalidateTags', ['t', 'u'], { strategy: 'immediate' }],
      ['deleteMatching', 'feed:*'],
    ])
    expect(await real.get('tagged')).toBeUndefined()
  })

  it('calls nothing for empty targets', async () => {
    const { cache, calls } = recording(open.local())
    expect(await invalidate(cache, {})).toEqual({ keys: 0, patterns: 0, tags: 0 })
    expect(await invalidate(cache, { keys: [], tags: [], patterns: [] })).toEqual({
      keys: 0,
      patterns: 0,
      tags: 0,
    })
    expect(calls).toEqual([])
  })

  it('invalidates within a namespace only', async () => {
    const cache = open.local()
    const acme = cache.namespace('acme')
    const globex = cache.namespace('globex')
    for (const tenant of [acme, globex]) {
      await tenant.set('user:1', 'u', { tags: ['users'] })
      await tenant.set('feed:1', 'f')
      await tenant.set('k', 'k')
    }
    const summary = await invalidate(acme, { keys: ['k'], tags: ['users'], patterns: ['feed:*'] })
    expect(summary).toEqual({ keys: 1, patterns: 1, tags: 1 })
    expect(await acme.getMany(['user:1', 'feed:1', 'k'])).toEqual([undefined, undefined, undefined])
    expect(await globex.getMany(['user:1', 'feed:1', 'k'])).toEqual(['u', 'f', 'k'])
  })

  describe("strategy 'lazy'", () => {
    it('serves the stale value once from getOrSet while one refresh runs, then the refreshed one', async () => {
      const cache = open.local()
      const options = { tags: ['products'], grace: '1m' } as const
      expect(await cache.getOrSet('product:1', () => 'v1', options)).toBe('v1')

      const summary = await invalidate(cache, { tags: ['products'] }, { strategy: 'lazy' })
      expect(summary).toEqual({ keys: 0, patterns: 0, tags: 1 })

      let release = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const refresh = vi.fn(async () => {
        await gate
        return 'v2'
      })
      expect(await cache.getOrSet('product:1', refresh, options)).toBe('v1') // stale, refresh started
      expect(await cache.getOrSet('product:1', refresh, options)).toBe('v1') // still running: no second one
      expect(refresh).toHaveBeenCalledTimes(1)
      release()
      await waitFor(
        'the refreshed value',
        async () => (await cache.getOrSet('product:1', refresh, options)) === 'v2',
      )
      expect(refresh).toHaveBeenCalledTimes(1)
    })

    it('still deletes keys and patterns: lazy applies to tags', async () => {
      const cache = open.local()
      await cache.setMany([
        { key: 'k', value: 1, grace: '1m' },
        { key: 'p:1', value: 2, grace: '1m' },
      ])
      const summary = await invalidate(cache, { keys: ['k'], patterns: ['p:*'] }, { strategy: 'lazy' })
      expect(summary).toEqual({ keys: 1, patterns: 1, tags: 0 })
      const load = vi.fn(() => 'fresh')
      expect(await cache.getOrSet('k', load, { grace: '1m' })).toBe('fresh')
      expect(await cache.getOrSet('p:1', load, { grace: '1m' })).toBe('fresh')
    })

    it("unlike 'immediate', where getOrSet waits for the factory", async () => {
      const cache = open.local()
      const options = { tags: ['products'], grace: '1m' } as const
      await cache.getOrSet('product:1', () => 'v1', options)
      await invalidate(cache, { tags: ['products'] })
      expect(await cache.getOrSet('product:1', () => 'v2', options)).toBe('v2')
    })
  })

  describe("strategy 'ttl'", () => {
    it('changes nothing, counts tags and lets the cache emit the invalidation', async () => {
      const real = open.local()
      const { cache, calls } = recording(real)
      const emitted: unknown[] = []
      real.on('tags:invalidate', (event) => emitted.push(event))
      await real.set('product:1', 'v1', { tags: ['products'] })
      await real.set('k', 'k')
      await real.set('p:1', 'p')

      const summary = await invalidate(
        cache,
        { keys: ['k'], tags: ['products'], patterns: ['p:*'] },
        { strategy: 'ttl' },
      )
      expect(summary).toEqual({ keys: 0, patterns: 0, tags: 1 })
      expect(calls).toEqual([['invalidateTags', ['products'], { strategy: 'ttl' }]])
      expect(emitted).toEqual([{ tags: [expect.stringMatching(/products$/)], strategy: 'ttl' }])
      expect(await real.getMany(['product:1', 'k', 'p:1'])).toEqual(['v1', 'k', 'p'])
      expect(await real.getOrSet('product:1', () => 'v2')).toBe('v1')
    })

    it('calls nothing when there are no tags', async () => {
      const { cache, calls } = recording(open.local())
      expect(await invalidate(cache, { keys: ['k'], patterns: ['*'] }, { strategy: 'ttl' })).toEqual({
        keys: 0,
        patterns: 0,
        tags: 0,
      })
      expect(calls).toEqual([])
    })
  })

  it('rejects with what the cache rejects with, once every call settled', async () => {
    const noTags = open.local({ tagIndex: undefined })
    await noTags.set('k', 1)
    await expect(invalidate(noTags, { keys: ['k'], tags: ['t'] })).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      message: expect.stringContaining('tagIndex'),
    })
    expect(await noTags.get('k')).toBeUndefined() // the keys' delete ran to its end

    const closed = open.local()
    await closed.close()
    await expect(invalidate(closed, { keys: ['k'] })).rejects.toMatchObject({
      message: expect.stringContaining('closed'),
    })
  })
})
