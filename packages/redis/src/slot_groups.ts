import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'

/** Keys of one batch that live on one node, grouped by slot (multi-key commands need one slot). */
export interface NodeGroup {
  /** Slot -> positions (in the batch) of the keys in that slot. */
  slots: Map<number, number[]>
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Cluster).isCluster === true
}

/**
 * Groups a batch by the node that serves each slot, from the client's current slot map, so a batch
 * costs one pipeline, one round trip, per node. A stale map only costs a redirect: ioredis follows
 * MOVED replies.
 */
export function groupByNode(client: Cluster, keys: readonly string[]): NodeGroup[] {
  const nodes = new Map<string, NodeGroup>()
  for (const [position, key] of keys.entries()) {
    const slot = calculateSlot(key)
    const node = client.slots[slot]?.[0] ?? `slot:${slot}`
    let group = nodes.get(node)
    if (!group) {
      group = { slots: new Map() }
      nodes.set(node, group)
    }
    const positions = group.slots.get(slot)
    if (positions) positions.push(position)
    else group.slots.set(slot, [position])
  }
  return [...nodes.values()]
}

/** Groups keys by slot only, for commands sent straight to the node that returned them (SCAN). */
export function groupBySlot(keys: readonly string[]): string[][] {
  const slots = new Map<number, string[]>()
  for (const key of keys) {
    const slot = calculateSlot(key)
    const group = slots.get(slot)
    if (group) group.push(key)
    else slots.set(slot, [key])
  }
  return [...slots.values()]
}
