import type { Cache } from '@cachekit/core'
import { afterEach, describe, expect, it } from 'vitest'
import { type InvalidatableCache, Invalidates, type InvalidationTargets } from '../src/index.js'
import { caches, recording } from './helpers.js'

// This file uses the `@` syntax on purpose. Oxc (Vite 8) leaves standard decorators in place and
// Node cannot parse them; vitest.config.ts lowers them with TypeScript first.

const open = caches()
afterEach(() => open.closeAll())

interface User {
  id: string
  name: string
  orgId: string
}

/** What the targets function of `rename` was called with. */
const renameTargetCalls: unknown[][] = []

/** Returns items that are not strings: the invalidation refuses them after the method ran. */
const invalidTargets = ((user: User) => ({ keys: [user.name, 42] })) as unknown as (
  user: User,
) => InvalidationTargets

class UserService {
  static imports = 0
  static cache: InvalidatableCache
  readonly rows = new Map<string, User>([['1', { id: '1', name: 'Ada', orgId: 'acme' }]])

  constructor(public cache: InvalidatableCache) {}

  find(id: string): Promise<User> {
    const row = this.rows.get(id)!
    return (this.cache as Cache).getOrSet(`user:${id}`, () => ({ ...row }), { tags: [`org:${row.orgId}`] })
  }

  @Invalidates(
    (self: UserService) => self.cache,
    (user: User, id: string) => ({
      keys: [`user:${id}`],
      tags: [`org:${user.orgId}`],
      patterns: [`feed:${id}:*`],
    }),
  )
  async update(id: string, patch: Partial<User>): Promise<User> {
    const row = this.rows.get(id)
    if (!row) throw new Error(`no user ${id}`)
    const updated = { ...row, ...patch }
    this.rows.set(id, updated)
    return updated
  }

  rename(id: string, name: string): Promise<User> {
    return this.#rename(id, name)
  }

  @Invalidates(
    (self: UserService) => self.cache,
    (user: User, id: string, name: string) => {
      renameTargetCalls.push([user, id, name])
      return { keys: [`user:${id}`, `user-by-name:${name}`] }
    },
  )
  async #rename(id: string, name: string): Promise<User> {
    const updated = { ...this.rows.get(id)!, name }
    this.rows.set(id, updated)
    return updated
  }

  @Invalidates((self: UserService) => self.cache, { tags: ['users'] }, { strategy: 'lazy' })
  async importAll(rows: User[]): Promise<number> {
    for (const row of rows) this.rows.set(row.id, row)
    return rows.length
  }

  @Invalidates((self: UserService) => self.cache, invalidTargets)
  async renameBadly(id: string, name: string): Promise<User> {
    return this.#rename(id, name)
  }

  @Invalidates((self: typeof UserService) => self.cache, { tags: ['users'] })
  static async importCount(): Promise<number> {
    UserService.imports++
    return UserService.imports
  }
}

describe('@Invalidates', () => {
  it('invalidates keys, tags and patterns after the method resolved, with `this` intact', async () => {
    const cache = open.local()
    const service = new UserService(cache)
    await cache.set('feed:1:page:1', 'old feed')
    await cache.set('feed:2:page:1', 'other feed')
    expect((await service.find('1')).name).toBe('Ada')
    await cache.set('org:acme:members', ['Ada'], { tags: ['org:acme'] })

    const updated = await service.update('1', { name: 'Ada Lovelace' })
    expect(updated.name).toBe('Ada Lovelace')
    expect((await service.find('1')).name).toBe('Ada Lovelace')
    expect(await cache.getMany(['feed:1:page:1', 'feed:2:page:1', 'org:acme:members'])).toEqual([
      undefined,
      'other feed',
      undefined,
    ])
    expect(service.update.name).toBe('update')
  })

  it('invalidates nothing when the method throws, and rethrows its error', async () => {
    const { cache, calls } = recording(open.local())
    const service = new UserService(cache)
    await expect(service.update('404', { name: 'nobody' })).rejects.toThrow('no user 404')
    expect(calls).toEqual([])
  })

  it('hands the targets function the result and every argument (a #private method here)', async () => {
    const { cache, calls } = recording(open.local())
    const service = new UserService(cache)
    renameTargetCalls.length = 0
    const result = await service.rename('1', 'Ada L.')
    expect(renameTargetCalls).toEqual([[result, '1', 'Ada L.']])
    expect(renameTargetCalls[0]![0]).toBe(result)
    expect(calls).toEqual([['deleteMany', ['user:1', 'user-by-name:Ada L.']]])
  })

  it('passes the strategy, and decorates static methods', async () => {
    const { cache, calls } = recording(open.local())
    const service = new UserService(cache)
    expect(await service.importAll([{ id: '2', name: 'Grace', orgId: 'acme' }])).toBe(1)
    expect(calls).toEqual([['invalidateTags', ['users'], { strategy: 'lazy' }]])

    calls.length = 0
    UserService.cache = cache
    expect(await UserService.importCount()).toBe(1)
    expect(calls).toEqual([['invalidateTags', ['users'], { strategy: 'immediate' }]])
  })

  it('reads the cache at call time, so it may be set after construction', async () => {
    const first = recording(open.local())
    const second = recording(open.local())
    const service = new UserService(first.cache)
    service.cache = second.cache
    await service.importAll([])
    expect(first.calls).toEqual([])
    expect(second.calls).toHaveLength(1)
  })

  it('rejects after the method’s work when its targets are invalid', async () => {
    const { cache, calls } = recording(open.local())
    const service = new UserService(cache)
    await expect(service.renameBadly('1', 'X')).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    expect(service.rows.get('1')!.name).toBe('X') // the method ran
    expect(calls).toEqual([['deleteMany', ['user:1', 'user-by-name:X']]]) // only #rename's own invalidation
  })
})
