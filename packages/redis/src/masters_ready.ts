import type { Cluster, Redis } from 'ioredis'

/**
 * `undefined` when every master connection of a Cluster can take commands now; otherwise a promise
 * that settles once each connection still being set up is ready or gone, or after `timeoutMs`.
 *
 * Why writes wait for it: ioredis opens a Cluster's node connections lazily, and with the offline
 * queue off (as `createRedis` sets it), a command for a node whose connection is still being set up
 * is failed with "Connection is closed." and sent again some 100 ms later. A later write of the same
 * key can then reach Redis first and be overwritten by the older one. Holding the batch until the
 * node is ready keeps writes in the order they were made.
 */
export function mastersReady(client: Cluster, timeoutMs: number): Promise<void> | undefined {
  const pending = client
    .nodes('master')
    .filter((node) => node.status !== 'ready' && node.status !== 'end' && node.status !== 'close')
  if (pending.length === 0) return undefined
  return new Promise<void>((resolve) => {
    let left = pending.length
    const listeners = new Map<Redis, () => void>()
    const finish = () => {
      clearTimeout(timer)
      for (const [node, listener] of listeners) for (const event of SETTLED) node.off(event, listener)
      resolve()
    }
    const timer = setTimeout(finish, timeoutMs)
    for (const node of pending) {
      const listener = () => {
        for (const event of SETTLED) node.off(event, listener)
        listeners.delete(node)
        if (--left === 0) finish()
      }
      listeners.set(node, listener)
      for (const event of SETTLED) node.on(event, listener)
      // A connection ioredis has not opened yet opens on its first command; open it now instead.
      if (node.status === 'wait') node.connect().catch(() => undefined)
    }
  })
}

/** Events after which a node connection is no longer being set up. */
const SETTLED = ['ready', 'end', 'close'] as const
