import { RedisHarnessError } from './errors.js'
import { redisCommand, redisInfo } from './probe.js'
import { type HostAndPort, type RedisNode, type RedisNodeRole, ServerNode } from './redis_node.js'
import { dataNodeConfig } from './server_config.js'
import type { RedisServerProcess } from './server_process.js'
import { TopologyRun } from './topology_run.js'
import { waitFor } from './wait.js'

/** Options of `startSentinel`. */
export interface SentinelOptions {
  /** The name the sentinels monitor the master under (ioredis' `name`). Default `'cachekit'`. */
  masterName?: string
  /** Number of replicas of the master. Default 1. */
  replicas?: number
  /** Number of sentinels. Default 3. */
  sentinels?: number
  /** Sentinels that must agree the master is down. Default: a majority of them. */
  quorum?: number
  /** `down-after-milliseconds`: how long the master may not answer before it is failed over. Default 1000. */
  downAfterMs?: number
  /** `failover-timeout`; a failed attempt is retried after twice this. Default 3000. */
  failoverTimeoutMs?: number
  /** Extra redis-server flags for the master and replicas (not the sentinels). */
  args?: readonly string[]
  /** Bound for starting everything and for the sentinels to discover each other. Default 30 000 ms. */
  startTimeoutMs?: number
}

/** One server of a sentinel topology. `role` is as of the harness' last look. */
export interface RedisSentinelNode extends RedisNode {
  /** `sentinel` for a sentinel; for a data node, its role as of start or the last failover. */
  readonly role: RedisNodeRole
}

