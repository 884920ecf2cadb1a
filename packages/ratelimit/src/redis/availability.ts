import type { Cluster, Redis } from 'ioredis'

const LOST = new Set(['reconnecting', 'close', 'end'])

/**
 * Whether to ask Redis at all. A client that lost its connection (reconnecting, closed) is not
 * asked: ioredis would queue the command until it reconnects. A first connection still on its
 * way is asked, under the timeout. After a failure (a timeout on a
 * frozen server, an error) Redis is skipped for `cooldownMs`; then one decision probes it while the
 * others keep going to the fallback, and the first success hands every decision back to Redis.
 * A `ready` event hands back at once.
 */
export class Availability {
  private downUntil = 0
  private probing = false
  private down = false
  private everReady: boolean
  private readonly onReady = (): void => {
    this.everReady = true
    this.downUntil = 0
    this.probing = false
    this.markUp()
  }
  private readonly onLost = (): void => this.markDown()

  constructor(
    private readonly client: Redis | Cluster,
    private readonly cooldownMs: number,
    private readonly onChange: (up: boolean) => void,
  ) {
    this.everReady = client.status === 'ready'
    client.on('ready', this.onReady)
    client.on('close', this.onLost)
    client.on('end', this.onLost)
  }

  /** True when this decision should go to Redis. */
  usable(): boolean {
    const status = this.client.status
    if (status !== 'ready' && (this.everReady || LOST.has(status))) {
      // A first connection may still be on its way: those commands wait in ioredis' queue, under
      // the timeout. A connection that was up and is not is an outage.
      this.markDown()
      return false
    }
    if (this.downUntil === 0) return true
    if (this.probing || performance.now() < this.downUntil) return false
    this.probing = true
    return true
  }

  succeeded(): void {
    if (this.downUntil === 0) return
    this.downUntil = 0
    this.probing = false
    this.markUp()
  }

  failed(): void {
    this.downUntil = performance.now() + this.cooldownMs
    this.probing = false
    this.markDown()
  }

  stop(): void {
    this.client.off('ready', this.onReady)
    this.client.off('close', this.onLost)
    this.client.off('end', this.onLost)
  }

  private markDown(): void {
    if (this.down) return
    this.down = true
    this.onChange(false)
  }

  private markUp(): void {
    if (!this.down) return
    this.down = false
    this.onChange(true)
  }
}
