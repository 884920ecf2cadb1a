/**
 * The processes and the run dir of one started topology, so stopping (or failing to start) removes
 * all of them together, whichever topology it is.
 */
import { rmSync } from 'node:fs'
import { onProcessExit, reapLeftoversOnce } from './cleanup.js'
import { createRunDir } from './harness_dir.js'
import { findRedisServer } from './redis_binary.js'
import { RedisServerProcess, type ServerSpec } from './server_process.js'

/** One topology's servers and dir. */
export class TopologyRun {
  /** The run dir; every server of the topology has its dir inside. */
  readonly dir: string
  /** The redis-server binary in use. */
  readonly bin: string
  readonly #servers: RedisServerProcess[] = []
  readonly #forgetDir: () => void
  #stopped = false

  private constructor(bin: string, dir: string) {
    this.bin = bin
    this.dir = dir
    this.#forgetDir = onProcessExit(() => rmSync(dir, { recursive: true, force: true }))
  }

  /** Finds the binary (throwing the install instructions when it is missing), then creates the run dir. */
  static create(topology: string): TopologyRun {
    const bin = findRedisServer()
    reapLeftoversOnce()
    return new TopologyRun(bin, createRunDir(topology))
  }

  /** Every server launched so far. */
  get servers(): readonly RedisServerProcess[] {
    return this.#servers
  }

  /** Starts one more server of this topology. */
  async launch(spec: Omit<ServerSpec, 'bin' | 'runDir'>, timeoutMs: number): Promise<RedisServerProcess> {
    const server = await RedisServerProcess.launch({ ...spec, bin: this.bin, runDir: this.dir }, timeoutMs)
    this.#servers.push(server)
    // Stopped while this one was starting (a sibling failed): it must not outlive the run.
    if (this.#stopped) await server.stop()
    return server
  }

  /** Starts several servers at once; waits for all of them to settle, so none is left half-started. */
  async launchAll(
    specs: readonly Omit<ServerSpec, 'bin' | 'runDir'>[],
    timeoutMs: number,
  ): Promise<RedisServerProcess[]> {
    const results = await Promise.allSettled(specs.map((spec) => this.launch(spec, timeoutMs)))
    const failed = results.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    return results.map((result) => (result as PromiseFulfilledResult<RedisServerProcess>).value)
  }

  /** Runs `start`; if it fails, stops what was started before rethrowing, so nothing leaks. */
  async startOrStop<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start()
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  /** The log tails of all servers, for error messages. */
  logTails(): string {
    return this.#servers.map((server) => server.logTail(15)).join('\n')
  }

  /** Kills every server, releases their ports and deletes the run dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    try {
      await Promise.all(this.#servers.map((server) => server.stop()))
    } finally {
      rmSync(this.dir, { recursive: true, force: true })
      this.#forgetDir()
    }
  }
}
