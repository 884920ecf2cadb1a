/**
 * One redis-server (or sentinel) process: its port, its dir, its config file, its log; spawning it,
 * waiting until it answers, SIGKILLing it and bringing it back on the same port with the same dir.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { killQuietly, onProcessExit } from './cleanup.js'
import { RedisHarnessError } from './errors.js'
import { type PortReservation, reservePort } from './free_port.js'
import { clearServerPid, writeServerPid } from './harness_dir.js'
import { isReplyError, parseFields, type RedisAddress, redisCommand } from './probe.js'
import { waitFor } from './wait.js'

/** What a server process is made of; the config is written once, at launch. */
export interface ServerSpec {
  /** Path of the redis-server binary. */
  readonly bin: string
  /** Names the server's dir and its errors: `standalone`, `cluster-2`, `sentinel-1`. */
  readonly label: string
  /** The topology's run dir; the server gets a dir inside it. */
  readonly runDir: string
  /** The body of the config file, given the port and dir the server got. */
  readonly config: (port: number, dir: string) => string[]
  /** Flags after the config file, for what the caller wants on top. */
  readonly args?: readonly string[]
  /** Start as a sentinel (`--sentinel`). */
  readonly sentinel?: boolean
  /** Reserve port + 10000 too (cluster bus). */
  readonly busPort?: boolean
  /** The default user's password, for the harness' own probes. */
  readonly password?: string | undefined
}

/** The state letter of `/proc/<pid>/stat` (`T` once stopped), after the command name in parentheses. */
function processState(statFile: string): string {
  try {
    const text = readFileSync(statFile, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3)
  } catch {
    return '?'
  }
}

/** How a process ended. */
interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly error?: Error
}

const logLines = 40
// Another process winning the race for a just-checked port is rare; a few new ports are plenty.
const maxLaunchAttempts = 3

/** A redis-server process managed by the harness. */
export class RedisServerProcess implements RedisAddress {
  readonly host = '127.0.0.1'
  readonly port: number
  /** The server's own dir: config file, log, cluster `nodes.conf`. */
  readonly dir: string
  readonly label: string
  readonly password: string | undefined

  readonly #spec: ServerSpec
  readonly #reservation: PortReservation
  readonly #configFile: string
  #child: ChildProcess | undefined
  #exited: Promise<ExitInfo> | undefined
  #exitInfo: ExitInfo | undefined
  #stopped = false

  private constructor(spec: ServerSpec, reservation: PortReservation) {
    this.#spec = spec
    this.#reservation = reservation
    this.port = reservation.port
    this.label = spec.label
    this.password = spec.password
    this.dir = join(spec.runDir, `${spec.label}-${reservation.port}`)
    this.#configFile = join(this.dir, spec.sentinel ? 'sentinel.conf' : 'redis.conf')
    mkdirSync(this.dir, { recursive: true })
    writeFileSync(this.#configFile, `${spec.config(this.port, this.dir).join('\n')}\n`)
  }

  /**
   * Reserves a port, writes the config and starts the server, awaiting its first answer. When
   * another process took the port in the meantime, starts over on a new one.
   */
  static async launch(spec: ServerSpec, timeoutMs: number): Promise<RedisServerProcess> {
    for (let attempt = 1; ; attempt++) {
      const reservation = await reservePort({ busPort: spec.busPort === true })
      const server = new RedisServerProcess(spec, reservation)
      try {
        await server.start(timeoutMs)
        return server
      } catch (error) {
        const portTaken = server.logTail().includes('Address already in use')
        await server.stop()
        rmSync(server.dir, { recursive: true, force: true })
        if (!portTaken || attempt >= maxLaunchAttempts) throw error
      }
    }
  }

  /** `redis://127.0.0.1:<port>`, with the password when there is one. */
  get url(): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`
    return `redis://${auth}${this.host}:${this.port}`
  }

  /** The pid while the process runs. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined
  }

  /** True from spawn until the process exits. */
  get running(): boolean {
    return this.#child !== undefined && this.#exitInfo === undefined
  }

