import { afterEach, describe, expect, it, vi } from 'vitest'
import { type InvalidationTargets, invalidates } from '../src/index.js'
import { caches, recording } from './helpers.js'

const open = caches()
afterEach(() => open.closeAll())

interface User {
  id: string
  name: string
  orgId: string
}

/** A small source of truth the cache sits in front of. */
function usersTable() {
  const rows = new Map<string, User>([
    ['1', { id: '1', name: 'Ada', orgId: 'acme' }],
    ['2', { id: '2', name: 'Grace', orgId: 'acme' }],
  ])
  return {
    rows,
    find: (id: string) => ({ ...rows.get(id)! }),
    async update(id: string, patch: Partial<User>): Promise<User> {
      const row = rows.get(id)
      if (!row) throw new Error(`no user ${id}`)
      const updated = { ...row, ...patch }
      rows.set(id, updated)
      return { ...updated }
    },
  }
}

describe('invalidates', () => {
  it('invalidates after the mutation resolved, from its result and its arguments', async () => {
    const cache = open.local()
    const db = usersTable()
    const read = (id: string) => cache.getOrSet(`user:${id}`, () => db.find(id), { tags: [`org:acme`] })
    const orgPage = () =>
      cache.getOrSet('org:acme:page', () => [...db.rows.values()].map((u) => u.name), { tags: ['org:acme'] })
    expect((await read('1')).name).toBe('Ada')
    expect(await orgPage()).toEqual(['Ada', 'Grace'])

    const seen: unknown[][] = []
    const updateUser = invalidates(
      cache,
      (user, id, patch) => {
        seen.push([user, id, patch])
        return { keys: [`user:${id}`], tags: [`org:${user.orgId}`] }
      },
      (id: string, patch: Partial<User>) => db.update(id, patch),
    )
    const patch = { name: 'Ada Lovelace' }
    const result = await updateUser('1', patch)
    expect(result).toEqual({ id: '1', name: 'Ada Lovelace', orgId: 'acme' })
    expect(seen).toEqual([[result, '1', patch]])
    expect(seen[0]![0]).toBe(result) // the very result the caller gets
    expect(seen[0]![2]).toBe(patch)

    expect((await read('1')).name).toBe('Ada Lovelace')
    expect(await orgPage()).toEqual(['Ada Lovelace', 'Grace'])
  })

  it('invalidates nothing when the mutation rejects, and rethrows its very error', async () => {
    const cache = open.local()
    await cache.set('user:1', 'cached', { tags: ['users'] })
    const failure = new Error('constraint violated')
    const targets = vi.fn(() => ({ keys: ['user:1'], tags: ['users'] }))
    const save = invalidates(cache, targets, async (_id: string) => {
      throw failure
    })
    await expect(save('1')).rejects.toBe(failure)
    expect(targets).not.toHaveBeenCalled()
    expect(await cache.get('user:1')).toBe('cached')
  })

  it('invalidates nothing when the mutation throws synchronously; the same error rejects', async () => {
    const { cache: view, calls } = recording(open.local())
    const failure = new TypeError('bad patch')
    const save = invalidates(view, { keys: ['user:1'] }, (_id: string): number => {
      throw failure
    })
    await expect(save('1')).rejects.toBe(failure)
    expect(calls).toEqual([])
  })

  it('passes `this` through, keeps the name, and resolves with the result of a sync mutation', async () => {
    const { cache, calls } = recording(open.local())
    const repo = {
      saved: [] as string[],
      save: invalidates(
        cache,
        (_: number, name) => ({ keys: [`item:${name}`] }),
        function save(this: { saved: string[] }, name: string) {
          this.saved.push(name)
          return this.saved.length
        },
      ),
    }
    expect(await repo.save('a')).toBe(1)
    expect(repo.saved).toEqual(['a'])
    expect(repo.save.name).toBe('save')
    expect(calls).toEqual([['deleteMany', ['item:a']]])
  })

  it('passes the strategy, and accepts async targets functions', async () => {
    const { cache, calls } = recording(open.local())
    const publish = invalidates(
      cache,
      async (_, slug: string) => ({ tags: [`page:${slug}`] }) satisfies InvalidationTargets,
      async (_slug: string) => undefined,
      { strategy: 'lazy' },
    )
    await publish('home')
    expect(calls).toEqual([['invalidateTags', ['page:home'], { strategy: 'lazy' }]])
  })

  it('rejects with the invalidation’s error although the mutation already happened', async () => {
    const db = usersTable()
    const cache = open.local()
    const broken = new Error('cannot compute targets')
    const rename = invalidates(
      cache,
      () => {
        throw broken
      },
      (id: string, name: string) => db.update(id, { name }),
    )
    await expect(rename('1', 'Ada L.')).rejects.toBe(broken)
    expect(db.rows.get('1')!.name).toBe('Ada L.')

    // A cache closed under the wrapper (process shutdown): the mutation runs, the invalidation fails.
    const closing = open.local()
    const renameThere = invalidates(closing, { tags: ['users'] }, (id: string, name: string) =>
      db.update(id, { name }),
    )
    await closing.close()
    await expect(renameThere('2', 'Grace H.')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
    expect(db.rows.get('2')!.name).toBe('Grace H.')
  })

  it('runs each call’s invalidation with that call’s arguments', async () => {
    const { cache, calls } = recording(open.local())
    const touch = invalidates(
      cache,
      (_: string, id: number) => ({ keys: [`k:${id}`] }),
      async (id: number) => {
        await new Promise((resolve) => setTimeout(resolve, 10 - id))
        return String(id)
      },
    )
    expect(await Promise.all([touch(1), touch(2), touch(3)])).toEqual(['1', '2', '3'])
    expect(calls.map((call) => call[1]).sort()).toEqual([['k:1'], ['k:2'], ['k:3']])
  })
})
