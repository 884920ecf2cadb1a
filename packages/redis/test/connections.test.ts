import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PortReservation, requireTopology, reservePort, startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest'
import { createRedis } from '../src/index.js'

type Client = ReturnType<typeof createRedis>
const clients: Client[] = []
const connect = (...args: Parameters<typeof createRedis>) => {
  const client = createRedis(...args)
  clients.push(client)
  return client
}

afterEach(async () => {
  vi.unstubAllEnvs()
  await Promise.all(clients.splice(0).map((client) => client.quit().catch(() => client.disconnect())))
})

describe('createRedis', () => {
  it('connects with an ACL user and a database from the URL', async () => {
    await using server = await startStandalone({
      args: ['--user', 'app', 'on', '>app-secret', '~cache:*', '+@all'],
    })
    const client = connect(`redis://app:app-secret@127.0.0.1:${server.port}/3`)
    await client.set('cache:x', 'in db 3')
    expect(await client.acl('WHOAMI')).toBe('app')
    await expect(client.set('other:x', 'no')).rejects.toThrow(/NOPERM/)
    const db0 = new Redis(server.port, '127.0.0.1')
    const db3 = new Redis(server.port, '127.0.0.1', { db: 3 })
    expect([await db0.get('cache:x'), await db3.get('cache:x')]).toEqual([null, 'in db 3'])
    await Promise.all([db0.quit(), db3.quit()])
  })

  it('reads REDIS_HOST, REDIS_PORT, REDIS_PASSWORD and REDIS_DB from the environment', async () => {
    await using server = await startStandalone({ password: 'env-secret' })
    vi.stubEnv('REDIS_URL', '')
    vi.stubEnv('REDIS_HOST', '127.0.0.1')
    vi.stubEnv('REDIS_PORT', String(server.port))
    vi.stubEnv('REDIS_PASSWORD', 'env-secret')
    vi.stubEnv('REDIS_DB', '2')
    const client = connect()
    await client.set('from-env', '1')
    expect(await client.client('INFO')).toMatch(/ db=2 /)
  })

  it('fails fast instead of queueing while Redis is unreachable', async () => {
    const server = await startStandalone()
    // A command timeout far longer than the test: a queued command could only end by a reconnect.
    const client = connect({ url: server.url, commandTimeout: 60_000 })
    await client.ping()
    await server.stop()
    // Refused at once by ioredis because the offline queue is off, rather than queued for a reconnect.
    await expect(client.get('k')).rejects.toThrow(/enableOfflineQueue options is false/)
  })

  it('finds the master through Sentinel', async () => {
    const sentinel = requireTopology(inject('redis'), 'sentinel')
    const client = connect({ sentinels: sentinel.sentinels, name: sentinel.masterName })
    await client.set('through-sentinel', 'yes')
    expect(await client.get('through-sentinel')).toBe('yes')
    expect(await client.info('replication')).toMatch(/role:master/)
  })

  it('connects to a cluster from host:port strings', async () => {
    const cluster = requireTopology(inject('redis'), 'cluster')
    const client = connect({ cluster: cluster.startupNodes.map(({ host, port }) => `${host}:${port}`) })
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.set(`spread:${i}`, String(i))))
    expect(await client.get('spread:42')).toBe('42')
    expect((client as import('ioredis').Cluster).nodes('master')).toHaveLength(3)
  })

  describe('TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cachekit-tls-'))
    let tlsPort: PortReservation
    afterAll(() => {
      tlsPort?.release()
      rmSync(dir, { recursive: true, force: true })
    })

    it('connects over rediss:// with a CA', async () => {
      const file = (name: string) => join(dir, name)
      const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
      writeFileSync(file('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
      openssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=cachekit test CA',
        '-keyout',
        file('ca.key'),
        '-out',
        file('ca.crt'),
      )
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-keyout',
        file('server.key'),
        '-out',
        file('server.csr'),
      )
      openssl(
        'x509',
        '-req',
        '-in',
        file('server.csr'),
        '-CA',
        file('ca.crt'),
        '-CAkey',
        file('ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-out',
        file('server.crt'),
        '-extfile',
        file('san.ext'),
      )
      tlsPort = await reservePort()
      await using server = await startStandalone({
        args: [
          '--tls-port',
          String(tlsPort.port),
          '--tls-cert-file',
          file('server.crt'),
          '--tls-key-file',
          file('server.key'),
          '--tls-ca-cert-file',
          file('ca.crt'),
          '--tls-auth-clients',
          'no',
        ],
      })
      expect(server.port).not.toBe(tlsPort.port)
      const client = connect({
        url: `rediss://localhost:${tlsPort.port}`,
        tls: { ca: readFileSync(file('ca.crt')) },
      })
      await client.set('over-tls', 'encrypted')
      expect(await client.get('over-tls')).toBe('encrypted')
      const untrusting = connect({ url: `rediss://localhost:${tlsPort.port}`, connectTimeout: 500 })
      await expect(untrusting.ping()).rejects.toThrow()
    })
  })
})