/** A master, its replicas and the sentinels watching them, started by `startSentinel`. */
export interface RedisSentinelHandle {
  /** The topology's temp dir, holding one dir per server (config, `server.log`). */
  readonly dir: string
  /** The monitored master's name, for ioredis' `name`. */
  readonly masterName: string
  /** `{ host, port }` of every sentinel, for ioredis' `sentinels`. */
  readonly sentinels: HostAndPort[]
  /** The sentinel processes, to kill or restart one. */
  readonly sentinelNodes: readonly RedisSentinelNode[]
  /** The current master, as of start or the last `waitForFailover`. */
  readonly master: RedisSentinelNode
  /** The first of `replicas`. */
  readonly replica: RedisSentinelNode
  /** The data nodes that are not the current master (after a failover, the old master is one). */
  readonly replicas: readonly RedisSentinelNode[]
  /** SIGKILLs a node (data node or sentinel), as a crash would. */
  kill(node: RedisSentinelNode): Promise<void>
  /**
   * Starts a node again on its port with its dir and config (which Redis and Sentinel may have
   * rewritten). Waits until it answers; a data node that is not the current master also until it
   * replicates from the master. A killed old master comes back as a master and is turned into a
   * replica by the sentinels, which wait 8 s before doing so (Sentinel's own rule), hence the
   * default bound of 30 000 ms.
   */
  restart(node: RedisSentinelNode, timeoutMs?: number): Promise<void>
  /**
   * Waits until every running sentinel names another server than `master` as the master, with the
   * failover finished, and resolves with that node (also the new `master`).
   * @param timeoutMs default 20 000 ms.
   * @throws {RedisHarnessError} `E_REDIS_HARNESS_TIMEOUT` with the log tails.
   */
  waitForFailover(timeoutMs?: number): Promise<RedisSentinelNode>
  /** Kills everything, frees the ports and deletes the dirs. Idempotent. */
  stop(): Promise<void>
  /** `stop()`, for `await using sentinel = await startSentinel()`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Starts a master, `replicas` replicas (default 1) and `sentinels` sentinels (default 3) monitoring
 * it as `masterName` (default `'cachekit'`), on free 127.0.0.1 ports, and resolves once the replicas
 * are in sync and every sentinel knows the master, every replica and every other sentinel.
 *
 * @throws {RedisServerMissingError} when there is no redis-server binary.
 * @throws {RedisHarnessError} `E_REDIS_SERVER_EXITED` or `E_REDIS_HARNESS_TIMEOUT`, with the log tails.
 * @example
 * const sentinel = await startSentinel()
 * const client = new Redis({ sentinels: sentinel.sentinels, name: sentinel.masterName })
 * await sentinel.kill(sentinel.master)
 * const promoted = await sentinel.waitForFailover()
 */
export async function startSentinel(options: SentinelOptions = {}): Promise<RedisSentinelHandle> {
  const masterName = options.masterName ?? 'cachekit'
  const replicaCount = options.replicas ?? 1
  const sentinelCount = options.sentinels ?? 3
  const quorum = options.quorum ?? Math.floor(sentinelCount / 2) + 1
  const downAfterMs = options.downAfterMs ?? 1_000
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 3_000
  const timeoutMs = options.startTimeoutMs ?? 30_000
  if (!/^[\w.-]+$/.test(masterName)) {
    throw new RedisHarnessError(
      'E_REDIS_HARNESS_USAGE',
      `masterName must be letters, digits, _ . - (got ${masterName})`,
    )
  }
  if (replicaCount < 1 || sentinelCount < 1 || quorum < 1 || quorum > sentinelCount) {
    throw new RedisHarnessError(
      'E_REDIS_HARNESS_USAGE',
      `need 1+ replicas, 1+ sentinels and 1 <= quorum <= sentinels (got ${replicaCount}, ${sentinelCount}, ${quorum})`,
    )
  }
  const run = TopologyRun.create('sentinel')
  return run.startOrStop(async () => {
    const deadline = Date.now() + timeoutMs
    const left = (): number => Math.max(deadline - Date.now(), 1_000)
    const args = options.args ?? []
    const master = await run.launch({ label: 'master', config: dataNodeConfig, args }, left())
    const replicas = await run.launchAll(
      Array.from({ length: replicaCount }, (_, index) => ({
        label: `replica-${index}`,
        config: (port: number, dir: string) => [
          ...dataNodeConfig(port, dir),
          `replicaof 127.0.0.1 ${master.port}`,
        ],
        args,
      })),
      left(),
    )
    // Sentinels learn the replicas from the master's INFO, which they refresh only every 10 s once
    // they are up; with the replicas already attached they see them on their first look.
    await waitFor(
      'the replicas to sync with the master',
      async () => firstReplicationProblem(replicas, master.port),
      { timeoutMs: left(), logTail: () => run.logTails() },
    )
    const sentinels = await run.launchAll(
      Array.from({ length: sentinelCount }, (_, index) => ({
        label: `sentinel-${index}`,
        sentinel: true,
        config: (port: number, dir: string) => [
          'bind 127.0.0.1',
          `port ${port}`,
          `dir ${JSON.stringify(dir)}`,
          'daemonize no',
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${masterName} 1`,
        ],
      })),
      left(),
    )
    const handle = new HarnessSentinel(run, masterName, master, replicas, sentinels, timeoutMs)
    await handle.waitForSentinelsReady(left())
    return handle
  })
}

class SentinelNodeView extends ServerNode implements RedisSentinelNode {
  role: RedisNodeRole

  constructor(server: RedisServerProcess, role: RedisNodeRole) {
    super(server)
    this.role = role
  }

  override toJSON(): { host: string; port: number; running: boolean } & Record<string, unknown> {
    return { ...super.toJSON(), role: this.role }
  }
}

class HarnessSentinel implements RedisSentinelHandle {
  readonly masterName: string
  readonly sentinelNodes: readonly SentinelNodeView[]
  readonly #dataNodes: readonly SentinelNodeView[]
  readonly #run: TopologyRun
  readonly #startTimeoutMs: number

  constructor(
    run: TopologyRun,
    masterName: string,
    master: RedisServerProcess,
    replicas: readonly RedisServerProcess[],
    sentinels: readonly RedisServerProcess[],
    startTimeoutMs: number,
  ) {
    this.#run = run
    this.masterName = masterName
    this.#startTimeoutMs = startTimeoutMs
    this.#dataNodes = [
      new SentinelNodeView(master, 'master'),
      ...replicas.map((replica) => new SentinelNodeView(replica, 'replica')),
    ]
    this.sentinelNodes = sentinels.map((sentinel) => new SentinelNodeView(sentinel, 'sentinel'))
  }

  get dir(): string {
    return this.#run.dir
  }

  get sentinels(): HostAndPort[] {
    return this.sentinelNodes.map(({ host, port }) => ({ host, port }))
  }

  get master(): SentinelNodeView {
    // The constructor makes one master and failovers only ever swap roles.
    return this.#dataNodes.find((node) => node.role === 'master')!
  }

  get replicas(): readonly SentinelNodeView[] {
    return this.#dataNodes.filter((node) => node.role === 'replica')
  }

  get replica(): SentinelNodeView {
    return this.replicas[0]!
  }

  kill(node: RedisSentinelNode): Promise<void> {
    return this.#own(node).server.kill()
  }

  async restart(node: RedisSentinelNode, timeoutMs = 30_000): Promise<void> {
    const own = this.#own(node)
    const deadline = Date.now() + timeoutMs
    await own.server.restart(Math.min(this.#startTimeoutMs, timeoutMs))
    const left = Math.max(deadline - Date.now(), 1_000)
    if (own.role === 'sentinel') {
      await waitFor(
        `sentinel ${own.port} to monitor ${this.masterName} again`,
        async () => {
          const master = await this.#sentinelMaster(own)
          return master.get('port') === String(this.master.port)
            ? undefined
            : `it names port ${master.get('port')}`
        },
        { timeoutMs: left, logTail: () => own.logTail() },
      )
    } else if (own !== this.master) {
      await waitFor(
        `${own.server.label} to replicate from the master ${this.master.port}`,
        async () => firstReplicationProblem([own.server], this.master.port),
        { timeoutMs: left, logTail: () => this.#run.logTails() },
      )
    }
  }

  async waitForFailover(timeoutMs = 20_000): Promise<RedisSentinelNode> {
    const old = this.master
    let promoted: SentinelNodeView | undefined
    await waitFor(
      `the sentinels to fail ${this.masterName} over from port ${old.port}`,
      async () => {
        const ports = new Set<string>()
        for (const sentinel of this.sentinelNodes) {
          if (!sentinel.running) continue
          const master = await this.#sentinelMaster(sentinel)
          const flags = master.get('flags') ?? ''
          if (flags !== 'master') return `sentinel ${sentinel.port}: master flags ${flags}`
          ports.add(master.get('port') ?? '')
        }
        if (ports.size !== 1) return `the sentinels disagree on the master: ports ${[...ports].join(', ')}`
        const [port] = ports
        if (port === String(old.port)) return `the sentinels still name ${old.port}`
        promoted = this.#dataNodes.find((node) => String(node.port) === port && node.running)
        if (!promoted) return `the sentinels name ${port}, not a running node of this topology`
        const role = (await redisInfo(promoted.server, 'replication')).get('role')
        return role === 'master' ? undefined : `${port} says role:${role}`
      },
      { timeoutMs, intervalMs: 100, logTail: () => this.#run.logTails() },
    )
    for (const node of this.#dataNodes) node.role = node === promoted ? 'master' : 'replica'
    return promoted!
  }

  /** Waits until every sentinel sees the master up, all replicas and all other sentinels. */
  async waitForSentinelsReady(timeoutMs: number): Promise<void> {
    const replicaCount = this.#dataNodes.length - 1
    await waitFor(
      'the sentinels to discover the master, its replicas and each other',
      async () => {
        for (const sentinel of this.sentinelNodes) {
          const master = await this.#sentinelMaster(sentinel)
          const seen = `sentinel ${sentinel.port} sees`
          if (master.get('flags') !== 'master') return `${seen} master flags ${master.get('flags')}`
          if (master.get('num-slaves') !== String(replicaCount))
            return `${seen} ${master.get('num-slaves')} replicas`
          const others = master.get('num-other-sentinels')
          if (others !== String(this.sentinelNodes.length - 1)) return `${seen} ${others} other sentinels`
        }
        return undefined
      },
      { timeoutMs, intervalMs: 100, logTail: () => this.#run.logTails() },
    )
  }

  stop(): Promise<void> {
    return this.#run.stop()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }

  #own(node: RedisSentinelNode): SentinelNodeView {
    const own = [...this.#dataNodes, ...this.sentinelNodes].find((candidate) => candidate === node)
    if (!own) {
      throw new RedisHarnessError('E_REDIS_HARNESS_USAGE', `node ${node.port} is not a node of this topology`)
    }
    return own
  }

  /** `SENTINEL MASTER <name>` of one sentinel, as a map. */
  async #sentinelMaster(sentinel: SentinelNodeView): Promise<Map<string, string>> {
    const reply = await redisCommand(sentinel.server, ['SENTINEL', 'MASTER', this.masterName])
    const fields = new Map<string, string>()
    if (Array.isArray(reply)) {
      for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]))
    }
    return fields
  }
}

/** Undefined when every server replicates from `masterPort` with its link up. */
async function firstReplicationProblem(
  servers: readonly RedisServerProcess[],
  masterPort: number,
): Promise<string | undefined> {
  for (const server of servers) {
    const info = await redisInfo(server, 'replication')
    const state = `role:${info.get('role')} master_port:${info.get('master_port')} link:${info.get('master_link_status')}`
    if (info.get('role') !== 'slave' || info.get('master_port') !== String(masterPort)) {
      return `${server.label} on ${server.port}: ${state}`
    }
    if (info.get('master_link_status') !== 'up') return `${server.label} on ${server.port}: ${state}`
  }
  return undefined
}
