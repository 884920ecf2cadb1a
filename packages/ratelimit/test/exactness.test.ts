import { type ChildProcess, fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { requireTopology } from '@cachekit/redis-harness'
import { describe, expect, inject, it } from 'vitest'
import type { Algorithm } from '../src/index.js'
import { uniquePrefix } from './helpers.js'
import type { Allowed, WorkerConfig } from './workers/decide_worker.js'

// 4 processes × 64 concurrent callers hammer one key, against every algorithm at once, limit 100
// per second, for 2.5 s. Two of the processes have clocks an hour off (a fake Date.now). Every
// allowed decision carries Redis' time; the checks below count them per window.

const LIMIT = 100
const WINDOW_MS = 1000
const W = WINDOW_MS * 1000
const ALGORITHMS: Algorithm[] = ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket', 'gcra']
const tsx = createRequire(import.meta.url).resolve('tsx')

interface Report {
  allowed: Allowed[]
  calls: number
  failures: number
}

async function runFleet(connection: WorkerConfig['connection']): Promise<Report[]> {
  const prefix = uniquePrefix()
  const workers: ChildProcess[] = []
  const reports: Array<Promise<Report>> = []
  const ready: Array<Promise<void>> = []
  for (let i = 0; i < 4; i++) {
    const config: WorkerConfig = {
      connection,
      prefix,
      key: 'shared',
      algorithms: ALGORITHMS,
      limit: LIMIT,
      windowMs: WINDOW_MS,
      callers: 64,
      durationMs: 2500,
      maxCalls: 20_000,
      skewMs: i === 1 ? 3_600_000 : i === 2 ? -3_600_000 : 0,
    }
    const child = fork(join(import.meta.dirname, 'workers', 'decide_worker.ts'), [], {
      execArgv: ['--import', tsx],
      env: {
        ...process.env,
        DECIDE_WORKER_CONFIG: JSON.stringify(config),
        TSX_TSCONFIG_PATH: join(import.meta.dirname, 'workers', 'tsconfig.json'),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    workers.push(child)
    ready.push(new Promise((resolve) => child.once('message', () => resolve())))
    reports.push(
      new Promise((resolve, reject) => {
        child.on('message', (message: Report | string) => {
          if (typeof message !== 'string') resolve(message)
        })
        child.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)))
      }),
    )
  }
  try {
    await Promise.all(ready)
    const go = Date.now() + 200
    for (const child of workers) child.send({ go })
    return await Promise.all(reports)
  } finally {
    for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL')
  }
}

function check(reports: Report[]): void {
  expect(reports.reduce((sum, r) => sum + r.failures, 0)).toBe(0)
  const byAlgorithm = (algorithm: Algorithm) =>
    reports
      .flatMap((r) => r.allowed.filter((a) => a.algorithm === algorithm))
      .map((a) => ({ ...a, us: Math.round(a.decidedAt * 1000) }))
      .sort((a, b) => a.us - b.us)

  // fixed-window: per window (known by its end), never more than the limit, and the limit reached.
  const windows = new Map<number, number>()
  for (const a of byAlgorithm('fixed-window')) {
    const end = Math.floor(a.decidedAt) + a.resetMs
    windows.set(end, (windows.get(end) ?? 0) + 1)
  }
  expect(windows.size).toBeGreaterThanOrEqual(2)
  expect(Math.max(...windows.values())).toBe(LIMIT)

  // sliding-log: in every window (t - 1 s, t], never more than the limit.
  const log = byAlgorithm('sliding-log')
  let worst = 0
  for (let last = 0, first = 0; last < log.length; last++) {
    while (log[first]!.us <= log[last]!.us - W) first++
    worst = Math.max(worst, last - first + 1)
  }
  expect(worst).toBe(LIMIT)

  // sliding-window: the limit per aligned window; under twice the limit in any window.
  const aligned = new Map<number, number>()
  const weighted = byAlgorithm('sliding-window')
  for (const a of weighted) aligned.set(Math.floor(a.us / W), (aligned.get(Math.floor(a.us / W)) ?? 0) + 1)
  expect(Math.max(...aligned.values())).toBeLessThanOrEqual(LIMIT)
  let heaviest = 0
  for (let last = 0, first = 0; last < weighted.length; last++) {
    while (weighted[first]!.us <= weighted[last]!.us - W) first++
    heaviest = Math.max(heaviest, last - first + 1)
  }
  expect(heaviest).toBeLessThan(2 * LIMIT)

  // token-bucket and gcra (burst = limit): at most burst + rate × t in any interval of length t.
  for (const algorithm of ['token-bucket', 'gcra'] as const) {
    const allowed = byAlgorithm(algorithm)
    expect(allowed.length).toBeGreaterThan(LIMIT)
    for (let i = 0; i < allowed.length; i += 7)
      for (let j = i; j < allowed.length; j++)
        expect(j - i + 1).toBeLessThanOrEqual(LIMIT + ((allowed[j]!.us - allowed[i]!.us) * LIMIT) / W + 1e-6)
  }
}

describe('exact across processes: 4 processes × 64 callers, two with clocks an hour off', () => {
  it('on a standalone server', async () => {
    const server = requireTopology(inject('redis'), 'standalone')
    check(await runFleet({ url: server.url }))
  }, 60_000)

  it('on a cluster', async () => {
    const cluster = requireTopology(inject('redis'), 'cluster')
    check(await runFleet({ cluster: cluster.startupNodes }))
  }, 60_000)
})
