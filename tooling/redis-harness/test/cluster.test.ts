import { existsSync } from 'node:fs'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPortFree, type RedisClusterHandle, type RedisClusterNode, startCluster } from '../src/index.js'

describe('startCluster', () => {
  let cluster: RedisClusterHandle
  let client: Cluster

  beforeAll(async () => {
    cluster = await startCluster()
    // Default options: the failover test shows what a plain client sees.
    client = new Cluster(cluster.startupNodes)
    client.on('error', () => {})
  }, 40_000)

  afterAll(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  it('has 3 masters with a replica each, all slots served', async () => {
    const masters = await cluster.masters()
    const replicas = await cluster.replicas()
    expect(masters).toHaveLength(3)
    expect(replicas).toHaveLength(3)
    const served = masters.flatMap((m) => m.slots).reduce((sum, [from, to]) => sum + to - from + 1, 0)
    expect(served).toBe(16_384)
    for (const replica of replicas) expect(masters.map((m) => m.id)).toContain(replica.masterId)
  })

  it('serves SET/GET across slots through an ioredis Cluster client', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`)
    for (const key of keys) await client.set(key, `value of ${key}`)
    for (const key of keys) expect(await client.get(key)).toBe(`value of ${key}`)
  })

  it('fails a killed master over to its replica, and the old master rejoins as a replica', async () => {
    const masters = await cluster.masters()
    const victim = masters[0] as RedisClusterNode
    const victimSlots = [...victim.slots]
    const key = await keyServedBy(client, victim)
    await client.set(key, 'before failover')
    await cluster.kill(victim)
    expect(victim.running).toBe(false)
    const promoted = await cluster.waitForFailover(victim, 20_000)
    expect(promoted.id).not.toBe(victim.id)
    expect(promoted.role).toBe('master')
    expect(promoted.slots).toEqual(victimSlots)
    expect(victim.slots).toEqual([])

    await client.set(key, 'after failover')
    expect(await client.get(key)).toBe('after failover')
    await cluster.restart(victim, 20_000)
    expect(victim.running).toBe(true)
    expect(victim.role).toBe('replica')
    expect(victim.masterId).toBe(promoted.id)
  }, 45_000)

  it('stop() frees every port and bus port and deletes the dir', async () => {
    const ports = cluster.nodes.flatMap((node) => [node.port, node.port + 10_000])
    client.disconnect()
    await cluster.stop()
    expect(existsSync(cluster.dir)).toBe(false)
    for (const port of ports) expect(await isPortFree(port)).toBe(true)
  })
})

/** A key served by `node`: asks the cluster for the slot of candidate names (CLUSTER KEYSLOT). */
async function keyServedBy(client: Cluster, node: RedisClusterNode): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const key = `victim:${i}`
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key))
    if (node.slots.some(([from, to]) => slot >= from && slot <= to)) return key
  }
  throw new Error(`no key found for node ${node.port}`)
}
