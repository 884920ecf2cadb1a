import { randomUUID } from 'node:crypto'
import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { type RedisBus, redisBus } from '../src/index.js'
import { recorder, resources, sleep, waitFor, watch } from './helpers.js'

const cluster = requireTopology(inject('redis'), 'cluster')
const open = resources()
afterEach(() => open.closeAll())

/** One plain connection per node of the cluster, to ask each about its subscribers. */
const nodes: Redis[] = []
beforeAll(() => {
  for (const url of cluster.urls) nodes.push(new Redis(url))
})
afterAll(async () => {
  for (const node of nodes) await node.quit()
})

/** The node that serves `channel`'s slot as master, by asking the cluster. */
async function ownerOf(channel: string): Promise<Redis> {
  const [first] = nodes
  const slot = Number(await first!.cluster('KEYSLOT', channel))
  const ranges = await first!.cluster('SLOTS')
  const range = ranges.find(([low, high]) => slot >= low && slot <= high)!
  return nodes.find((node) => node.options.port === range[2]?.[1])!
}

/** Channel names whose slots belong to every master: one channel per master at least. */
async function channelsOnEveryMaster(prefix: string, perMaster = 2): Promise<string[]> {
  const byMaster = new Map<number, string[]>()
  for (let i = 0; i < 200; i++) {
    const channel = `ch-${i}`
    const owner = await ownerOf(prefix + channel)
    const list = byMaster.get(owner.options.port!) ?? []
    if (list.length < perMaster) list.push(channel)
    byMaster.set(owner.options.port!, list)
    if (byMaster.size === 3 && [...byMaster.values()].every((list) => list.length === perMaster)) break
  }
  expect(byMaster.size).toBe(3)
  return [...byMaster.values()].flat()
}

function clusterBus(channelPrefix: string): RedisBus {
  return open.bus(
    redisBus({ client: open.client(createRedis({ cluster: cluster.startupNodes })), channelPrefix }),
  )
}

describe('redisBus on a 3-master cluster', () => {
  it('uses sharded pub/sub by default: messages on channels of every shard all arrive, in order, none of its own', async () => {
    const channelPrefix = `cluster-test:${randomUUID()}:`
    const channels = await channelsOnEveryMaster(channelPrefix)
    const a = clusterBus(channelPrefix)
    const b = clusterBus(channelPrefix)
    const { losses, errors } = watch(b)
    const atB = recorder<number>()
    const atA = recorder<number>()
    for (const channel of channels) {
      await b.subscribe(channel, atB.handler)
      await a.subscribe(channel, atA.handler)
    }
    // SSUBSCRIBE on the shard that owns each channel, not SUBSCRIBE.
    for (const channel of channels) {
      const owner = await ownerOf(channelPrefix + channel)
      expect(await owner.pubsub('SHARDNUMSUB', channelPrefix + channel)).toEqual([channelPrefix + channel, 2])
      expect(await owner.pubsub('NUMSUB', channelPrefix + channel)).toEqual([channelPrefix + channel, 0])
    }

    for (const seq of [1, 2, 3]) for (const channel of channels) await a.publish(channel, seq)

    await waitFor('every message at B', () => atB.messages.length === channels.length * 3)
    for (const channel of channels) {
      const mine = atB.messages.filter((message) => message.channel === channel)
      expect(mine.map(({ seq, payload, instanceId }) => ({ seq, payload, instanceId }))).toEqual(
        [1, 2, 3].map((n) => ({ seq: n, payload: n, instanceId: a.instanceId })),
      )
    }
    await waitFor('A to ignore its own', () => a.stats().ignoredOwn === channels.length * 3)
    expect(atA.messages).toEqual([])
    expect(losses).toEqual([])
    expect(errors).toEqual([])
  })

  it('patterns use classic PSUBSCRIBE on one node and see messages published without sharding', async () => {
    const channelPrefix = `cluster-test:${randomUUID()}:`
    const channels = await channelsOnEveryMaster(channelPrefix, 1)
    const a = clusterBus(channelPrefix)
    const b = clusterBus(channelPrefix)
    const pattern = recorder()
    await b.subscribePattern('ch-*', pattern.handler)
    const classic = recorder()
    await b.subscribe('classic', classic.handler, { sharded: false })

    for (const channel of channels) await a.publish(channel, `sharded ${channel}`) // not seen by a pattern
    for (const channel of channels) await a.publish(channel, `classic ${channel}`, { sharded: false })
    await a.publish('classic', 'hello', { sharded: false })

    await waitFor(
      'the classic messages',
      () => pattern.messages.length === channels.length && classic.messages.length === 1,
    )
    await sleep(50)
    expect(pattern.payloads().sort()).toEqual(channels.map((channel) => `classic ${channel}`).sort())
  })

  it('after CLIENT KILL TYPE pubsub on every node: `disconnected` dropped then restored, and messages arrive again', async () => {
    const channelPrefix = `cluster-test:${randomUUID()}:`
    const channels = await channelsOnEveryMaster(channelPrefix, 1)
    const a = clusterBus(channelPrefix)
    const b = clusterBus(channelPrefix)
    const { losses } = watch(b)
    const sharded = recorder()
    const pattern = recorder()
    for (const channel of channels) await b.subscribe(channel, sharded.handler)
    await b.subscribePattern('ch-*', pattern.handler)

    for (const node of nodes) await node.client('KILL', 'TYPE', 'pubsub')

    await waitFor('both connections kinds dropped and restored', () => {
      const dropped = losses.filter((loss) => loss.phase === 'dropped').length
      const restored = losses.filter((loss) => loss.phase === 'restored').length
      return dropped >= 2 && restored === dropped
    })
    for (const loss of losses) expect(loss.reason).toBe('disconnected')

    await waitFor(
      'every sharded and pattern channel to deliver again',
      async () => {
        for (const channel of channels) {
          if (
            !sharded.messages.some((message) => message.channel === channel && message.payload === 'after')
          ) {
            await a.publish(channel, 'after').catch(() => undefined)
          }
          if (
            !pattern.messages.some((message) => message.channel === channel && message.payload === 'after')
          ) {
            await a.publish(channel, 'after', { sharded: false }).catch(() => undefined)
          }
        }
        await sleep(100)
        return channels.every(
          (channel) =>
            sharded.messages.some((message) => message.channel === channel && message.payload === 'after') &&
            pattern.messages.some((message) => message.channel === channel && message.payload === 'after'),
        )
      },
      15_000,
    )
  })
})
