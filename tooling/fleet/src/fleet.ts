import { type ChildProcess, fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { WorkerConfig, WorkerReply, WorkerRequest } from './protocol.js'

const here = dirname(fileURLToPath(import.meta.url))
const tsxLoader = createRequire(import.meta.url).resolve('tsx')

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

/** A worker process with a cache; `ask` sends it a request and resolves with its answer. */
export class FleetWorker {
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >()
  readonly ready: Promise<void>

  private constructor(private readonly child: ChildProcess) {
    let markReady: () => void = () => undefined
    this.ready = new Promise((resolve) => {
      markReady = resolve
    })
    child.on('message', (reply: WorkerReply) => {
      if (reply.id === 0) return markReady()
      const waiter = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      if (reply.ok) waiter?.resolve(reply.result)
      else waiter?.reject(new Error(reply.error))
    })
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`worker exited with ${code}`))
      this.pending.clear()
    })
  }

  /** Starts a worker process and waits until its cache is subscribed to the bus. */
  static async start(config: WorkerConfig): Promise<FleetWorker> {
    const child = fork(join(here, 'worker.ts'), [], {
      execArgv: ['--import', tsxLoader],
      env: {
        ...process.env,
        FLEET_WORKER_CONFIG: JSON.stringify(config),
        TSX_TSCONFIG_PATH: join(here, '..', 'tsconfig.worker.json'),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const worker = new FleetWorker(child)
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('worker did not start within 20 s')), 20_000).unref(),
    )
    await Promise.race([worker.ready, timeout])
    return worker
  }

  ask<T = unknown>(request: Request): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send({ ...request, id })
    })
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    await this.ask({ op: 'close' }).catch(() => undefined)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
}
