import { randomUUID } from 'node:crypto'
import { createRedis } from '@cachekit/redis'
import { type RedisClusterHandle, type RedisClusterNode, startCluster } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { recorder, resources, sleep, waitFor, watch } from './helpers.js'

const open = resources()
afterEach(() => open.closeAll())

describe('a cluster master fails over', () => {
  let cluster: RedisClusterHandle

  beforeAll(async () => {
    // Our own cluster: the shared one must never lose a node.
    cluster = await startCluster()
  })

  afterAll(async () => {
    await cluster.stop()
  })

  it('moves the pattern subscriber to another node and the shard channels to the promoted replica', async () => {
    const channelPrefix = `failover:${randomUUID()}:`
    const client = open.client(createRedis({ cluster: cluster.startupNodes }))
    const sender = open.bus(redisBus({ client, channelPrefix }))
    const bus = open.bus(
      redisBus({ client: open.client(createRedis({ cluster: cluster.startupNodes })), channelPrefix }),
    )
    const { losses } = watch(bus)
    const pattern = recorder()
    await bus.subscribePattern('p:*', pattern.handler)

    // The master that holds the pattern subscriber, and a shard channel of that same master.
    const masters = await cluster.masters()
    let victim: RedisClusterNode | undefined
    for (const master of masters) {
      const probe = open.client(new Redis(master.url))
      const list = (await probe.client('LIST')) as string
      if (list.includes(`name=cachekit-bus:${bus.instanceId}`)) victim = master
    }
    expect(victim).toBeDefined()
    const probe = open.client(new Redis(victim!.url))
    let channel = ''
    for (let i = 0; i < 500 && !channel; i++) {
      const slot = Number(await probe.cluster('KEYSLOT', `${channelPrefix}s-${i}`))
      if (victim!.slots.some(([low, high]) => slot >= low && slot <= high)) channel = `s-${i}`
    }
    expect(channel).not.toBe('')
    const sharded = recorder()
    await bus.subscribe(channel, sharded.handler)
    await sender.publish(channel, 'before')
    await sender.publish('p:1', 'before', { sharded: false })
    await waitFor('both messages', () => sharded.messages.length === 1 && pattern.messages.length === 1)

    await cluster.kill(victim!)
    await cluster.waitForFailover(victim!)
    await waitFor('a drop', () => losses.some((loss) => loss.phase === 'dropped'))

    await waitFor(
      'both subscriptions to deliver again',
      async () => {
        if (sharded.messages.length < 2) await sender.publish(channel, 'after').catch(() => undefined)
        if (pattern.messages.length < 2)
          await sender.publish('p:1', 'after', { sharded: false }).catch(() => undefined)
        await sleep(100)
        return sharded.messages.length >= 2 && pattern.messages.length >= 2
      },
      20_000,
    )
    expect(sharded.messages.at(-1)?.payload).toBe('after')
    expect(pattern.messages.at(-1)?.payload).toBe('after')
    await waitFor('restored after every drop', () => {
      const dropped = losses.filter((loss) => loss.phase === 'dropped').length
      return losses.filter((loss) => loss.phase === 'restored').length === dropped
    })
  }, 60_000)
})
