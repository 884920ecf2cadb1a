import type { RedisServerProcess } from './server_process.js'

/** A `{ host, port }` pair, the shape ioredis takes for cluster startup nodes and sentinels. */
export interface HostAndPort {
  host: string
  port: number
}

/** The role of a node in its topology. */
export type RedisNodeRole = 'master' | 'replica' | 'sentinel'

/**
 * One server started by the harness. A live view: `running`, `pid` (and `role` on topology nodes)
 * follow kills, restarts and failovers.
 */
export interface RedisNode {
  /** Always `127.0.0.1`: harness servers never listen on other interfaces. */
  readonly host: string
  /** The port, kept across restarts. */
  readonly port: number
  /** `redis://127.0.0.1:<port>` (with the password, when there is one). */
  readonly url: string
  /** The server's own dir (config file, `server.log`, cluster `nodes.conf`), kept across restarts. */
  readonly dir: string
  /** The pid while it runs. */
  readonly pid: number | undefined
  /** False after a kill, true again after a restart. */
  readonly running: boolean
  /** The last `lines` lines of the server's log, for a failing test's message. */
  logTail(lines?: number): string
}

/** The `RedisNode` view of a server process; topologies extend it with what they know more. */
export class ServerNode implements RedisNode {
  /** The process behind the view; internal to the harness. */
  readonly server: RedisServerProcess

  constructor(server: RedisServerProcess) {
    this.server = server
  }

  get host(): string {
    return this.server.host
  }

  get port(): number {
    return this.server.port
  }

  get url(): string {
    return this.server.url
  }

  get dir(): string {
    return this.server.dir
  }

  get pid(): number | undefined {
    return this.server.pid
  }

  get running(): boolean {
    return this.server.running
  }

  logTail(lines?: number): string {
    return this.server.logTail(lines)
  }

  /** What `console.log` and vitest's diffs show. */
  toJSON(): { host: string; port: number; running: boolean } {
    return { host: this.host, port: this.port, running: this.running }
  }
}
