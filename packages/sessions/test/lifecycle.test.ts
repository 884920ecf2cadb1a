import { describe, expect, it } from 'vitest'
import { type Backend, backends, sessionsOn } from './helpers.js'

// Sentinel too: the master found through Sentinel serves the same scripts.
describe.each([...backends, 'sentinel'] as Backend[])('the session lifecycle on %s', (backend: Backend) => {
  it('create, get, update, touch, regenerate, destroy', async () => {
    const { sessions } = sessionsOn<{ role: string; cart?: string[] }>(backend)
    const created = await sessions.create('user-1', { role: 'reader' }, { ip: '10.0.0.1', userAgent: 'ua/1' })
    expect(created.userId).toBe('user-1')
    expect(created.data).toEqual({ role: 'reader' })
    expect(created.expiresAt).toBeGreaterThan(Date.now() + 23 * 3600_000)

    const read = await sessions.get(created.id)
    expect(read).toMatchObject({
      id: created.id,
      userId: 'user-1',
      data: { role: 'reader' },
      ip: '10.0.0.1',
      userAgent: 'ua/1',
    })

    const updated = await sessions.update(created.id, { cart: ['sku-1'] })
    expect(updated?.data).toEqual({ role: 'reader', cart: ['sku-1'] })
    const removed = await sessions.update(created.id, { cart: undefined })
    expect(removed?.data).toEqual({ role: 'reader' })
    const viaFunction = await sessions.update(created.id, (data) => ({ ...data, role: 'editor' }))
    expect(viaFunction?.data).toEqual({ role: 'editor' })

    expect(await sessions.touch(created.id)).toBe(true)

    const regenerated = await sessions.regenerate(created.id)
    expect(regenerated).toBeDefined()
    expect(regenerated!.id).not.toBe(created.id)
    expect(regenerated!.data).toEqual({ role: 'editor' })
    expect(regenerated!.createdAt).toBe(created.createdAt)
    expect(await sessions.get(created.id)).toBeUndefined()
    expect((await sessions.get(regenerated!.id))?.data).toEqual({ role: 'editor' })

    expect(await sessions.destroy(regenerated!.id)).toBe(true)
    expect(await sessions.destroy(regenerated!.id)).toBe(false)
    expect(await sessions.get(regenerated!.id)).toBeUndefined()
  })

  it('ids are 128-bit random and URL-safe, and all of a user’s sessions share a tag', async () => {
    const { sessions } = sessionsOn(backend)
    const ids = new Set<string>()
    for (let i = 0; i < 50; i++) ids.add((await sessions.create('user-ids', {})).id)
    expect(ids.size).toBe(50)
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{12}$/)
    expect(new Set([...ids].map((id) => id.split('.')[1])).size).toBe(1)
    const other = await sessions.create('user-other', {})
    expect(other.id.split('.')[1]).not.toBe([...ids][0]!.split('.')[1])
  })

  it('malformed ids are no session, without an error', async () => {
    const { sessions } = sessionsOn(backend)
    for (const id of [
      '',
      'nope',
      'x'.repeat(35),
      '../../etc',
      '{tag}',
      `${'a'.repeat(22)}.${'b'.repeat(11)}*`,
    ]) {
      expect(await sessions.get(id)).toBeUndefined()
      expect(await sessions.update(id, { a: 1 })).toBeUndefined()
      expect(await sessions.touch(id)).toBe(false)
      expect(await sessions.destroy(id)).toBe(false)
    }
    // A well-formed id nobody issued is no session either.
    expect(await sessions.get(`${'a'.repeat(22)}.${'b'.repeat(12)}`)).toBeUndefined()
  })

  it('list, destroyAll and count', async () => {
    const { sessions } = sessionsOn(backend)
    const a1 = await sessions.create('alice', { n: 1 }, { ip: '1.1.1.1' })
    const a2 = await sessions.create('alice', { n: 2 })
    const b1 = await sessions.create('bob', { n: 3 })
    const alice = await sessions.list('alice')
    expect(alice.map((s) => s.id).sort()).toEqual([a1.id, a2.id].sort())
    expect(alice.find((s) => s.id === a1.id)?.ip).toBe('1.1.1.1')
    expect(await sessions.count()).toBe(3)
    expect(await sessions.destroyAll('alice')).toBe(2)
    expect(await sessions.list('alice')).toEqual([])
    expect(await sessions.get(a1.id)).toBeUndefined()
    expect(await sessions.get(b1.id)).toBeDefined()
    expect(await sessions.count()).toBe(1)
  })

  it('maxPerUser evicts the session that would expire first, or refuses', async () => {
    const evicting = sessionsOn(backend, { maxPerUser: 2 }).sessions
    const destroyed: string[] = []
    evicting.on('destroyed', (event) => destroyed.push(`${event.reason}:${event.id}`))
    const first = await evicting.create('carol', {})
    const second = await evicting.create('carol', {})
    const third = await evicting.create('carol', {})
    expect(await evicting.get(first.id)).toBeUndefined()
    expect(await evicting.get(second.id)).toBeDefined()
    expect(await evicting.get(third.id)).toBeDefined()
    expect(destroyed).toEqual([`evicted:${first.id.slice(0, 6)}…`])

    const refusing = sessionsOn(backend, { maxPerUser: 1, onLimit: 'refuse' }).sessions
    await refusing.create('dave', {})
    await expect(refusing.create('dave', {})).rejects.toMatchObject({ code: 'E_SESSION_LIMIT', limit: 1 })
    expect(await refusing.list('dave')).toHaveLength(1)
  })

  it('data must be a plain object and fit in maxBytes', async () => {
    const { sessions } = sessionsOn(backend, { maxBytes: 1_000 })
    await expect(sessions.create('', {})).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(sessions.create('u', [] as never)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(sessions.create('u', { big: 'x'.repeat(2_000) })).rejects.toMatchObject({
      code: 'E_VALUE_TOO_LARGE',
    })
    const session = await sessions.create('u', { small: 1 })
    await expect(sessions.update(session.id, { big: 'x'.repeat(2_000) })).rejects.toMatchObject({
      code: 'E_VALUE_TOO_LARGE',
    })
    expect((await sessions.get(session.id))?.data).toEqual({ small: 1 })
  })

  it('keeps Dates, Maps and nested values', async () => {
    const { sessions } = sessionsOn(backend)
    const data = {
      at: new Date(1_700_000_000_000),
      seen: new Map([[1, 'a']]),
      deep: { list: [1, { x: null }] },
    }
    const session = await sessions.create('u', data)
    expect((await sessions.get(session.id))?.data).toEqual(data)
  })
})
