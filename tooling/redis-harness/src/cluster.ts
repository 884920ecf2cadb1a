import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import {
  type ClusterNodeEntry,
  type ClusterView,
  coversSlots,
  readClusterView,
  type SlotRange,
  slotCount,
} from './cluster_view.js'
import { RedisHarnessError } from './errors.js'
import { redisInfo } from './probe.js'
import { findRedisCli } from './redis_binary.js'
import { type HostAndPort, type RedisNode, ServerNode } from './redis_node.js'
import { dataNodeConfig } from './server_config.js'
import type { RedisServerProcess } from './server_process.js'
import { TopologyRun } from './topology_run.js'
import { waitFor } from './wait.js'

/** Options of `startCluster`. */
export interface ClusterOptions {
  /** Number of masters; redis-cli needs at least 3. Default 3. */
  masters?: number
  /** Replicas of each master. Default 1. */
  replicasPerMaster?: number
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before it is failed over. Small, so
   * failovers in tests take a few seconds. Default 1000 ms.
   */
  nodeTimeoutMs?: number
  /** Extra redis-server flags for every node. */
  args?: readonly string[]
  /** Bound for starting the nodes and forming the cluster. Default 30 000 ms. */
  startTimeoutMs?: number
}

/** One node of a harness cluster. `role`, `slots` and `masterId` are as of the harness' last look. */
export interface RedisClusterNode extends RedisNode {
  /** The cluster node id (40 hex chars), kept across restarts (it lives in the node's `nodes.conf`). */
  readonly id: string
  /** Its role as of the last look at the cluster (start, `masters()`, failover, restart). */
  readonly role: 'master' | 'replica'
  /** The slot ranges it serves (empty for a replica), as of the last look. */
  readonly slots: readonly SlotRange[]
  /** For a replica, the id of its master, as of the last look. */
  readonly masterId: string | undefined
}

/** A cluster started by `startCluster`. */
export interface RedisClusterHandle {
  /** The topology's temp dir, holding one dir per node (config, `server.log`, `nodes.conf`). */
  readonly dir: string
  /** Every node, masters first as created. The objects stay the same; their `role` follows failovers. */
  readonly nodes: readonly RedisClusterNode[]
  /** `{ host, port }` of every node, for `new Cluster(handle.startupNodes)`. */
  readonly startupNodes: HostAndPort[]
  /** Asks the cluster which nodes serve slots now, updates every node's `role`, and returns the masters. */
  masters(): Promise<RedisClusterNode[]>
  /** Like `masters()`, for the replicas. */
  replicas(): Promise<RedisClusterNode[]>
  /** SIGKILLs a node, as a crash would. The cluster notices after `nodeTimeoutMs`. */
  kill(node: RedisClusterNode): Promise<void>
  /**
   * Starts a node again on its port with its dir (so with its id and `nodes.conf`), then waits until
   * it has rejoined: a master that was failed over comes back as a replica of its successor.
   * @param timeoutMs bound for the rejoin. Default 20 000 ms.
   */
  restart(node: RedisClusterNode, timeoutMs?: number): Promise<void>
  /**
   * Waits until another node serves all the slots `killedMaster` served and every running node
   * reports `cluster_state:ok` again, and resolves with that promoted node.
   * @param timeoutMs default 20 000 ms.
   * @throws {RedisHarnessError} `E_REDIS_HARNESS_TIMEOUT` with the nodes' log tails.
   */
  waitForFailover(killedMaster: RedisClusterNode, timeoutMs?: number): Promise<RedisClusterNode>
  /**
   * Waits until every running node reports `cluster_state:ok` with all 16384 slots served, they all
   * agree on who is master of what, and every running replica's link to its master is up.
   * @param timeoutMs default 20 000 ms.
   */
  waitForHealthy(timeoutMs?: number): Promise<void>
  /** Kills every node, frees their ports and deletes their dirs. Idempotent. */
  stop(): Promise<void>
  /** `stop()`, for `await using cluster = await startCluster()`. */
  [Symbol.asyncDispose](): Promise<void>
}

const execFileAsync = promisify(execFile)

/**
 * Starts a Redis Cluster on free 127.0.0.1 ports: `masters` masters (default 3) with
 * `replicasPerMaster` replicas each (default 1), created with `redis-cli --cluster create`, and
 * resolves once every node reports `cluster_state:ok`, all 16384 slots are served and every
 * replica is in sync.
 *
 * @throws {RedisServerMissingError} when there is no redis-server binary.
 * @throws {RedisHarnessError} `E_REDIS_CLI_MISSING`, `E_REDIS_CLI_FAILED`, `E_REDIS_SERVER_EXITED`
 *   or `E_REDIS_HARNESS_TIMEOUT`, with the log tails.
 * @example
 * const cluster = await startCluster()
 * const client = new Cluster(cluster.startupNodes)
 * const [victim] = await cluster.masters()
 * await cluster.kill(victim!)
 * const promoted = await cluster.waitForFailover(victim!)
 */
