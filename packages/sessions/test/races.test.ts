import { describe, expect, it } from 'vitest'
import type { SessionEventMap } from '../src/index.js'
import { type Backend, backends, sessionsOn, uniquePrefix } from './helpers.js'

describe.each(backends)('races on %s', (backend: Backend) => {
  it('a slow request finishing after logout does not bring the session back', async () => {
    const prefix = uniquePrefix()
    const { sessions, client } = sessionsOn(backend, { prefix })
    const refused: Array<SessionEventMap['refused']> = []
    sessions.on('refused', (event) => refused.push(event))
    const session = await sessions.create('user-1', { cart: [] as string[] })
    // Request A reads the session and is slow; request B logs out meanwhile.
    const seenByA = await sessions.get(session.id)
    expect(seenByA).toBeDefined()
    expect(await sessions.destroy(session.id)).toBe(true)
    // A now writes what it computed: as a patch, as a function, and a touch.
    expect(await sessions.update(session.id, { cart: ['sku-1'] })).toBeUndefined()
    expect(await sessions.update(session.id, (data) => ({ ...data, cart: ['sku-2'] }))).toBeUndefined()
    expect(await sessions.touch(session.id)).toBe(false)
    expect(await sessions.regenerate(session.id)).toBeUndefined()
    expect(await sessions.get(session.id)).toBeUndefined()
    expect(refused.map((event) => `${event.operation}:${event.reason}`)).toEqual([
      'update:destroyed',
      'update:destroyed',
      'touch:destroyed',
      'regenerate:destroyed',
    ])
    if (client) {
      // Left on Redis: no session key (a plain write, as a whole-blob SET store makes, would have
      // brought it back), and the tombstone that lets the scripts refuse and say why.
      const [random, tag] = session.id.split('.')
      expect(await client.exists(`${prefix}{${tag}}:s:${random}`)).toBe(0)
      expect(await client.pttl(`${prefix}{${tag}}:t:${random}`)).toBeGreaterThan(23 * 3600_000)
    }
  })

  it('after destroyAll, every session of the user stays gone', async () => {
    const { sessions } = sessionsOn(backend)
    const all = await Promise.all([1, 2, 3].map(() => sessions.create('user-2', { n: 0 })))
    expect(await sessions.destroyAll('user-2')).toBe(3)
    for (const session of all) {
      expect(await sessions.update(session.id, { n: 1 })).toBeUndefined()
      expect(await sessions.get(session.id)).toBeUndefined()
    }
  })

  it('50 concurrent patches of different fields all survive', async () => {
    const { sessions } = sessionsOn<Record<string, number>>(backend)
    const session = await sessions.create('user-3', {})
    await Promise.all(Array.from({ length: 50 }, (_, i) => sessions.update(session.id, { [`f${i}`]: i })))
    const data = (await sessions.get(session.id))!.data
    expect(Object.keys(data)).toHaveLength(50)
    for (let i = 0; i < 50; i++) expect(data[`f${i}`]).toBe(i)
  })

  it('concurrent functional updates are compare-and-set: none is lost', async () => {
    const { sessions } = sessionsOn<{ count: number }>(backend, { maxRetries: 50 })
    const session = await sessions.create('user-4', { count: 0 })
    await Promise.all(
      Array.from({ length: 20 }, () => sessions.update(session.id, (data) => ({ count: data.count + 1 }))),
    )
    expect((await sessions.get(session.id))!.data.count).toBe(20)
  })

  it('a functional update that keeps losing gives up with E_SESSION_CONFLICT and writes nothing', async () => {
    const { sessions } = sessionsOn<{ count: number; other?: number }>(backend, { maxRetries: 2 })
    const conflicts: Array<SessionEventMap['conflict']> = []
    sessions.on('conflict', (event) => conflicts.push(event))
    const session = await sessions.create('user-5', { count: 0 })
    let calls = 0
    const attempt = sessions.update(session.id, async (data) => {
      calls++
      // Another request writes between this read and this write, every time.
      await sessions.update(session.id, { other: calls })
      return { ...data, count: 99 }
    })
    await expect(attempt).rejects.toMatchObject({ code: 'E_SESSION_CONFLICT', attempts: 3 })
    expect(calls).toBe(3)
    expect(conflicts).toHaveLength(1)
    expect((await sessions.get(session.id))!.data).toEqual({ count: 0, other: 3 })
  })

  it('a regenerate racing an update keeps the update, under the new id', async () => {
    const { sessions } = sessionsOn<Record<string, number>>(backend)
    const session = await sessions.create('user-6', { a: 1 })
    const [, regenerated] = await Promise.all([
      sessions.update(session.id, { b: 2 }),
      sessions.regenerate(session.id),
    ])
    // Either the update landed first (the new session has it) or it was refused on the old id.
    const data = (await sessions.get(regenerated!.id))!.data
    expect(data.a).toBe(1)
    expect(await sessions.get(session.id)).toBeUndefined()
  })
})
