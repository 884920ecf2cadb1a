/**
 * What one cluster node believes about the cluster: `CLUSTER NODES` and `CLUSTER INFO`, parsed.
 * Nodes can disagree for a moment after a failover, so the harness compares the views of all of them.
 */
import { parseFields, type RedisAddress, redisCommand } from './probe.js'

/** An inclusive range of hash slots. */
export type SlotRange = readonly [from: number, to: number]

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeEntry {
  readonly id: string
  readonly port: number
  readonly role: 'master' | 'replica'
  /** For a replica: the id of its master. */
  readonly masterId: string | undefined
  /** `fail` or `fail?` is set: this node considers it down. */
  readonly failing: boolean
  /** The line of the node that answered. */
  readonly myself: boolean
  /** Slot ranges it serves (masters only). */
  readonly slots: readonly SlotRange[]
  /** `connected` or `disconnected`. */
  readonly linkState: string
}

/** One node's view: its `CLUSTER NODES` and `CLUSTER INFO`. */
export interface ClusterView {
  readonly entries: readonly ClusterNodeEntry[]
  readonly info: ReadonlyMap<string, string>
}

/** Total number of hash slots of a Redis Cluster. */
export const slotCount = 16_384

/** Asks the node at `address` for its view. */
export async function readClusterView(address: RedisAddress): Promise<ClusterView> {
  const [nodes, info] = await Promise.all([
    redisCommand(address, ['CLUSTER', 'NODES']),
    redisCommand(address, ['CLUSTER', 'INFO']),
  ])
  return { entries: parseClusterNodes(String(nodes)), info: parseFields(String(info), ':') }
}

/** Parses the reply of `CLUSTER NODES`. */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  const entries: ClusterNodeEntry[] = []
  for (const line of text.split('\n')) {
    // <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <epoch> <link> <slot>...
    const fields = line.trim().split(' ')
    const [id, address, flagList, master, , , , linkState, ...slotFields] = fields
    if (!id || !address || !flagList || !master || !linkState) continue
    const flags = new Set(flagList.split(','))
    if (flags.has('handshake') || flags.has('noaddr')) continue
    const hostPort = address.split('@')[0] ?? ''
    entries.push({
      id,
      port: Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
      role: flags.has('slave') ? 'replica' : 'master',
      masterId: master === '-' ? undefined : master,
      failing: flags.has('fail') || flags.has('fail?'),
      myself: flags.has('myself'),
      slots: slotFields.flatMap(parseSlotField),
      linkState,
    })
  }
  return entries
}

function parseSlotField(field: string): SlotRange[] {
  // `[slot->-id]` and `[slot-<-id]` are slots being migrated, not served.
  if (field.startsWith('[')) return []
  const [from, to] = field.split('-').map(Number)
  if (from === undefined || !Number.isInteger(from)) return []
  return [[from, to ?? from]]
}

/** True when `ranges` cover every slot of `wanted`. */
export function coversSlots(ranges: readonly SlotRange[], wanted: readonly SlotRange[]): boolean {
  return wanted.every(([from, to]) => {
    for (let slot = from; slot <= to; slot++) {
      if (!ranges.some(([a, b]) => slot >= a && slot <= b)) return false
    }
    return true
  })
}