export async function startCluster(options: ClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3
  const replicasPerMaster = options.replicasPerMaster ?? 1
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000
  const timeoutMs = options.startTimeoutMs ?? 30_000
  if (
    !Number.isInteger(masters) ||
    masters < 3 ||
    !Number.isInteger(replicasPerMaster) ||
    replicasPerMaster < 0
  ) {
    throw new RedisHarnessError(
      'E_REDIS_HARNESS_USAGE',
      `a cluster needs at least 3 masters and 0 or more replicas each (got ${masters} and ${replicasPerMaster})`,
    )
  }
  const run = TopologyRun.create('cluster')
  return run.startOrStop(async () => {
    const cli = findRedisCli(run.bin)
    const deadline = Date.now() + timeoutMs
    const total = masters * (1 + replicasPerMaster)
    const servers = await run.launchAll(
      Array.from({ length: total }, (_, index) => ({
        label: `cluster-${index}`,
        busPort: true,
        config: (port: number, dir: string) => [
          ...dataNodeConfig(port, dir),
          'cluster-enabled yes',
          'cluster-config-file nodes.conf',
          `cluster-node-timeout ${nodeTimeoutMs}`,
          // A replica may take over however long its link was down: tests kill nodes in any order.
          'cluster-replica-validity-factor 0',
        ],
        args: options.args ?? [],
      })),
      timeoutMs,
    )
    await createCluster(cli, servers, replicasPerMaster, Math.max(deadline - Date.now(), 1_000))
    const cluster = new HarnessCluster(run, servers, timeoutMs)
    await cluster.waitForHealthy(Math.max(deadline - Date.now(), 1_000))
    await cluster.masters()
    return cluster
  })
}

async function createCluster(
  cli: string,
  servers: readonly RedisServerProcess[],
  replicasPerMaster: number,
  timeoutMs: number,
): Promise<void> {
  const args = ['--cluster', 'create', ...servers.map((server) => `${server.host}:${server.port}`)]
  args.push('--cluster-replicas', String(replicasPerMaster), '--cluster-yes')
  try {
    await execFileAsync(cli, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 })
  } catch (error) {
    const output =
      error instanceof Error && 'stdout' in error
        ? `${error.stdout}${'stderr' in error ? error.stderr : ''}`
        : ''
    throw new RedisHarnessError('E_REDIS_CLI_FAILED', `${cli} ${args.join(' ')} failed`, {
      logTail: `${output.trim().split('\n').slice(-20).join('\n')}\n${servers.map((s) => s.logTail(10)).join('\n')}`,
      cause: error,
    })
  }
}

class ClusterNodeView extends ServerNode implements RedisClusterNode {
  id = ''
  role: 'master' | 'replica' = 'master'
  slots: readonly SlotRange[] = []
  masterId: string | undefined = undefined

  override toJSON(): { host: string; port: number; running: boolean } & Record<string, unknown> {
    return { ...super.toJSON(), id: this.id, role: this.role }
  }
}

class HarnessCluster implements RedisClusterHandle {
  readonly nodes: readonly ClusterNodeView[]
  readonly #run: TopologyRun
  readonly #startTimeoutMs: number

  constructor(run: TopologyRun, servers: readonly RedisServerProcess[], startTimeoutMs: number) {
    this.#run = run
    this.#startTimeoutMs = startTimeoutMs
    this.nodes = servers.map((server) => new ClusterNodeView(server))
  }

  get dir(): string {
    return this.#run.dir
  }

  get startupNodes(): HostAndPort[] {
    return this.nodes.map(({ host, port }) => ({ host, port }))
  }

  async masters(): Promise<RedisClusterNode[]> {
    await this.#refresh()
    return this.nodes.filter((node) => node.role === 'master' && node.slots.length > 0)
  }

  async replicas(): Promise<RedisClusterNode[]> {
    await this.#refresh()
    return this.nodes.filter((node) => node.role === 'replica')
  }

  kill(node: RedisClusterNode): Promise<void> {
    return this.#own(node).server.kill()
  }

