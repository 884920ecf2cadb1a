import { type RedisNode, ServerNode } from './redis_node.js'
import { dataNodeConfig } from './server_config.js'
import type { RedisServerProcess } from './server_process.js'
import { TopologyRun } from './topology_run.js'

/** Options of `startStandalone`. */
export interface StandaloneOptions {
  /**
   * Password of the default user (`requirepass`); it is then part of `url` and used by the harness'
   * own probes.
   */
  password?: string
  /**
   * Extra redis-server flags, after the harness' config: `['--maxmemory', '10mb']`,
   * `['--user', 'app', 'on', '>secret', '~*', '+@all']`. Do not set `port`, `bind` or `dir`.
   */
  args?: readonly string[]
  /** Bound for starting (and for each restart). Default 10 000 ms. */
  startTimeoutMs?: number
}

/** A standalone redis-server started by `startStandalone`. */
export interface RedisServerHandle extends RedisNode {
  /** The default user's password, when one was set. */
  readonly password: string | undefined
  /** SIGKILLs the server, as a crash would; resolves once the process is gone and the port refuses. */
  kill(): Promise<void>
  /**
   * SIGSTOPs the server: connections stay open and nothing answers (a hung server, a partition).
   * Resolves once the process is stopped. Pair it with `thaw()` in a `finally`, so a failing test
   * never leaves it frozen (`stop()` and `kill()` work on a frozen server too).
   */
  freeze(): Promise<void>
  /** SIGCONTs a frozen server; resolves once it answers again. Harmless when it is not frozen. */
  thaw(): Promise<void>
  /**
   * Starts the server again on the same port with the same dir (killing it first if it runs);
   * resolves once it answers. Data does not survive: persistence is off.
   */
  restart(): Promise<void>
  /** Kills the server, frees its port and deletes its dir. Idempotent. */
  stop(): Promise<void>
  /** `stop()`, for `await using server = await startStandalone()`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Starts one redis-server on a free 127.0.0.1 port with its own temp dir, persistence off, and
 * resolves once it answers PING.
 *
 * @throws {RedisServerMissingError} when there is no redis-server binary (`E_REDIS_SERVER_MISSING`).
 * @throws {RedisHarnessError} `E_REDIS_SERVER_EXITED` or `E_REDIS_HARNESS_TIMEOUT`, with the log tail.
 * @example
 * const server = await startStandalone()
 * const client = new Redis(server.url)
 * await server.kill()     // client sees a dead server
 * await server.restart()  // same port: the client reconnects by itself
 * await server.stop()
 */
export async function startStandalone(options: StandaloneOptions = {}): Promise<RedisServerHandle> {
  const timeoutMs = options.startTimeoutMs ?? 10_000
  const run = TopologyRun.create('standalone')
  const password = options.password
  const server = await run.startOrStop(() =>
    run.launch(
      {
        label: 'standalone',
        config: (port, dir) => [
          ...dataNodeConfig(port, dir),
          ...(password === undefined ? [] : [`requirepass ${JSON.stringify(password)}`]),
        ],
        args: options.args ?? [],
        password,
      },
      timeoutMs,
    ),
  )
  return new StandaloneServer(run, server, timeoutMs)
}

class StandaloneServer extends ServerNode implements RedisServerHandle {
  readonly #run: TopologyRun
  readonly #timeoutMs: number

  constructor(run: TopologyRun, server: RedisServerProcess, timeoutMs: number) {
    super(server)
    this.#run = run
    this.#timeoutMs = timeoutMs
  }

  get password(): string | undefined {
    return this.server.password
  }

  kill(): Promise<void> {
    return this.server.kill()
  }

  freeze(): Promise<void> {
    return this.server.freeze()
  }

  thaw(): Promise<void> {
    return this.server.thaw(this.#timeoutMs)
  }

  restart(): Promise<void> {
    return this.server.restart(this.#timeoutMs)
  }

  stop(): Promise<void> {
    return this.#run.stop()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }
}