  /** Spawns the process and waits until it answers on its port. */
  async start(timeoutMs: number): Promise<void> {
    if (this.#stopped) throw new RedisHarnessError('E_REDIS_HARNESS_USAGE', `${this.label} was stopped`)
    if (this.running) return
    const log = openSync(join(this.dir, 'server.log'), 'a')
    let child: ChildProcess
    try {
      const flags = this.#spec.sentinel ? ['--sentinel'] : []
      child = spawn(this.#spec.bin, [this.#configFile, ...flags, ...(this.#spec.args ?? [])], {
        cwd: this.dir,
        stdio: ['ignore', log, log],
      })
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(log)
    }
    this.#child = child
    this.#exitInfo = undefined
    const pid = child.pid
    // A process that is always killed at exit must not also keep the event loop alive.
    child.unref()
    const forget = pid === undefined ? () => {} : onProcessExit(() => killQuietly(pid))
    if (pid !== undefined) writeServerPid(this.dir, pid)
    this.#exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.#child === child) this.#exitInfo = info
        forget()
        if (this.#child === child) clearServerPid(this.dir)
        resolve(info)
      }
      child.once('exit', (code, signal) => done({ code, signal }))
      // Spawning itself failed (EACCES, ENOENT): there is no 'exit' then.
      child.once('error', (error) => done({ code: null, signal: null, error }))
    })
    await this.#waitUntilAnswering(timeoutMs)
  }

  /** SIGKILLs the process (no shutdown, no save: a crash) and resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.#child
    const exited = this.#exited
    if (!child || !exited || !this.running) return
    // Keep the loop alive until the exit is seen, even in a script with nothing else to do.
    child.ref()
    child.kill('SIGKILL')
    const info = await Promise.race([exited, sleep(5_000, undefined)])
    child.unref()
    if (!info) {
      throw new RedisHarnessError(
        'E_REDIS_HARNESS_TIMEOUT',
        `${this.label} (pid ${child.pid}) survived SIGKILL`,
      )
    }
  }

  /**
   * SIGSTOPs the process: it keeps its port and its connections, and answers nothing, as a server
   * stuck in a long command, a swapped-out host or a network partition would. Resolves once the
   * kernel reports it stopped (where `/proc` tells). Always `thaw()` it, in a `finally`.
   */
  async freeze(): Promise<void> {
    const child = this.#child
    if (!child || !this.running) {
      throw new RedisHarnessError('E_REDIS_HARNESS_USAGE', `${this.label} is not running: nothing to freeze`)
    }
    child.kill('SIGSTOP')
    const stat = `/proc/${child.pid}/stat`
    if (!existsSync(stat)) return
    await waitFor(
      `${this.label} (pid ${child.pid}) to stop`,
      async () => (processState(stat) === 'T' ? undefined : `state ${processState(stat)}`),
      { timeoutMs: 5_000, intervalMs: 10, logTail: () => this.logTail() },
    )
  }

  /** SIGCONTs a frozen process and resolves once it answers again. Harmless on one that is not frozen. */
  async thaw(timeoutMs: number): Promise<void> {
    const child = this.#child
    if (!child || !this.running) return
    child.kill('SIGCONT')
    await this.#waitUntilAnswering(timeoutMs)
  }

  /** Kills the process if it runs, then starts it again on the same port with the same dir. */
  async restart(timeoutMs: number): Promise<void> {
    await this.kill()
    await this.start(timeoutMs)
  }

  /** Kills the process and gives its port back; the dir is removed with the run dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    try {
      await this.kill()
    } finally {
      this.#reservation.release()
    }
  }

  /** The last lines of the server's log (and of its stderr, which goes to the same file). */
  logTail(lines = logLines): string {
    const file = join(this.dir, 'server.log')
    if (!existsSync(file)) return `(${this.label}: no log)`
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    return `[${this.label} port ${this.port}]\n${text}`
  }

  async #waitUntilAnswering(timeoutMs: number): Promise<void> {
    await waitFor(
      `${this.label} to answer on 127.0.0.1:${this.port}`,
      async () => {
        const exit = this.#exitInfo
        if (exit) {
          const how = exit.error ? exit.error.message : `code ${exit.code}, signal ${exit.signal}`
          throw new RedisHarnessError(
            'E_REDIS_SERVER_EXITED',
            `${this.label} (${this.#spec.bin}) exited while starting on port ${this.port}: ${how}`,
            { logTail: this.logTail(), cause: exit.error },
          )
        }
        return this.#answeringProcessMismatch()
      },
      { timeoutMs, intervalMs: 50, logTail: () => this.logTail() },
    )
  }

  /**
   * Undefined when the server on our port is our process. Checking the pid, not only that something
   * answers, keeps a stray server that grabbed the port from passing as ours.
   */
  async #answeringProcessMismatch(): Promise<string | undefined> {
    let reply: unknown
    try {
      reply = await redisCommand(this, ['INFO', 'server'], { password: this.password, timeoutMs: 500 })
    } catch (error) {
      // NOAUTH and friends: a server answers, and ours is the only one that can (the port is ours).
      if (isReplyError(error)) return undefined
      throw error
    }
    const pid = parseFields(String(reply), ':').get('process_id')
    return pid === String(this.#child?.pid) ? undefined : `port answered by another process (pid ${pid})`
  }
}
