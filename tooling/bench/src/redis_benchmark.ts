/**
 * The server's own limit: `redis-benchmark` (the C client that ships with Redis, in the redis-tools
 * package on Debian/Ubuntu) against the same server the workloads use, so each report shows how far
 * a cache is from what Redis serves to 64 plain connections on this machine. Runs in a process of
 * its own; its numbers are its own (the bench's harness does not time it).
 */
import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import type { Measurement } from './timing.js'

const run = promisify(execFile)

export interface RedisBenchmarkOptions {
  /** `-t`: `get` or `set`. */
  test: 'get' | 'set'
  /** `-c`: parallel connections. */
  clients: number
  /** `-n`: requests in all. */
  requests: number
  /** `-d`: value size in bytes (a GET reads the value the preceding SET wrote). */
  valueBytes: number
  /** `-P`: requests in flight per connection; 1 (the default) is one request per round trip. */
  pipeline?: number
}

export type RedisBenchmarkResult =
  | { ok: true; binary: string; measurement: Measurement; command: string }
  | { ok: false; reason: string }

/**
 * `REDIS_BENCHMARK_BIN` when set (and only it, so a wrong path says so), else `redis-benchmark` on
 * PATH, else /usr/bin and /usr/local/bin.
 */
export function findRedisBenchmark(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'redis-benchmark'))
  const candidates = env.REDIS_BENCHMARK_BIN
    ? [env.REDIS_BENCHMARK_BIN]
    : [...onPath, '/usr/bin/redis-benchmark', '/usr/local/bin/redis-benchmark']
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

export function missingRedisBenchmark(env: NodeJS.ProcessEnv = process.env): string {
  const where = env.REDIS_BENCHMARK_BIN
    ? `at REDIS_BENCHMARK_BIN=${env.REDIS_BENCHMARK_BIN}`
    : 'on PATH, in /usr/bin or /usr/local/bin'
  return `redis-benchmark not found ${where} (it comes with redis-tools: \`apt-get install redis-tools\`, or \`brew install redis\`), so the server-limit row is skipped`
}

/** The table name of a redis-benchmark row. */
export function redisBenchmarkName(options: RedisBenchmarkOptions): string {
  const pipeline = options.pipeline && options.pipeline > 1 ? `, pipeline ${options.pipeline}` : ''
  return `redis-benchmark ${options.test.toUpperCase()}, ${options.clients} clients${pipeline} (server limit; information only)`
}

/**
 * Runs `redis-benchmark -t set,<test> --csv` (a GET alone would read a missing key: the SET before
 * it writes the `valueBytes` value that the GET then reads) and returns the row of `test`.
 */
export async function redisBenchmark(
  url: string,
  options: RedisBenchmarkOptions,
  timeoutMs = 30_000,
): Promise<RedisBenchmarkResult> {
  const binary = findRedisBenchmark()
  if (!binary) return { ok: false, reason: missingRedisBenchmark() }
  const { hostname, port, password } = new URL(url)
  const args = [
    '-h',
    hostname,
    '-p',
    port || '6379',
    '-c',
    String(options.clients),
    '-n',
    String(options.requests),
    '-d',
    String(options.valueBytes),
    '-P',
    String(options.pipeline ?? 1),
    '-t',
    options.test === 'get' ? 'set,get' : 'set',
    '--csv',
  ]
  const command = `redis-benchmark ${args.join(' ')}`
  if (password) args.push('-a', decodeURIComponent(password), '--no-auth-warning')
  try {
    const { stdout } = await run(binary, args, { timeout: timeoutMs })
    const row = parseCsv(stdout).find((r) => r.test === options.test.toUpperCase())
    if (!row) return { ok: false, reason: `redis-benchmark printed no ${options.test} row: ${stdout.trim()}` }
    const measurement: Measurement = {
      name: redisBenchmarkName(options),
      role: 'server',
      opsPerSec: row.rps,
      sampleOpsPerSec: [Math.round(row.rps)],
      note: `\`${command}\`: ${options.clients} connections, ${options.pipeline && options.pipeline > 1 ? `${options.pipeline} requests` : 'one request'} in flight on each; p50/p99 are its own`,
    }
    if (row.p50Ms !== undefined) measurement.p50Us = row.p50Ms * 1000
    if (row.p99Ms !== undefined) measurement.p99Us = row.p99Ms * 1000
    return { ok: true, binary, measurement, command }
  } catch (error) {
    return { ok: false, reason: `redis-benchmark failed: ${(error as Error).message.split('\n')[0]}` }
  }
}

interface CsvRow {
  test: string
  rps: number
  p50Ms: number | undefined
  p99Ms: number | undefined
}

/**
 * Parses `--csv` output. Redis 7 prints a header (`"test","rps","avg_latency_ms",...,"p50_latency_ms",
 * ...,"p99_latency_ms",...`); Redis 6 prints `"GET","94339.62"` lines with no header and no latencies.
 */
export function parseCsv(text: string): CsvRow[] {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split(',').map((cell) => cell.replace(/^"|"$/g, '')))
  const header = lines[0]?.[0] === 'test' ? lines.shift() : undefined
  const column = (name: string) => header?.indexOf(name) ?? -1
  const p50 = column('p50_latency_ms')
  const p99 = column('p99_latency_ms')
  const number = (cells: string[], index: number) => (index >= 0 ? Number(cells[index]) : undefined)
  return lines
    .filter((cells) => cells.length >= 2 && Number.isFinite(Number(cells[1])))
    .map((cells) => ({
      test: cells[0]!,
      rps: Number(cells[1]),
      p50Ms: number(cells, p50),
      p99Ms: number(cells, p99),
    }))
}
