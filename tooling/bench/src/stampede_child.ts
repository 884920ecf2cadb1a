/**
 * One of the processes of the multi-process stampede (see workloads/stampede.ts). Driven by its
 * parent over IPC: `prepare` builds a library's cache, `go` fires the callers at an agreed wall-clock
 * moment, `close` closes the cache. The factory counts its calls with INCR on Redis, so the parent
 * can add up the calls of every process.
 */
import { objectOf1Kb, sleep } from './data.js'
import { rawRedis } from './libraries.js'
import { type StampedeCache, type StampedeLibrary, stampedeCache } from './stampede_libraries.js'

export type ParentMessage =
  | { type: 'prepare'; library: StampedeLibrary; prefix: string }
  | { type: 'go'; key: string; counterKey: string; startAt: number; callers: number; factoryMs: number }
  | { type: 'close' }
  | { type: 'exit' }

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'done'; ms: number; correct: number; errors: number; firstError?: string }
  | { type: 'closed' }

const url = process.argv[2]
if (!url || !process.send) throw new Error('[bench] stampede_child needs a Redis URL and an IPC channel')
const counter = rawRedis(url)
let current: StampedeCache | undefined

function send(message: ChildMessage): void {
  process.send!(message)
}

process.on('message', async (message: ParentMessage) => {
  if (message.type === 'prepare') {
    current = stampedeCache(message.library, url!, message.prefix)
    // Connects every client before the start signal, so no process starts late.
    await current.getOrSet('warmup', async () => 1)
    send({ type: 'ready' })
  } else if (message.type === 'go') {
    const { key, counterKey, callers, factoryMs } = message
    const value = objectOf1Kb(7)
    const factory = async () => {
      await counter.incr(counterKey)
      await sleep(factoryMs)
      return value
    }
    await sleep(Math.max(0, message.startAt - Date.now()))
    const started = performance.now()
    let correct = 0
    let errors = 0
    let firstError: string | undefined
    await Promise.all(
      Array.from({ length: callers }, async () => {
        try {
          const got = (await current!.getOrSet(key, factory)) as { id?: number } | undefined
          if (got?.id === value.id) correct++
        } catch (error) {
          errors++
          firstError ??= String(error)
        }
      }),
    )
    const done: ChildMessage = { type: 'done', ms: performance.now() - started, correct, errors }
    if (firstError !== undefined) done.firstError = firstError
    send(done)
  } else if (message.type === 'close') {
    await current?.close()
    current = undefined
    send({ type: 'closed' })
  } else {
    counter.disconnect()
    process.disconnect()
  }
})