  async restart(node: RedisClusterNode, timeoutMs = 20_000): Promise<void> {
    const own = this.#own(node)
    const deadline = Date.now() + timeoutMs
    await own.server.restart(Math.min(this.#startTimeoutMs, timeoutMs))
    await this.waitForHealthy(Math.max(deadline - Date.now(), 1_000))
    await this.#refresh()
  }

  async waitForFailover(killedMaster: RedisClusterNode, timeoutMs = 20_000): Promise<RedisClusterNode> {
    const killed = this.#own(killedMaster)
    const slots = killed.slots
    if (killed.role !== 'master' || slots.length === 0) {
      throw new RedisHarnessError(
        'E_REDIS_HARNESS_USAGE',
        `node ${killed.port} served no slots when last seen; pass a master from masters() taken before the kill`,
      )
    }
    let promoted: ClusterNodeView | undefined
    await waitFor(
      `a replica to take over slots of master ${killed.port}`,
      async () => {
        const views = await this.#liveViews()
        const problem = healthProblem(views, this.nodes.length)
        if (problem) return problem
        const [first] = views
        const owner = first?.view.entries.find(
          (entry) => entry.id !== killed.id && entry.role === 'master' && coversSlots(entry.slots, slots),
        )
        promoted = this.nodes.find((node) => node.id === owner?.id && node.running)
        return promoted ? undefined : `no running master serves the slots of ${killed.port} yet`
      },
      { timeoutMs, intervalMs: 100, logTail: () => this.#run.logTails() },
    )
    await this.#refresh()
    return promoted!
  }

  async waitForHealthy(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      'the cluster to be healthy (cluster_state:ok on every running node, views agree, replicas in sync)',
      async () =>
        healthProblem(await this.#liveViews(), this.nodes.length) ?? (await this.#replicationProblem()),
      { timeoutMs, intervalMs: 100, logTail: () => this.#run.logTails() },
    )
  }

  stop(): Promise<void> {
    return this.#run.stop()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }

  #own(node: RedisClusterNode): ClusterNodeView {
    const own = this.nodes.find((candidate) => candidate === node)
    if (!own) {
      throw new RedisHarnessError('E_REDIS_HARNESS_USAGE', `node ${node.port} is not a node of this cluster`)
    }
    return own
  }

  async #liveViews(): Promise<LiveView[]> {
    const live = this.nodes.filter((node) => node.running)
    return Promise.all(live.map(async (node) => ({ node, view: await readClusterView(node.server) })))
  }

  async #replicationProblem(): Promise<string | undefined> {
    for (const node of this.nodes) {
      if (!node.running) continue
      const info = await redisInfo(node.server, 'replication')
      if (info.get('role') === 'slave' && info.get('master_link_status') !== 'up') {
        return `replica ${node.port}: master_link_status:${info.get('master_link_status')}`
      }
    }
    return undefined
  }

  /** Takes roles and slots from a running node's view (they agree once the cluster is healthy). */
  async #refresh(): Promise<void> {
    let view: ClusterView | undefined
    for (const node of this.nodes) {
      if (!node.running) continue
      try {
        view = await readClusterView(node.server)
        break
      } catch {
        // Try the next one.
      }
    }
    if (!view) throw new RedisHarnessError('E_REDIS_HARNESS_USAGE', 'no running cluster node answers')
    for (const entry of view.entries) {
      const node = this.nodes.find((candidate) => candidate.port === entry.port)
      if (!node) continue
      node.id = entry.id
      node.role = entry.role
      node.slots = entry.slots
      node.masterId = entry.masterId
    }
  }
}

interface LiveView {
  readonly node: ClusterNodeView
  readonly view: ClusterView
}

/** Undefined when every running node is happy and they agree on each other; else the first problem. */
function healthProblem(views: readonly LiveView[], knownNodes: number): string | undefined {
  for (const { node, view } of views) {
    const state = view.info.get('cluster_state')
    if (state !== 'ok') return `node ${node.port}: cluster_state:${state}`
    const slotsOk = Number(view.info.get('cluster_slots_ok'))
    if (slotsOk !== slotCount) return `node ${node.port}: cluster_slots_ok:${slotsOk}`
    const known = Number(view.info.get('cluster_known_nodes'))
    if (known !== knownNodes) return `node ${node.port}: cluster_known_nodes:${known} of ${knownNodes}`
    for (const other of views) {
      const entry = view.entries.find((candidate) => candidate.port === other.node.port)
      if (!entry) return `node ${node.port} does not know ${other.node.port}`
      if (entry.failing) return `node ${node.port} sees ${other.node.port} as failing`
      const self = other.view.entries.find((candidate) => candidate.myself)
      // A restarted master believes it still serves its old slots until the others tell it otherwise.
      if (
        entry.role !== self?.role ||
        entry.masterId !== self.masterId ||
        JSON.stringify(entry.slots) !== JSON.stringify(self.slots)
      ) {
        return `node ${node.port} sees ${other.node.port} as ${describeEntry(entry)}, it says ${describeEntry(self)}`
      }
    }
  }
  return undefined
}

function describeEntry(entry: ClusterNodeEntry | undefined): string {
  if (!entry) return 'nothing'
  return entry.role === 'master' ? `master of ${JSON.stringify(entry.slots)}` : `replica of ${entry.masterId}`
}
