import { existsSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPortFree, type RedisSentinelHandle, startSentinel } from '../src/index.js'

describe('startSentinel', () => {
  let sentinel: RedisSentinelHandle
  let client: Redis

  beforeAll(async () => {
    sentinel = await startSentinel()
    client = new Redis({ sentinels: sentinel.sentinels, name: sentinel.masterName })
    client.on('error', () => {})
  }, 40_000)

  afterAll(async () => {
    client?.disconnect()
    await sentinel?.stop()
  })

  it('starts a master, a replica and 3 sentinels under the default name', () => {
    expect(sentinel.masterName).toBe('cachekit')
    expect(sentinel.sentinels).toHaveLength(3)
    expect(sentinel.master.role).toBe('master')
    expect(sentinel.replica.role).toBe('replica')
    expect(sentinel.master.port).not.toBe(sentinel.replica.port)
  })

  it('serves a sentinel-aware ioredis client', async () => {
    await client.set('greeting', 'hello')
    expect(await client.get('greeting')).toBe('hello')
  })

  it('fails over to the replica when the master is killed; the client writes again', async () => {
    const oldMaster = sentinel.master
    const oldReplica = sentinel.replica
    await sentinel.kill(oldMaster)
    const promoted = await sentinel.waitForFailover(20_000)
    expect(promoted).toBe(oldReplica)
    expect(sentinel.master).toBe(promoted)
    expect(oldMaster.role).toBe('replica')
    await client.set('after', 'failover')
    expect(await client.get('after')).toBe('failover')
    const direct = new Redis(promoted.url)
    expect(await direct.get('after')).toBe('failover')
    direct.disconnect()
  }, 30_000)

  it('restarts the old master, which the sentinels turn into a replica', async () => {
    const old = sentinel.replica
    await sentinel.restart(old)
    const info = new Redis(old.url)
    expect(await info.info('replication')).toContain(`master_port:${sentinel.master.port}`)
    info.disconnect()
  }, 40_000)

  it('stop() frees every port and deletes the dir', async () => {
    const ports = [sentinel.master, ...sentinel.replicas, ...sentinel.sentinelNodes].map((node) => node.port)
    expect(ports).toHaveLength(5)
    client.disconnect()
    await sentinel.stop()
    expect(existsSync(sentinel.dir)).toBe(false)
    for (const port of ports) expect(await isPortFree(port)).toBe(true)
  })
})
