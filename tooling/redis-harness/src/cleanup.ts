/**
 * Makes sure no redis-server outlives the test run that started it.
 *
 * Three layers, because each one alone leaks in some case:
 * - `stop()` on a handle: the normal path.
 * - exit and signal handlers: a test that forgot `stop()`, a failing `beforeAll`, Ctrl-C.
 * - `reapLeftovers()` at the next start: a run that was SIGKILLed (OOM killer, CI timeout), where
 *   no handler of ours could run. Its dirs record its pid and its servers' pids, so the next run
 *   sees the owner is dead and removes what it left.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { harnessBaseDir, isProcessAlive, portsDir, readOwnerPid, readServerPid } from './harness_dir.js'

/** A synchronous clean-up: the 'exit' event allows nothing else. */
export type SyncCleanup = () => void

const cleanups = new Set<SyncCleanup>()
let handlersInstalled = false
let reaped = false

// A run dir without a readable owner file is either being created right now or garbage; only
// the latter is old.
const unownedGraceMs = 60_000

/**
 * Registers `cleanup` to run synchronously when the process exits or is interrupted.
 * @returns a function that unregisters it (call it once the resource is released normally).
 */
export function onProcessExit(cleanup: SyncCleanup): () => void {
  installHandlers()
  cleanups.add(cleanup)
  return () => {
    cleanups.delete(cleanup)
  }
}

/** Runs every registered clean-up now (what the exit and signal handlers do). */
export function runExitCleanups(): void {
  const pending = [...cleanups]
  cleanups.clear()
  for (const cleanup of pending) {
    try {
      cleanup()
    } catch {
      // One failed clean-up must not keep the others from running.
    }
  }
}

function installHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', runExitCleanups)
  // Signals are only delivered to the main thread; a worker thread gets 'exit' when it ends.
  if (!isMainThread) return
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      runExitCleanups()
      process.removeListener(signal, handler)
      // Listening to a signal disables its default action. When someone else listens too (vitest
      // does), they decide how the process ends, and re-raising would hand them the signal twice.
      // When we were alone, re-raise so the process dies by the signal as it would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, handler)
  }
}

/** What `reapLeftovers` removed. */
export interface ReapReport {
  /** Run dirs of dead owners that were deleted. */
  readonly dirs: readonly string[]
  /** Leftover redis-server pids that were SIGKILLed. */
  readonly pids: readonly number[]
  /** Port reservations of dead owners that were released. */
  readonly ports: readonly number[]
}

/**
 * Kills the servers and deletes the dirs and port reservations left by harness runs whose process
 * is dead (typically SIGKILLed). Runs of live processes, including concurrent test runs, are left
 * alone. Every `start*` calls this once per process; call it yourself from a CI clean-up step.
 *
 * @param baseDir the harness dir; defaults to `<tmpdir>/cachekit-redis-harness` or `REDIS_HARNESS_DIR`.
 */
export function reapLeftovers(baseDir: string = harnessBaseDir()): ReapReport {
  const report = { dirs: [] as string[], pids: [] as number[], ports: [] as number[] }
  for (const name of listDir(baseDir)) {
    if (name === 'ports') continue
    const runDir = join(baseDir, name)
    const owner = readOwnerPid(runDir)
    if (owner === undefined ? ageMs(runDir) < unownedGraceMs : isProcessAlive(owner)) continue
    for (const node of listDir(runDir)) {
      const pid = readServerPid(join(runDir, node))
      // The owner died without clearing this pid, so the server may still run; but the pid may also
      // have been reused since, hence the check that it really is a redis-server.
      if (pid !== undefined && isProcessAlive(pid) && isRedisProcess(pid)) {
        killQuietly(pid)
        report.pids.push(pid)
      }
    }
    rmSync(runDir, { recursive: true, force: true })
    report.dirs.push(runDir)
  }
  const reservations = portsDir(baseDir)
  for (const name of listDir(reservations)) {
    const file = join(reservations, name)
    const owner = readPidFile(file)
    if (owner === undefined ? ageMs(file) < unownedGraceMs : isProcessAlive(owner)) continue
    rmSync(file, { force: true })
    report.ports.push(Number(name))
  }
  return report
}

/** `reapLeftovers` once per process: enough, since a run that dies later is reaped by the next one. */
export function reapLeftoversOnce(): void {
  if (reaped) return
  reaped = true
  try {
    reapLeftovers()
  } catch {
    // Best effort: a leftover we cannot remove must not fail this run.
  }
}

/** SIGKILL, ignoring a process that is already gone. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Already dead.
  }
}

/** Reads a file holding a pid. */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isRedisProcess(pid: number): boolean {
  try {
    // redis-server rewrites its title to "redis-server 127.0.0.1:port [cluster]", visible in both.
    const command =
      readProcCmdline(pid) ?? execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
    return command.includes('redis')
  } catch {
    return false
  }
}

function readProcCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return undefined
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return Number.POSITIVE_INFINITY
  }
}
