/**
 * Raw references that batch: the commands issued in one tick leave as one batch, as cachekit's store
 * sends the reads (and, with the write path of issue 17, the writes) made in one tick. On a
 * standalone server a batch of reads is one MGET and a batch of writes one pipeline of SET PX; on a
 * Cluster, one pipeline per node, of one MGET per hash slot (multi-key commands never cross a slot)
 * or of the SETs, all nodes at once. Nothing else: no frame, no timeout, no stats.
 */
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'

type Client = Redis | Cluster

interface Waiter<R> {
  resolve: (value: R) => void
  reject: (error: unknown) => void
}

/**
 * Gathers the calls made in one tick and hands them to `flush` as one array (`process.nextTick`
 * runs after the current microtasks, so every call issued while they drain joins the batch).
 */
export function perTick<T, R>(flush: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let items: T[] = []
  let waiters: Array<Waiter<R>> = []
  const send = () => {
    const batch = items
    const batchWaiters = waiters
    items = []
    waiters = []
    flush(batch).then(
      (values) => {
        for (let i = 0; i < batchWaiters.length; i++) batchWaiters[i]!.resolve(values[i]!)
      },
      (error: unknown) => {
        for (const waiter of batchWaiters) waiter.reject(error)
      },
    )
  }
  return (item) =>
    new Promise((resolve, reject) => {
      if (items.length === 0) process.nextTick(send)
      items.push(item)
      waiters.push({ resolve, reject })
    })
}

function isCluster(client: Client): client is Cluster {
  return (client as Cluster).isCluster === true
}

/** Positions of `keys` grouped by the node serving their slot, then by slot. */
function byNodeAndSlot(cluster: Cluster, keys: readonly string[]): Array<Map<number, number[]>> {
  const nodes = new Map<string, Map<number, number[]>>()
  for (let position = 0; position < keys.length; position++) {
    const slot = calculateSlot(keys[position]!)
    const node = cluster.slots[slot]?.[0] ?? `slot:${slot}`
    let slots = nodes.get(node)
    if (!slots) {
      slots = new Map()
      nodes.set(node, slots)
    }
    const positions = slots.get(slot)
    if (positions) positions.push(position)
    else slots.set(slot, [position])
  }
  return [...nodes.values()]
}

function replies(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (!results) throw new Error('[bench] pipeline discarded')
  return results.map(([error, reply]) => {
    if (error) throw error
    return reply
  })
}

/** MGET of `keys` in their order: one command, or on a Cluster one pipeline per node of per-slot MGETs. */
export async function mgetBuffers(client: Client, keys: readonly string[]): Promise<Array<Buffer | null>> {
  if (!isCluster(client)) return client.mgetBuffer(...keys)
  const out = new Array<Buffer | null>(keys.length).fill(null)
  await Promise.all(
    byNodeAndSlot(client, keys).map(async (slots) => {
      const pipeline = client.pipeline()
      for (const positions of slots.values()) pipeline.mgetBuffer(...positions.map((p) => keys[p]!))
      const values = replies(await pipeline.exec()) as Array<Array<Buffer | null>>
      let slot = 0
      for (const positions of slots.values()) {
        const slotValues = values[slot++]!
        for (let i = 0; i < positions.length; i++) out[positions[i]!] = slotValues[i] ?? null
      }
    }),
  )
  return out
}

/** Every `getBuffer` issued in one tick sent as one batch (`mgetBuffers`). */
export function coalescedGetBuffer(client: Client): (key: string) => Promise<Buffer | null> {
  return perTick((keys: string[]) => mgetBuffers(client, keys))
}

export interface Write {
  key: string
  value: Buffer
  ttlMs: number
}

/** SET PX of every write, one pipeline (on a Cluster, one per node, all at once). */
export async function setPxPipelined(client: Client, writes: readonly Write[]): Promise<unknown[]> {
  const groups = isCluster(client)
    ? byNodeAndSlot(
        client,
        writes.map((w) => w.key),
      ).map((slots) => [...slots.values()].flat())
    : [writes.map((_, i) => i)]
  const out = new Array<unknown>(writes.length)
  await Promise.all(
    groups.map(async (positions) => {
      const pipeline = client.pipeline()
      for (const p of positions) pipeline.set(writes[p]!.key, writes[p]!.value, 'PX', writes[p]!.ttlMs)
      const values = replies(await pipeline.exec())
      for (let i = 0; i < positions.length; i++) out[positions[i]!] = values[i]
    }),
  )
  return out
}

/** Every SET PX issued in one tick sent as one pipeline (per node on a Cluster). */
export function coalescedSetPx(client: Client): (write: Write) => Promise<unknown> {
  return perTick((writes: Write[]) => setPxPipelined(client, writes))
}
