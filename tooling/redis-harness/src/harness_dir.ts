/**
 * The on-disk layout the harness shares between processes:
 *
 *   <tmpdir>/cachekit-redis-harness/
 *     ports/<port>                    a port reservation; holds the owner pid
 *     <pid>-<topology>-<random>/      one started topology (a "run dir")
 *       owner.json                    { pid } of the process that started it
 *       <node>/                       one server: its config, log, nodes.conf, ...
 *         server.pid                  the pid of the running redis-server, absent while it is down
 *
 * Every file that names a pid is there so a later run can clean up after a run that was SIGKILLed
 * (see `reapLeftovers` in cleanup.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ownerFile = 'owner.json'
const pidFile = 'server.pid'

/** The root of everything the harness writes; `REDIS_HARNESS_DIR` moves it (e.g. to a CI cache dir). */
export function harnessBaseDir(): string {
  return process.env.REDIS_HARNESS_DIR || join(tmpdir(), 'cachekit-redis-harness')
}

/** The dir of port reservation files. */
export function portsDir(baseDir = harnessBaseDir()): string {
  return join(baseDir, 'ports')
}

/** Creates a run dir owned by this process. */
export function createRunDir(topology: string, baseDir = harnessBaseDir()): string {
  mkdirSync(baseDir, { recursive: true })
  const dir = mkdtempSync(join(baseDir, `${process.pid}-${topology}-`))
  writeFileSync(join(dir, ownerFile), JSON.stringify({ pid: process.pid }))
  return dir
}

/** The pid recorded as a run dir's owner, or undefined when the file is missing or garbled. */
export function readOwnerPid(runDir: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(runDir, ownerFile), 'utf8'))
    if (typeof parsed === 'object' && parsed !== null && 'pid' in parsed && typeof parsed.pid === 'number') {
      return parsed.pid
    }
  } catch {
    // Missing or half-written: treated like an unknown owner.
  }
  return undefined
}

/** Records the pid of the server running in `serverDir`. */
export function writeServerPid(serverDir: string, pid: number): void {
  writeFileSync(join(serverDir, pidFile), String(pid))
}

/** Forgets the pid of `serverDir`'s server, so nobody later kills a pid the OS has reused. */
export function clearServerPid(serverDir: string): void {
  rmSync(join(serverDir, pidFile), { force: true })
}

/** The pid recorded in `serverDir`, if any. */
export function readServerPid(serverDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(serverDir, pidFile), 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** True while a process with this pid exists (of any user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
