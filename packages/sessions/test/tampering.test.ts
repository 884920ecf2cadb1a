import { randomBytes } from 'node:crypto'
import { inspectEncoded } from '@cachekit/serializers'
import type { Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import type { SessionEventMap } from '../src/index.js'
import { sessionsOn, uniquePrefix } from './helpers.js'

const KEY_1 = randomBytes(32)
const KEY_2 = randomBytes(32)

/** The Redis key of a session, as keys.ts lays it out. */
function sessionKey(prefix: string, id: string): string {
  const [random, tag] = id.split('.')
  return `${prefix}{${tag}}:s:${random}`
}

async function flipByte(client: Redis | Cluster, key: string, field: string, at: (length: number) => number) {
  const bytes = (await client.hgetBuffer(key, field))!
  const index = at(bytes.length)
  bytes[index] = bytes[index]! ^ 0x01
  await client.hset(key, field, bytes)
}

describe.each(['standalone', 'cluster'] as const)('tampering on %s', (backend) => {
  describe.each([
    ['plain (CRC-32)', undefined],
    ['encrypted (AES-256-GCM)', { keys: { k1: KEY_1 } }],
  ] as const)('%s', (_label, encryption) => {
    function setup() {
      const prefix = uniquePrefix()
      const { sessions, client } = sessionsOn<{ role: string; name: string }>(backend, {
        prefix,
        ...(encryption ? { encryption } : {}),
      })
      const tampers: Array<SessionEventMap['tamper']> = []
      sessions.on('tamper', (event) => tampers.push(event))
      return { sessions, client: client!, prefix, tampers }
    }

    it('a flipped bit in a data field, in the metadata, or in a header byte is no session, and an event', async () => {
      const { sessions, client, prefix, tampers } = setup()
      for (const [field, at] of [
        ['d:role', (n: number) => n - 1],
        ['~m', (n: number) => Math.floor(n / 2)],
        ['d:name', () => 1],
      ] as const) {
        const session = await sessions.create('u', { role: 'admin', name: 'Ada' })
        await flipByte(client, sessionKey(prefix, session.id), field, at)
        expect(await sessions.get(session.id)).toBeUndefined()
      }
      expect(tampers).toHaveLength(3)
      for (const event of tampers) expect(event.error.code).toBe('E_CODEC_DECODE')
    })

    it('a value copied from another session, or to another field, is no session', async () => {
      const { sessions, client, prefix, tampers } = setup()
      const victim = await sessions.create('victim', { role: 'reader', name: 'V' })
      const admin = await sessions.create('admin', { role: 'admin', name: 'A' })
      const victimKey = sessionKey(prefix, victim.id)
      const adminKey = sessionKey(prefix, admin.id)
      // Sessions of two users sit in different slots: copy through the client.
      await client.hset(victimKey, 'd:role', (await client.hgetBuffer(adminKey, 'd:role'))!)
      expect(await sessions.get(victim.id)).toBeUndefined()
      const other = await sessions.create('victim', { role: 'reader', name: 'admin' })
      const otherKey = sessionKey(prefix, other.id)
      await client.hset(otherKey, 'd:role', (await client.hgetBuffer(otherKey, 'd:name'))!)
      expect(await sessions.get(other.id)).toBeUndefined()
      expect(tampers).toHaveLength(2)
    })

    it('truncated, emptied or garbage fields are no session', async () => {
      const { sessions, client, prefix, tampers } = setup()
      const values = [
        (b: Buffer) => b.subarray(0, b.length - 1),
        () => Buffer.alloc(0),
        () => randomBytes(40),
      ]
      for (const change of values) {
        const session = await sessions.create('u', { role: 'r', name: 'n' })
        const key = sessionKey(prefix, session.id)
        await client.hset(key, 'd:role', change((await client.hgetBuffer(key, 'd:role'))!))
        expect(await sessions.get(session.id)).toBeUndefined()
      }
      expect(tampers).toHaveLength(3)
    })
  })

  it('with encryption the data is not readable at rest, and unencrypted values planted there are refused', async () => {
    const prefix = uniquePrefix()
    const { sessions, client } = sessionsOn<{ secret: string }>(backend, {
      prefix,
      encryption: { keys: { k1: KEY_1 } },
    })
    const session = await sessions.create('u', { secret: 'swordfish' })
    const raw = (await client!.hgetallBuffer(sessionKey(prefix, session.id))) as Record<string, Buffer>
    for (const bytes of Object.values(raw)) expect(bytes.includes('swordfish')).toBe(false)
    expect(inspectEncoded(raw['d:secret']!).transforms).toEqual([{ name: 'aes256gcm', keyId: 'k1' }])
    // Plaintext written by someone without the key (a correct CRC, the right binding) is refused.
    const plain = sessionsOn<{ secret: string }>(backend, { prefix }).sessions
    const planted = await plain.create('u', { secret: 'planted' })
    expect(await sessions.get(planted.id)).toBeUndefined()
  })

  it('keys rotate: old keys still decrypt, new writes use the first key', async () => {
    const prefix = uniquePrefix()
    const before = sessionsOn<{ n: number }>(backend, { prefix, encryption: { keys: { k1: KEY_1 } } })
    const old = await before.sessions.create('u', { n: 1 })
    const after = sessionsOn<{ n: number }>(backend, {
      prefix,
      encryption: { keys: { k2: KEY_2, k1: KEY_1 } },
    })
    expect((await after.sessions.get(old.id))?.data).toEqual({ n: 1 })
    await after.sessions.update(old.id, { n: 2 })
    const key = sessionKey(prefix, old.id)
    expect(inspectEncoded((await after.client!.hgetBuffer(key, 'd:n'))!).transforms).toEqual([
      { name: 'aes256gcm', keyId: 'k2' },
    ])
    // The untouched metadata is still under k1, and both read.
    expect(inspectEncoded((await after.client!.hgetBuffer(key, '~m'))!).transforms).toEqual([
      { name: 'aes256gcm', keyId: 'k1' },
    ])
    expect((await after.sessions.get(old.id))?.data).toEqual({ n: 2 })
    // A process that only has the new key cannot read what k1 wrote: no session, not a crash.
    const onlyNew = sessionsOn<{ n: number }>(backend, { prefix, encryption: { keys: { k2: KEY_2 } } })
    expect(await onlyNew.sessions.get(old.id)).toBeUndefined()
  })
})
