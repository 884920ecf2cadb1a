import { describe, expect, it } from 'vitest'
import type { SessionEventMap } from '../src/index.js'
import { type Backend, backends, sessionsOn, uniquePrefix, until } from './helpers.js'

describe.each(backends)('expiry and binding on %s', (backend: Backend) => {
  it('a session ends at its ttl; a read of it then says expired, once', async () => {
    const { sessions } = sessionsOn(backend, { ttl: '150ms' })
    const expired: string[] = []
    sessions.on('expired', (event) => expired.push(event.id))
    const session = await sessions.create('u', {})
    expect(await until(async () => (await sessions.get(session.id)) === undefined)).toBe(true)
    expect(await sessions.get(session.id)).toBeUndefined()
    expect(expired).toEqual([`${session.id.slice(0, 6)}…`])
    expect(await sessions.list('u')).toEqual([])
  })

  it('sliding extends on every get, and absoluteTimeout caps it', async () => {
    const { sessions } = sessionsOn(backend, { ttl: '10s', sliding: true, absoluteTimeout: '400ms' })
    const session = await sessions.create('u', {})
    expect(session.expiresAt - Date.now()).toBeLessThanOrEqual(400)
    const read = await sessions.get(session.id)
    // The absolute deadline (Redis time at creation + 400 ms) does not move, however the get slides:
    // createdAt is the app's clock before the round trip, so it is no exact bound on a loaded machine.
    expect(read!.expiresAt).toBeLessThanOrEqual(session.expiresAt + 1)
    expect(await until(async () => (await sessions.get(session.id)) === undefined)).toBe(true)
  })

  it('sliding moves the expiry forward; without it a get does not', async () => {
    const sliding = sessionsOn(backend, { ttl: '1h', sliding: true }).sessions
    const fixed = sessionsOn(backend, { ttl: '1h' }).sessions
    for (const [sessions, moves] of [
      [sliding, true],
      [fixed, false],
    ] as const) {
      const session = await sessions.create('u', {})
      await until(() => Date.now() > session.expiresAt - 3600_000 + 20)
      const read = await sessions.get(session.id)
      if (moves) expect(read!.expiresAt).toBeGreaterThan(session.expiresAt)
      else expect(Math.abs(read!.expiresAt - session.expiresAt)).toBeLessThanOrEqual(2)
    }
  })

  it('expired sessions leave the user index and the count by themselves', async () => {
    const prefix = uniquePrefix()
    const { sessions, client } = sessionsOn(backend, { ttl: '150ms', prefix })
    const session = await sessions.create('idx', {})
    await sessions.create('idx', {})
    expect(await sessions.list('idx')).toHaveLength(2)
    expect(await until(async () => (await sessions.count()) === 0)).toBe(true)
    expect(await sessions.list('idx')).toEqual([])
    if (client) {
      // Nothing is kept for good: the index key expires by itself, an hour after its last session.
      const index = `${prefix}{${session.id.split('.')[1]}}:u`
      const pttl = await client.pttl(index)
      expect(pttl === -2 || (pttl > 0 && pttl <= 3600_000)).toBe(true)
    }
  })

  it('bind: a session is no session from another IP or user agent, with an event; off by default', async () => {
    const open = sessionsOn(backend).sessions
    const created = await open.create('u', {}, { ip: '1.1.1.1', userAgent: 'A' })
    expect(await open.get(created.id, { ip: '2.2.2.2', userAgent: 'B' })).toBeDefined()

    const { sessions } = sessionsOn(backend, { bind: { ip: true, userAgent: true } })
    const mismatches: Array<SessionEventMap['bind-mismatch']> = []
    sessions.on('bind-mismatch', (event) => mismatches.push(event))
    const session = await sessions.create('u', {}, { ip: '1.1.1.1', userAgent: 'A' })
    expect(await sessions.get(session.id, { ip: '1.1.1.1', userAgent: 'A' })).toBeDefined()
    expect(await sessions.get(session.id, { ip: '2.2.2.2', userAgent: 'A' })).toBeUndefined()
    expect(await sessions.get(session.id, { ip: '1.1.1.1', userAgent: 'B' })).toBeUndefined()
    expect(await sessions.get(session.id)).toBeUndefined()
    expect(mismatches.map((event) => event.binding)).toEqual(['ip', 'userAgent', 'ip'])
    // A mismatch does not end the session: the right client still has it.
    expect(await sessions.get(session.id, { ip: '1.1.1.1', userAgent: 'A' })).toBeDefined()
  })
})

describe('options are checked where they are given', () => {
  it.each([
    [{ memory: true, ttl: 'soon' }, 'E_INVALID_DURATION'],
    [{ memory: true, onLimit: 'drop' }, 'E_INVALID_OPTION'],
    [{ memory: true, maxPerUser: 0 }, 'E_INVALID_OPTION'],
    [{ memory: true, prefix: '{x}' }, 'E_INVALID_OPTION'],
    [{ memory: true, encryption: { keys: {} } }, 'E_INVALID_OPTION'],
    [{ memory: true, encryption: { keys: { k: 'short' } } }, 'E_INVALID_OPTION'],
    [{}, 'E_INVALID_OPTION'],
  ])('%o throws %s', async (options, code) => {
    const { createSessions } = await import('../src/index.js')
    expect(() => createSessions(options as never)).toThrow(expect.objectContaining({ code }))
  })
})
