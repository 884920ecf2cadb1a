/**
 * Cold-key stampedes: 1,000 callers ask for one missing key at once, and the factory (50 ms, like a
 * slow query) counts its calls. First in one process, then over 4 processes of 250 callers each,
 * started at the same wall-clock moment against the same Redis.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { type Budget, scaled } from '../budget.js'
import { objectOf1Kb, sleep } from '../data.js'
import { rawRedis } from '../libraries.js'
import { formatUs, type WorkloadResult } from '../report.js'
import type { ChildMessage, ParentMessage } from '../stampede_child.js'
import { STAMPEDE_LIBRARIES, type StampedeLibrary, stampedeCache } from '../stampede_libraries.js'
import { median } from '../timing.js'

const CALLERS = 1000
const FACTORY_MS = 50
const PROCESSES = 4

export interface StampedeRow {
  library: StampedeLibrary
  /** Factory calls of each round. */
  factoryCalls: number[]
  /** Wall time of each round until every caller had its value, ms. */
  ms: number[]
  /** Callers that got the factory's value, per round (of CALLERS). */
  correct: number[]
  errors: number
  firstError?: string
}

export async function stampede(url: string, budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const rounds = scaled(budget, 3, 1)
  const rows: StampedeRow[] = []
  for (const library of STAMPEDE_LIBRARIES) {
    const cache = stampedeCache(library, url, `st1-${slug(library)}`)
    const row: StampedeRow = { library, factoryCalls: [], ms: [], correct: [], errors: 0 }
    try {
      await cache.getOrSet('warmup', async () => 1)
      for (let round = 0; round < rounds; round++) {
        let calls = 0
        const value = objectOf1Kb(round)
        const factory = async () => {
          calls++
          await sleep(FACTORY_MS)
          return value
        }
        const key = `cold-${round}`
        const t0 = performance.now()
        const results = await Promise.allSettled(
          Array.from({ length: CALLERS }, () => cache.getOrSet(key, factory)),
        )
        row.ms.push(performance.now() - t0)
        row.factoryCalls.push(calls)
        row.correct.push(
          results.filter((r) => r.status === 'fulfilled' && (r.value as { id?: number })?.id === value.id)
            .length,
        )
        for (const r of results) {
          if (r.status === 'rejected') {
            row.errors++
            row.firstError ??= String(r.reason)
          }
        }
      }
    } finally {
      await cache.close()
    }
    rows.push(row)
  }
  return {
    id: 'stampede',
    title: `Cold-key stampede: ${CALLERS.toLocaleString('en-US')} concurrent callers, one process`,
    setup: `Tiered caches (L1 + Redis); ${CALLERS.toLocaleString('en-US')} concurrent \`getOrSet\` (cache-manager: \`wrap\`) of one missing key; the factory takes ${FACTORY_MS} ms. ${rounds} round(s), a new key each.`,
    table: stampedeTable(rows),
    data: { rows, callers: CALLERS, factoryMs: FACTORY_MS },
    seconds: (performance.now() - started) / 1000,
  }
}

export async function stampedeProcesses(
  url: string,
  budget: Budget,
  tsxImport: string,
): Promise<WorkloadResult> {
  const started = performance.now()
  const rounds = scaled(budget, 3, 1)
  const perProcess = CALLERS / PROCESSES
  const counter = rawRedis(url)
  const childFile = new URL('../stampede_child.ts', import.meta.url)
  const children = Array.from({ length: PROCESSES }, () =>
    fork(childFile, [url], {
      execArgv: ['--import', tsxImport],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  )
  const rows: StampedeRow[] = []
  try {
    for (const library of STAMPEDE_LIBRARIES) {
      const prefix = `st4-${slug(library)}`
      await all(children, { type: 'prepare', library, prefix }, 'ready')
      const row: StampedeRow = { library, factoryCalls: [], ms: [], correct: [], errors: 0 }
      for (let round = 0; round < rounds; round++) {
        const counterKey = `bench:stampede:${prefix}:${round}`
        await counter.del(counterKey)
        // Every process sleeps until the same wall-clock moment, then fires its callers.
        const startAt = Date.now() + 150
        const replies = await all(
          children,
          {
            type: 'go',
            key: `cold-${round}`,
            counterKey,
            startAt,
            callers: perProcess,
            factoryMs: FACTORY_MS,
          },
          'done',
        )
        row.factoryCalls.push(Number(await counter.get(counterKey)))
        row.ms.push(Math.max(...replies.map((r) => (r.type === 'done' ? r.ms : 0))))
        row.correct.push(replies.reduce((sum, r) => sum + (r.type === 'done' ? r.correct : 0), 0))
        for (const reply of replies) {
          if (reply.type !== 'done') continue
          row.errors += reply.errors
          if (reply.firstError !== undefined) row.firstError ??= reply.firstError
        }
      }
      await all(children, { type: 'close' }, 'closed')
      rows.push(row)
    }
  } finally {
    for (const child of children) {
      if (child.connected) child.send({ type: 'exit' } satisfies ParentMessage)
    }
    await Promise.all(children.map((child) => exited(child)))
    counter.disconnect()
  }
  return {
    id: 'stampede-4-processes',
    title: `Cold-key stampede over ${PROCESSES} processes (${perProcess} callers each)`,
    setup: `${PROCESSES} child processes, each with its own tiered cache on the same Redis, fire ${perProcess} concurrent \`getOrSet\` of one missing key at the same wall-clock moment; the factory INCRs a Redis counter and takes ${FACTORY_MS} ms. ${rounds} round(s).`,
    table: stampedeTable(rows),
    notes: [
      'cachekit (lock: distributed) is `createCache({ ..., lock: "distributed" })`: core already ships a Redis lock (SET NX PX) for getOrSet, off by default.',
    ],
    data: { rows, processes: PROCESSES, callersPerProcess: perProcess, factoryMs: FACTORY_MS },
    seconds: (performance.now() - started) / 1000,
  }
}

function stampedeTable(rows: readonly StampedeRow[]): { columns: string[]; rows: string[][] } {
  return {
    columns: [
      'library',
      'factory calls (per round)',
      'callers served',
      'time to serve all (median)',
      'errors',
    ],
    rows: rows.map((row) => [
      row.library,
      row.factoryCalls.join(', '),
      row.correct.map((c) => `${c}/${CALLERS}`).join(', '),
      formatUs(median(row.ms) * 1000),
      row.errors === 0 ? '0' : `${row.errors} (${row.firstError})`,
    ]),
  }
}

function slug(name: string): string {
  return name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()
}

/** Sends a message to every child and resolves with their replies of type `reply`. */
function all(
  children: readonly ChildProcess[],
  message: ParentMessage,
  reply: ChildMessage['type'],
  timeoutMs = 20_000,
): Promise<ChildMessage[]> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<ChildMessage>((resolve, reject) => {
          const timer = setTimeout(() => {
            child.off('message', onMessage)
            reject(new Error(`[bench] stampede child did not answer ${message.type} within ${timeoutMs} ms`))
          }, timeoutMs)
          const onMessage = (answer: ChildMessage) => {
            if (answer.type !== reply) return
            clearTimeout(timer)
            child.off('message', onMessage)
            resolve(answer)
          }
          child.on('message', onMessage)
          child.send(message)
        }),
    ),
  )
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, 5_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
