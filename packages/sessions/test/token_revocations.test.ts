import { describe, expect, it } from 'vitest'
import { tokenRevocations } from '../src/index.js'
import { onCleanup, redisClient, uniquePrefix, until } from './helpers.js'

describe.each(['standalone', 'cluster'] as const)('token revocations on %s', (backend) => {
  function revocations() {
    const revocations = tokenRevocations({ client: redisClient(backend), prefix: uniquePrefix() })
    onCleanup(() => revocations.close())
    return revocations
  }
  const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s

  it('revoke keeps a token revoked until its expiry, and no longer', async () => {
    const list = revocations()
    expect(await list.isRevoked('jti-1')).toBe(false)
    expect(await list.revoke('jti-1', inSeconds(3600))).toBe(true)
    expect(await list.revoke('jti-1', inSeconds(3600))).toBe(false)
    expect(await list.isRevoked('jti-1')).toBe(true)
    expect(await list.isRevoked('jti-2')).toBe(false)
    // An already expired token needs no entry.
    expect(await list.revoke('jti-old', inSeconds(-10))).toBe(false)
    // A Date works too; the entry goes with the token.
    expect(await list.revoke('jti-short', new Date(Date.now() + 150))).toBe(true)
    expect(await list.isRevoked('jti-short')).toBe(true)
    expect(await until(async () => !(await list.isRevoked('jti-short')))).toBe(true)
  })

  it('revokeAllForUser revokes the tokens issued before it, not those after', async () => {
    const list = revocations()
    const before = inSeconds(-60)
    await list.revokeAllForUser('user-1')
    expect(await list.isRevoked('any', { userId: 'user-1', issuedAt: before })).toBe(true)
    expect(await list.isRevoked('any', { userId: 'user-1', issuedAt: inSeconds(5) })).toBe(false)
    expect(await list.isRevoked('any', { userId: 'user-2', issuedAt: before })).toBe(false)
    // Without the claims only the id is checked.
    expect(await list.isRevoked('any')).toBe(false)
  })

  it('the cut-off only moves forward: an older revokeAllForUser arriving late changes nothing', async () => {
    const list = revocations()
    const now = Date.now()
    await list.revokeAllForUser('user-3', now)
    await list.revokeAllForUser('user-3', now - 60_000)
    expect(await list.isRevoked('t', { userId: 'user-3', issuedAt: new Date(now - 30_000) })).toBe(true)
  })

  it('bad input is a typed error, not a Redis call', async () => {
    const list = revocations()
    await expect(list.revoke('', inSeconds(10))).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(list.revoke('x', Number.NaN)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(list.revokeAllForUser('')).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
  })
})
