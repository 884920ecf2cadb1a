import type { Cluster } from 'ioredis'
import type { Subscriber, SubscriberEvents, SubscriptionKind } from './subscriber.js'

/**
 * Sharded pub/sub on a Redis Cluster (SSUBSCRIBE, Redis 7): a message published with SPUBLISH stays on
 * the shard that owns its channel's slot instead of crossing the cluster bus to every node, so the
 * load spreads with the shards. A subscriber therefore needs one connection per master.
 *
 * ioredis (5.11, as tested here) does that when a Cluster is created with `shardedSubscribers: true`:
 * one subscriber connection per master, SSUBSCRIBE routed by slot, and after a connection ends
 * (killed, failover) a slot-map refresh, a new connection to the slot's owner and the shard channels
 * subscribed again, announced with `subscribersReady`. Without the option, ioredis sends every
 * SSUBSCRIBE to one random node: for a channel of another node's slot the MOVED reply is swallowed and
 * the call never settles, and no `smessage` is ever forwarded. Hence a dedicated Cluster duplicated
 * from the client with the option set.
 *
 * `subscribersReady` also follows a reset in which a node could not be reached yet; that node's
 * subscriber then ends, which is reported as another drop, and restored later.
 *
 * A sharded subscriber connection that ends makes the Cluster emit `-node`: that is the drop.
 */
export class ClusterShardedSubscriber implements Subscriber {
  private readonly cluster: Cluster
  private up = false
  private down = false
  private closed = false

  constructor(open: () => Cluster, events: SubscriberEvents) {
    const cluster = open()
    this.cluster = cluster
    cluster.on('smessageBuffer', (channel: Buffer, data: Buffer) => events.message('sharded', channel, data))
    const drop = () => {
      if (this.closed || !this.up) return
      this.up = false
      this.down = true
      events.dropped()
    }
    cluster.on('-node', drop)
    cluster.on('close', drop)
    cluster.on('reconnecting', drop)
    cluster.on('end', drop)
    cluster.on('subscribersReady', () => {
      if (this.closed || !this.down) return
      this.down = false
      this.up = true
      events.restored()
    })
    // Node and connection errors: the drop and the refresh that follows are what matter.
    cluster.on('error', () => undefined)
    cluster.on('node error', () => undefined)
    cluster.on('nodeError', () => undefined)
  }

  async add(kind: SubscriptionKind, name: string): Promise<void> {
    assertSharded(kind)
    await this.cluster.ssubscribe(name)
    if (!this.down) this.up = true
  }

  async remove(kind: SubscriptionKind, name: string): Promise<void> {
    assertSharded(kind)
    await this.cluster.sunsubscribe(name)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.cluster.status === 'ready') await this.cluster.quit().catch(() => this.cluster.disconnect())
    else this.cluster.disconnect()
  }
}

function assertSharded(kind: SubscriptionKind): void {
  // The bus routes channels and patterns to a NodeSubscriber; reaching here is a bug of ours.
  if (kind !== 'sharded') throw new Error(`a sharded subscriber cannot ${kind}-subscribe`)
}
